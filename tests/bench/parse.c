/* Header parsing with many branches: 16 frames of 128 bytes back to back, each
 * Ethernet (optionally 802.1Q/802.1ad tagged) carrying IPv4 (with options) or IPv6
 * and TCP, UDP or ICMP; a small firewall decides per frame. Returns a digest of
 * the verdicts and flow fields. */
#include "bench.h"

#define FRAMES 16
#define FRAME 128

enum { PASS = 1, DROP = 2, TX = 3, ABORT = 4 };

INLINE u32 l4(u8 *p, u8 *end, u32 proto, u32 *flow)
{
	if (proto == 6) { /* TCP */
		if (p + 20 > end)
			return ABORT;
		u32 sport = be16(p), dport = be16(p + 2), flags = p[13];
		*flow ^= (sport << 16) | dport;
		if ((flags & 0x03) == 0x03) /* SYN+FIN */
			return DROP;
		if (flags & 0x04) /* RST */
			return PASS;
		if (dport == 22 && sport < 1024)
			return DROP;
		if (dport == 80 || dport == 443 || dport == 8080)
			return TX;
		if (dport >= 6000 && dport < 6064)
			return DROP;
		return PASS;
	}
	if (proto == 17) { /* UDP */
		if (p + 8 > end)
			return ABORT;
		u32 sport = be16(p), dport = be16(p + 2), len = be16(p + 4);
		*flow ^= (dport << 16) | sport;
		if (dport == 53 || sport == 53)
			return len > 512 ? DROP : TX;
		if (dport == 123)
			return PASS;
		if (len < 8)
			return DROP;
		return dport > 1024 ? PASS : DROP;
	}
	if (proto == 1 || proto == 58) { /* ICMP, ICMPv6 */
		if (p + 4 > end)
			return ABORT;
		u32 type = p[0];
		*flow ^= type;
		if (type == 8 || type == 128)
			return TX;
		return type == 3 || type == 1 ? PASS : DROP;
	}
	return PASS;
}

INLINE u32 frame(u8 *p, u8 *end, u32 *flow)
{
	if (p + 14 > end)
		return ABORT;
	u32 proto = be16(p + 12);
	p += 14;
	/* Up to two VLAN tags. */
	if (proto == 0x88a8 || proto == 0x8100) {
		if (p + 4 > end)
			return ABORT;
		proto = be16(p + 2);
		p += 4;
		if (proto == 0x8100) {
			if (p + 4 > end)
				return ABORT;
			proto = be16(p + 2);
			p += 4;
		}
	}
	if (proto == 0x0800) {
		if (p + 20 > end)
			return ABORT;
		u32 ihl = p[0] & 0x0f;
		if ((p[0] >> 4) != 4 || ihl < 5)
			return DROP;
		u32 frag = be16(p + 6);
		if (frag & 0x3fff)
			return DROP;
		u32 ttl = p[8], l4proto = p[9];
		if (ttl <= 1)
			return DROP;
		u32 src = be32(p + 12), dst = be32(p + 16);
		*flow ^= src ^ (dst >> 1);
		if ((src >> 24) == 10 && (dst >> 24) == 10)
			return PASS;
		if ((src >> 24) == 127 || (dst >> 28) == 0xe)
			return DROP;
		p += ihl * 4;
		return l4(p, end, l4proto, flow);
	}
	if (proto == 0x86dd) {
		if (p + 40 > end)
			return ABORT;
		if ((p[0] >> 4) != 6)
			return DROP;
		u32 next = p[6], hops = p[7];
		if (hops == 0)
			return DROP;
		*flow ^= be32(p + 8) ^ be32(p + 20) ^ be32(p + 24) ^ be32(p + 36);
		if (p[24] == 0xff) /* multicast destination */
			return PASS;
		p += 40;
		return l4(p, end, next, flow);
	}
	if (proto == 0x0806)
		return PASS;
	return DROP;
}

INLINE u32 parse(u8 *d, u8 *end)
{
	u32 digest = 0, flow = 0;
	for (u32 i = 0; i < FRAMES; i++) {
		u8 *p = d + i * FRAME;
		if (p + FRAME > end)
			break;
		/* Bounds are checked against the buffer's end (the verifier learns packet
		 * ranges only from comparisons with it); the headers fit in a frame. */
		u32 v = frame(p, end, &flow);
		digest = digest * 5 + v;
	}
	return digest ^ flow;
}

BENCH(parse)
