// SPDX-License-Identifier: GPL-2.0
// A packet parser on dynptrs, in the style of the kernel's selftests
// (test_parse_tcp_hdr_opt_dynptr, dynptr_success) and of parsers that moved from
// direct packet access to bpf_dynptr_slice: Ethernet, IPv4/IPv6, TCP/UDP headers
// through slices of the XDP or skb dynptr, a flow record per packet in `dp_flows`; the
// tc variant decrements the TTL and rewrites the DSCP with bpf_dynptr_read/write;
// `dynptr_errors` logs the edge cases' results. Written for
// bpfbox's world tests.
#include "xdp_common.h"
#include <linux/pkt_cls.h>
#include "slot_store.h"

extern int bpf_dynptr_from_skb(struct __sk_buff *s, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym __weak;
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym __weak;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer, __u32 buffer__szk) __ksym __weak;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset, void *buffer, __u32 buffer__szk) __ksym __weak;

struct flow {
	__u32 proto; /* ETH_P_* */
	__u32 l4;    /* IPPROTO_* */
	__u16 sport, dport;
	__u32 saddr_lo, daddr_lo; /* IPv4 address, or the last word of the IPv6 one */
	__u32 len;
	__u32 ttl;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct flow);
	__uint(max_entries, 16);
} dp_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 16);
} dp_results SEC(".maps");

static __always_inline struct flow *next_flow(void)
{
	__u32 zero = 0, idx;
	__s64 *n = bpf_map_lookup_elem(&dp_results, &zero);
	struct flow *f;

	if (!n)
		return NULL;
	idx = (__u32)(*n + 1) % 16;
	*n += 1;
	f = bpf_map_lookup_elem(&dp_flows, &idx);
	if (f)
		__builtin_memset(f, 0, sizeof(*f));
	return f;
}

/* Parse through slices; the L3 header's offset in *l3. 0: parsed, -1: not IP. */
static __always_inline int parse(struct bpf_dynptr *ptr, struct flow *f, __u32 *l3)
{
	__u8 buf[40] = {};
	struct ethhdr *eth;
	__u32 off = sizeof(*eth);
	__u8 l4;

	eth = bpf_dynptr_slice(ptr, 0, buf, sizeof(*eth));
	if (!eth)
		return -1;
	f->proto = bpf_ntohs(eth->h_proto);
	*l3 = off;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = bpf_dynptr_slice(ptr, off, buf, sizeof(*iph));

		if (!iph)
			return -1;
		l4 = iph->protocol;
		f->saddr_lo = iph->saddr;
		f->daddr_lo = iph->daddr;
		f->ttl = iph->ttl;
		off += iph->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = bpf_dynptr_slice(ptr, off, buf, sizeof(*ip6h));

		if (!ip6h)
			return -1;
		l4 = ip6h->nexthdr;
		f->saddr_lo = ip6h->saddr.in6_u.u6_addr32[3];
		f->daddr_lo = ip6h->daddr.in6_u.u6_addr32[3];
		f->ttl = ip6h->hop_limit;
		off += sizeof(*ip6h);
	} else {
		return -1;
	}
	f->l4 = l4;
	if (l4 == IPPROTO_TCP) {
		struct tcphdr *th = bpf_dynptr_slice(ptr, off, buf, sizeof(*th));

		if (th) {
			f->sport = bpf_ntohs(th->source);
			f->dport = bpf_ntohs(th->dest);
		}
	} else if (l4 == IPPROTO_UDP) {
		struct udphdr *uh = bpf_dynptr_slice(ptr, off, buf, sizeof(*uh));

		if (uh) {
			f->sport = bpf_ntohs(uh->source);
			f->dport = bpf_ntohs(uh->dest);
		}
	}
	return 0;
}

SEC("xdp")
int xdp_dynptr_parse(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr;
	struct flow *f = next_flow();
	__u32 l3;

	if (!f)
		return XDP_ABORTED;
	if (bpf_dynptr_from_xdp(ctx, 0, &ptr))
		return XDP_ABORTED;
	f->len = ctx->data_end - ctx->data;
	if (parse(&ptr, f, &l3))
		return XDP_PASS;
	return f->l4 == IPPROTO_TCP && f->dport == 23 ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_dynptr_rewrite(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;
	struct flow *f = next_flow();
	__u8 buf[20] = {}, tos = 0xb8; /* DSCP EF */
	struct iphdr *iph;
	__u32 l3;

	if (!f)
		return TC_ACT_SHOT;
	if (bpf_dynptr_from_skb(skb, 0, &ptr))
		return TC_ACT_SHOT;
	f->len = skb->len;
	if (parse(&ptr, f, &l3) || f->proto != ETH_P_IP)
		return TC_ACT_OK;
	/* The kernel refuses bpf_dynptr_slice_rdwr here (6.18: "is not allowed"): the
	 * header is read into the buffer and written back with bpf_dynptr_write. */
	if (bpf_dynptr_read(buf, sizeof(*iph), &ptr, l3, 0))
		return TC_ACT_SHOT;
	iph = (struct iphdr *)buf;
	if (iph->ttl <= 1)
		return TC_ACT_SHOT;
	iph->ttl--;
	iph->tos = tos;
	/* The header checksum is left to the stack in this sketch. */
	if (bpf_dynptr_write(&ptr, l3, buf, sizeof(*iph), BPF_F_INVALIDATE_HASH))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

#define result(i, v) slot_store(&dp_results, i, v)

SEC("xdp")
int dynptr_errors(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr, bad;
	__u8 buf[8] = {};
	__u32 len = ctx->data_end - ctx->data;

	result(1, bpf_dynptr_from_xdp(ctx, 1, &bad));
	result(2, bpf_dynptr_from_xdp(ctx, 0, &ptr));
	result(3, bpf_dynptr_slice(&ptr, len - 4, buf, 8) == NULL);
	result(4, bpf_dynptr_slice(&ptr, len - 8, buf, 8) != NULL);
	result(5, bpf_dynptr_read(buf, 8, &ptr, len - 4, 0));
	result(6, bpf_dynptr_read(buf, 8, &ptr, 0, 1));
	result(7, bpf_dynptr_read(buf, 4, &ptr, 6, 0));
	result(8, *(__u32 *)buf);
	result(9, bpf_dynptr_write(&ptr, len, buf, 1, 0));
	result(10, bpf_dynptr_write(&ptr, 0, buf, 4, 1));
	result(11, bpf_dynptr_write(&ptr, 0, buf, 4, 0));
	result(12, bpf_dynptr_read(buf, 1, &bad, 0, 0));
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
