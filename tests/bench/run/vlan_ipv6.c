/* Header parsing as a firewall does it: Ethernet, up to two VLAN tags, IPv6 and a
 * chain of up to six extension headers (hop-by-hop, routing, destination options,
 * fragment), then the TCP or UDP ports. Returns XDP_DROP (1) for port 23, else
 * XDP_PASS (2); malformed or short packets pass. */
#include "../bench.h"

#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_IPV6 0x86dd

INLINE u32 vlan_ipv6(u8 *d, u8 *end)
{
	u8 *p = d + 14;
	u32 proto;
	if (p > end)
		return 2;
	proto = be16(d + 12);
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if (p + 4 > end)
			return 2;
		proto = be16(p + 2);
		p += 4;
	}
	if (proto != ETH_P_IPV6 || p + 40 > end)
		return 2;
	u32 next = p[6];
	p += 40;
#pragma unroll
	for (int i = 0; i < 6; i++) {
		if (next == 0 || next == 43 || next == 60) {
			if (p + 8 > end)
				return 2;
			next = p[0];
			p += (p[1] + 1) * 8;
		} else if (next == 44) {
			if (p + 8 > end)
				return 2;
			next = p[0];
			p += 8;
		} else {
			break;
		}
	}
	if (next != 6 && next != 17)
		return 2;
	if (p + 4 > end)
		return 2;
	return be16(p + 2) == 23 ? 1 : 2;
}

BENCH(vlan_ipv6)
