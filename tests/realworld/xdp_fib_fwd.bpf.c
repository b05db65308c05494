// SPDX-License-Identifier: GPL-2.0
// An XDP/tc IPv4+IPv6 forwarder in the style of the kernel's samples/bpf/xdp_fwd
// and xdp-tutorial's packet-solutions: the route comes from bpf_fib_lookup, the
// MACs from its neighbour answer, the TTL / hop limit is decremented and the packet
// redirected to the output interface. Every lookup (return code and the whole
// struct bpf_fib_lookup it returned) is logged in `fib_log`, so a comparison with
// the kernel checks each field. Written for bpfbox's world tests.
#include "xdp_common.h"
#include <linux/pkt_cls.h>
#include "slot_store.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#define IPV6_FLOWINFO_MASK bpf_htonl(0x0FFFFFFF)

struct fib_entry {
	__s64 rc;
	struct bpf_fib_lookup fib;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct fib_entry);
	__uint(max_entries, 32);
} fib_log SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} fib_log_len SEC(".maps");

static __always_inline void log_lookup(int rc, struct bpf_fib_lookup *fib)
{
	__u32 zero = 0, idx;
	__u32 *n = bpf_map_lookup_elem(&fib_log_len, &zero);
	struct fib_entry *e;

	if (!n)
		return;
	idx = *n % 32;
	*n += 1;
	e = bpf_map_lookup_elem(&fib_log, &idx);
	if (!e)
		return;
	e->rc = rc;
	__builtin_memcpy(&e->fib, fib, sizeof(*fib));
}

static __always_inline int ip_decrease_ttl(struct iphdr *iph)
{
	__u32 check = iph->check;

	check += bpf_htons(0x0100);
	iph->check = (__sum16)(check + (check >= 0xFFFF));
	return --iph->ttl;
}

/* Fill `fib` from the packet's IP header; 0 to forward, else the verdict. */
static __always_inline int fill(void *data, void *data_end, struct bpf_fib_lookup *fib, int *drop)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;

	*drop = 0;
	if ((void *)(eth + 1) > data_end) {
		*drop = 1;
		return -1;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		iph = (void *)(eth + 1);
		if ((void *)(iph + 1) > data_end) {
			*drop = 1;
			return -1;
		}
		if (iph->ttl <= 1)
			return -1;
		fib->family = AF_INET;
		fib->tos = iph->tos;
		fib->l4_protocol = iph->protocol;
		fib->tot_len = bpf_ntohs(iph->tot_len);
		fib->ipv4_src = iph->saddr;
		fib->ipv4_dst = iph->daddr;
		return 0;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6h = (void *)(eth + 1);
		if ((void *)(ip6h + 1) > data_end) {
			*drop = 1;
			return -1;
		}
		if (ip6h->hop_limit <= 1)
			return -1;
		fib->family = AF_INET6;
		fib->flowinfo = *(__be32 *)ip6h & IPV6_FLOWINFO_MASK;
		fib->l4_protocol = ip6h->nexthdr;
		fib->tot_len = bpf_ntohs(ip6h->payload_len);
		__builtin_memcpy(fib->ipv6_src, &ip6h->saddr, 16);
		__builtin_memcpy(fib->ipv6_dst, &ip6h->daddr, 16);
		return 0;
	}
	return -1;
}

/* After a successful lookup: TTL / hop limit, MACs. */
static __always_inline void rewrite(void *data, void *data_end, struct bpf_fib_lookup *fib)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) <= data_end)
			ip_decrease_ttl(iph);
	} else {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) <= data_end)
			ip6h->hop_limit--;
	}
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
}

static __always_inline int xdp_fwd_flags(struct xdp_md *ctx, __u32 flags)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct bpf_fib_lookup fib = {};
	int drop, rc;

	if (fill(data, data_end, &fib, &drop))
		return drop ? XDP_DROP : XDP_PASS;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), flags);
	log_lookup(rc, &fib);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		rewrite(data, data_end, &fib);
		return bpf_redirect(fib.ifindex, 0);
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

SEC("xdp")
int xdp_fwd(struct xdp_md *ctx)
{
	return xdp_fwd_flags(ctx, 0);
}

SEC("xdp")
int xdp_fwd_direct(struct xdp_md *ctx)
{
	return xdp_fwd_flags(ctx, BPF_FIB_LOOKUP_DIRECT);
}

/* Output lookups that skip the neighbour table and ask for the source address. */
SEC("xdp")
int xdp_fwd_output(struct xdp_md *ctx)
{
	return xdp_fwd_flags(ctx, BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_SKIP_NEIGH | BPF_FIB_LOOKUP_SRC);
}

/* tc: the lookup without tot_len, so the kernel checks the skb against the output
 * device's MTU; the input interface is the skb's device. */
SEC("tc")
int tc_fwd(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct bpf_fib_lookup fib = {};
	int drop, rc;

	if (fill(data, data_end, &fib, &drop))
		return drop ? TC_ACT_SHOT : TC_ACT_OK;
	fib.tot_len = 0;
	fib.ifindex = skb->ifindex;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	log_lookup(rc, &fib);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		rewrite(data, data_end, &fib);
		return bpf_redirect(fib.ifindex, 0);
	}
	if (rc < 0 || rc == BPF_FIB_LKUP_RET_BLACKHOLE)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

/* Bad arguments: the error codes the helper returns before looking anything up. */
SEC("xdp")
int xdp_fib_errors(struct xdp_md *ctx)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.family = 99;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	log_lookup(rc, &fib);
	fib.family = AF_INET;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 1 << 10);
	log_lookup(rc, &fib);
	fib.ifindex = 4242;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	log_lookup(rc, &fib);
	return XDP_PASS;
}

/* bpf_check_mtu against the world's interfaces: (return code, MTU) pairs in mtu_log. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 16);
} mtu_log SEC(".maps");

#define MTU_TRY(ctx, ifindex, given, diff, flags)                               \
	do {                                                                     \
		__u32 mtu = given;                                               \
		slot_store(&mtu_log, i++, bpf_check_mtu(ctx, ifindex, &mtu, diff, flags)); \
		slot_store(&mtu_log, i++, mtu);                                  \
	} while (0)

SEC("xdp")
int xdp_mtu(struct xdp_md *ctx)
{
	__u32 i = 0;

	MTU_TRY(ctx, 0, 0, 0, 0);    /* the receiving interface (lo) */
	MTU_TRY(ctx, 3, 0, 0, 0);    /* eth1, MTU 1280 */
	MTU_TRY(ctx, 3, 0, 1300, 0); /* grown by 1300 bytes */
	MTU_TRY(ctx, 3, 1280, 0, 0); /* an L3 length that just fits */
	MTU_TRY(ctx, 3, 1281, 0, 0);
	MTU_TRY(ctx, 99, 0, 0, 0);   /* no such interface */
	MTU_TRY(ctx, 2, 0, 0, 1);    /* XDP takes no flags */
	return XDP_PASS;
}

SEC("tc")
int tc_mtu(struct __sk_buff *skb)
{
	__u32 i = 0;

	MTU_TRY(skb, 0, 0, 0, 0);
	MTU_TRY(skb, 3, 0, -20, 0);
	MTU_TRY(skb, 3, 1300, -20, 0);
	MTU_TRY(skb, 2, 0, 0, BPF_MTU_CHK_SEGS);
	MTU_TRY(skb, 2, 0, 4, BPF_MTU_CHK_SEGS); /* SEGS with a length change */
	MTU_TRY(skb, 2, 0, 0, 2);
	MTU_TRY(skb, 77, 0, 0, 0);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
