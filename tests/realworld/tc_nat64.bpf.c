// SPDX-License-Identifier: GPL-2.0
// A stateless NAT64 (SIIT, RFC 7915) tc program in the style of Cilium's
// nat46x64 and the kernel's test_nat64: IPv6 packets to 64:ff9b::/96 leave as IPv4
// (source from a /24 pool by the IPv6 source's last byte), IPv4 packets to the
// pool come back as IPv6. bpf_skb_change_proto makes or takes the 20 bytes, the
// headers are rebuilt with skb_store_bytes, the UDP/TCP checksum follows the
// pseudo-header through csum_diff + l4_csum_replace. Written for bpfbox's world tests.
#include "xdp_common.h"
#include <linux/pkt_cls.h>
#include "slot_store.h"

#define POOL 0xc0000200u /* 192.0.2.0/24, host order */
#define NAT64_PREFIX0 bpf_htonl(0x0064ff9b)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} nat64_stats SEC(".maps"); /* 0: 6->4, 1: 4->6, 2: untranslatable, 3: helper errors */

static __always_inline void count(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&nat64_stats, &i);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u16 fold(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

static __always_inline int l4_csum_off(__u8 proto)
{
	if (proto == IPPROTO_UDP)
		return offsetof(struct udphdr, check);
	if (proto == IPPROTO_TCP)
		return offsetof(struct tcphdr, check);
	return -1;
}

static __always_inline int six_to_four(struct __sk_buff *skb)
{
	struct ipv6hdr ip6;
	struct iphdr ip4 = {};
	__be16 eth_ip = bpf_htons(ETH_P_IP);
	__be32 addrs4[2];
	int off, flags;
	__s64 diff;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)))
		return TC_ACT_OK;
	if (ip6.daddr.in6_u.u6_addr32[0] != NAT64_PREFIX0 || ip6.daddr.in6_u.u6_addr32[1] ||
	    ip6.daddr.in6_u.u6_addr32[2])
		return TC_ACT_OK;
	off = l4_csum_off(ip6.nexthdr);
	if (off < 0) {
		count(2);
		return TC_ACT_SHOT;
	}
	addrs4[0] = bpf_htonl(POOL | ip6.saddr.in6_u.u6_addr8[15]);
	addrs4[1] = ip6.daddr.in6_u.u6_addr32[3];
	ip4.version = 4;
	ip4.ihl = 5;
	ip4.tos = (ip6.priority << 4) | (ip6.flow_lbl[0] >> 4);
	ip4.tot_len = bpf_htons(bpf_ntohs(ip6.payload_len) + sizeof(ip4));
	ip4.frag_off = bpf_htons(0x4000);
	ip4.ttl = ip6.hop_limit;
	ip4.protocol = ip6.nexthdr;
	ip4.saddr = addrs4[0];
	ip4.daddr = addrs4[1];
	ip4.check = fold(bpf_csum_diff(NULL, 0, (__be32 *)&ip4, sizeof(ip4), 0));
	diff = bpf_csum_diff((__be32 *)&ip6.saddr, 32, addrs4, 8, 0);

	if (bpf_skb_change_proto(skb, eth_ip, 0)) {
		count(3);
		return TC_ACT_SHOT;
	}
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip4, sizeof(ip4), 0) ||
	    bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &eth_ip, 2, 0))
		return TC_ACT_SHOT;
	flags = BPF_F_PSEUDO_HDR | (ip4.protocol == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);
	if (bpf_l4_csum_replace(skb, ETH_HLEN + sizeof(ip4) + off, 0, diff, flags))
		return TC_ACT_SHOT;
	count(0);
	return TC_ACT_OK;
}

static __always_inline int four_to_six(struct __sk_buff *skb)
{
	struct iphdr ip4;
	struct ipv6hdr ip6 = {};
	__be16 eth_ip6 = bpf_htons(ETH_P_IPV6);
	int off, flags;
	__s64 diff;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip4, sizeof(ip4)))
		return TC_ACT_OK;
	if ((bpf_ntohl(ip4.daddr) & 0xffffff00) != POOL)
		return TC_ACT_OK;
	off = l4_csum_off(ip4.protocol);
	if (ip4.ihl != 5 || off < 0) {
		count(2);
		return TC_ACT_SHOT;
	}
	ip6.version = 6;
	ip6.priority = ip4.tos >> 4;
	ip6.flow_lbl[0] = ip4.tos << 4;
	ip6.payload_len = bpf_htons(bpf_ntohs(ip4.tot_len) - sizeof(ip4));
	ip6.nexthdr = ip4.protocol;
	ip6.hop_limit = ip4.ttl;
	ip6.saddr.in6_u.u6_addr32[0] = NAT64_PREFIX0;
	ip6.saddr.in6_u.u6_addr32[3] = ip4.saddr;
	ip6.daddr.in6_u.u6_addr32[0] = bpf_htonl(0x20010db8);
	ip6.daddr.in6_u.u6_addr8[15] = bpf_ntohl(ip4.daddr) & 0xff;
	diff = bpf_csum_diff(&ip4.saddr, 8, (__be32 *)&ip6.saddr, 32, 0);

	if (bpf_skb_change_proto(skb, eth_ip6, 0)) {
		count(3);
		return TC_ACT_SHOT;
	}
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6), 0) ||
	    bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &eth_ip6, 2, 0))
		return TC_ACT_SHOT;
	flags = BPF_F_PSEUDO_HDR | (ip6.nexthdr == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);
	if (bpf_l4_csum_replace(skb, ETH_HLEN + sizeof(ip6) + off, 0, diff, flags))
		return TC_ACT_SHOT;
	count(1);
	return TC_ACT_OK;
}

SEC("tc")
int nat64(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return six_to_four(skb);
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return four_to_six(skb);
	return TC_ACT_OK;
}

/* The helper's own rules: flags, a protocol it does not translate, a no-op. */
#define store(i, v) slot_store(&nat64_stats, i, v)

SEC("tc")
int change_proto_errors(struct __sk_buff *skb)
{
	store(0, bpf_skb_change_proto(skb, skb->protocol, 1));
	store(1, bpf_skb_change_proto(skb, bpf_htons(ETH_P_ARP), 0));
	store(2, bpf_skb_change_proto(skb, skb->protocol, 0));
	store(3, skb->len);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
