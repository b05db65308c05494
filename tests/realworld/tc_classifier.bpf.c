// SPDX-License-Identifier: GPL-2.0
// tc programs under every section name libbpf accepts for them: the legacy
// `classifier` and `action`, `tc`, and the tcx aliases `tc/ingress` and
// `tc/egress`. The ingress program rewrites the IPv4 destination of UDP
// packets with bpf_skb_store_bytes and fixes the L3 and L4 checksums with
// bpf_l3_csum_replace / bpf_l4_csum_replace; egress rate-limits by mark.
#include <linux/pkt_cls.h>
#include "xdp_common.h"

#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define UDP_CSUM_OFF (ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, check))
#define IS_PSEUDO 0x10

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, __be32);
	__uint(max_entries, 128);
} nat_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		__sync_fetch_and_add(c, 1);
}

SEC("tc/ingress")
int tc_dnat(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	__be32 old_dst, *new_dst;

	if ((void *)(iph + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || iph->protocol != IPPROTO_UDP || iph->ihl != 5)
		return TC_ACT_OK;

	old_dst = iph->daddr;
	new_dst = bpf_map_lookup_elem(&nat_table, &old_dst);
	if (!new_dst)
		return TC_ACT_OK;

	bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_dst, *new_dst, IS_PSEUDO | sizeof(*new_dst));
	bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_dst, *new_dst, sizeof(*new_dst));
	bpf_skb_store_bytes(skb, IP_DST_OFF, new_dst, sizeof(*new_dst), 0);
	count(0);
	return TC_ACT_OK;
}

SEC("tc/egress")
int tc_mark_limit(struct __sk_buff *skb)
{
	if (skb->mark == 0xdead) {
		count(1);
		return TC_ACT_SHOT;
	}
	skb->tc_classid = 0x10001;
	return TC_ACT_OK;
}

SEC("classifier")
int cls_proto(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_ARP)) {
		count(2);
		return TC_ACT_OK;
	}
	return skb->len > 1400 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("action")
int act_redirect(struct __sk_buff *skb)
{
	count(3);
	return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
}

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
