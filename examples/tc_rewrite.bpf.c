// SPDX-License-Identifier: GPL-2.0
// tc program: rewrites the destination port of UDP packets to port 53 into 5353 and the
// IPv4 TTL to 64, fixing the IPv4 header checksum and the UDP checksum with the csum
// helpers. Counts rewrites in `rewrites`.
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IP_OFF ETH_HLEN
#define TTL_OFF (IP_OFF + offsetof(struct iphdr, ttl))
#define IP_CSUM_OFF (IP_OFF + offsetof(struct iphdr, check))

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rewrites SEC(".maps");

SEC("tc")
int rewrite_dns_port(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return TC_ACT_OK;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(53))
		return TC_ACT_OK;

	/* TTL lives in a 16-bit word with the protocol: replace that word. */
	__u16 old_word = *(__u16 *)&ip->ttl;
	__u8 new_ttl = 64;
	__u16 new_word = (old_word & bpf_htons(0x00ff)) | (__u16)new_ttl;
	__u16 old_port = udp->dest, new_port = bpf_htons(5353);
	__u32 udp_csum_off = IP_OFF + sizeof(struct iphdr) + offsetof(struct udphdr, check);
	__u32 udp_dest_off = IP_OFF + sizeof(struct iphdr) + offsetof(struct udphdr, dest);

	bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_word, new_word, 2);
	bpf_skb_store_bytes(skb, TTL_OFF, &new_word, 2, 0);
	bpf_l4_csum_replace(skb, udp_csum_off, old_port, new_port, BPF_F_MARK_MANGLED_0 | 2);
	bpf_skb_store_bytes(skb, udp_dest_off, &new_port, 2, 0);

	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&rewrites, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
