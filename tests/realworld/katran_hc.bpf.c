// SPDX-License-Identifier: GPL-2.0
// Katran's healthchecking program (after katran/lib/bpf/healthchecking_ipip.c):
// a tc egress classifier that IPIP-encapsulates health-check packets marked by
// so_mark, picks the real from a hash map, fixes the checksum and redirects to
// the tunnel interface; per-CPU statistics.
#include <linux/pkt_cls.h>
#include "katran.h"

#define HC_SRC_MAC_POS 0
#define HC_DST_MAC_POS 1
#define HC_MAIN_INTF_POSITION 3
#define HC_STATS_SIZE 1
#define BPF_F_INGRESS_ 1

struct hc_real_definition {
	__be32 daddr;
	__u8 flags;
};

struct hc_stats {
	__u64 pckts_processed;
	__u64 pckts_dropped;
	__u64 pckts_skipped;
	__u64 pckts_too_big;
};

struct hc_mac {
	__u8 mac[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, CTL_MAP_SIZE);
} hc_ctrl_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct hc_real_definition);
	__uint(max_entries, 4096);
} hc_reals_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hc_mac);
	__uint(max_entries, 2);
} hc_pckt_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hc_stats);
	__uint(max_entries, HC_STATS_SIZE);
} hc_stats_map SEC(".maps");

SEC("tc")
int healthcheck_encap(struct __sk_buff *skb)
{
	__u32 stats_key = 0, key, mac_pos, *intf_ifindex;
	struct hc_real_definition *real;
	struct hc_stats *prog_stats;
	struct hc_mac *src_mac, *dst_mac;
	struct ethhdr ethh = {};
	struct iphdr iph = {};
	__u64 csum = 0;
	__u16 payload_len;

	prog_stats = bpf_map_lookup_elem(&hc_stats_map, &stats_key);
	if (!prog_stats)
		return TC_ACT_UNSPEC;

	if (skb->mark == 0) {
		prog_stats->pckts_skipped += 1;
		return TC_ACT_UNSPEC;
	}

	key = skb->mark;
	real = bpf_map_lookup_elem(&hc_reals_map, &key);
	if (!real) {
		prog_stats->pckts_skipped += 1;
		return TC_ACT_UNSPEC;
	}

	key = HC_MAIN_INTF_POSITION;
	intf_ifindex = bpf_map_lookup_elem(&hc_ctrl_map, &key);
	if (!intf_ifindex) {
		prog_stats->pckts_dropped += 1;
		return TC_ACT_SHOT;
	}

	mac_pos = HC_SRC_MAC_POS;
	src_mac = bpf_map_lookup_elem(&hc_pckt_macs, &mac_pos);
	mac_pos = HC_DST_MAC_POS;
	dst_mac = bpf_map_lookup_elem(&hc_pckt_macs, &mac_pos);
	if (!src_mac || !dst_mac) {
		prog_stats->pckts_dropped += 1;
		return TC_ACT_SHOT;
	}

	if (skb->len > 1500 - sizeof(struct iphdr)) {
		prog_stats->pckts_too_big += 1;
		return TC_ACT_SHOT;
	}
	payload_len = skb->len - sizeof(struct ethhdr);

	/* make room for the outer IPv4 header after the Ethernet header */
	if (bpf_skb_adjust_room(skb, sizeof(struct iphdr), BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4)) {
		prog_stats->pckts_dropped += 1;
		return TC_ACT_SHOT;
	}

	__builtin_memcpy(ethh.h_source, src_mac->mac, 6);
	__builtin_memcpy(ethh.h_dest, dst_mac->mac, 6);
	ethh.h_proto = bpf_htons(ETH_P_IP);

	iph.version = 4;
	iph.ihl = 5;
	iph.protocol = IPPROTO_IPIP;
	iph.tot_len = bpf_htons(payload_len + sizeof(struct iphdr));
	iph.ttl = 64;
	iph.daddr = real->daddr;
	iph.saddr = bpf_htonl(0x0a000001);
	ipv4_csum_inline(&iph, &csum);
	iph.check = csum;

	if (bpf_skb_store_bytes(skb, 0, &ethh, sizeof(ethh), 0) ||
	    bpf_skb_store_bytes(skb, sizeof(ethh), &iph, sizeof(iph), 0)) {
		prog_stats->pckts_dropped += 1;
		return TC_ACT_SHOT;
	}
	prog_stats->pckts_processed += 1;
	return bpf_redirect(*intf_ifindex, 0);
}

char _license[] SEC("license") = "GPL";
