// SPDX-License-Identifier: GPL-2.0
// A Katran-style XDP L4 load balancer: VIP lookup, per-CPU LRU connection
// tables reached through an array-of-maps (with initial inner maps),
// consistent-hashing rings, IPIP encapsulation with bpf_xdp_adjust_head and an
// inline IPv4 checksum, per-VIP statistics in a per-CPU array, and an xdp_root
// program that chains into the balancer through a prog array.
#include "katran.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct vip_definition);
	__type(value, struct vip_meta);
	__uint(max_entries, MAX_VIPS);
	__uint(map_flags, 1U << 0 /* BPF_F_NO_PREALLOC */);
} vip_map SEC(".maps");

struct lru_inner {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct flow_key);
	__type(value, struct real_pos_lru);
	__uint(max_entries, DEFAULT_LRU_SIZE);
	__uint(map_flags, 1U << 1 /* BPF_F_NO_COMMON_LRU */);
};

struct lru_inner lru_cpu0 SEC(".maps");
struct lru_inner lru_cpu1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, MAX_SUPPORTED_CPUS);
	__array(values, struct lru_inner);
} lru_mapping SEC(".maps") = {
	.values = { [0] = &lru_cpu0, [1] = &lru_cpu1 },
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct flow_key);
	__type(value, struct real_pos_lru);
	__uint(max_entries, DEFAULT_LRU_SIZE);
} fallback_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, CH_RINGS_SIZE);
} ch_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct real_definition);
	__uint(max_entries, MAX_REALS);
} reals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_stats);
	__uint(max_entries, STATS_MAP_SIZE);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct ctl_value);
	__uint(max_entries, CTL_MAP_SIZE);
} ctl_array SEC(".maps");

int balancer_ingress(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(void *));
} root_array SEC(".maps") = {
	.values = { [1] = (void *)&balancer_ingress },
};

static __always_inline __u32 get_packet_hash(struct packet_description *pckt)
{
	return jhash_2words(pckt->flow.src, pckt->flow.ports, 24);
}

static __noinline bool encap_v4(struct xdp_md *xdp, struct ctl_value *cval, struct packet_description *pckt,
				struct real_definition *dst, __u32 pkt_bytes)
{
	void *data;
	void *data_end;
	struct iphdr *iph;
	struct ethhdr *new_eth;
	struct ethhdr *old_eth;
	__u64 csum = 0;

	/* ipip encap: make room for one more IPv4 header */
	if (bpf_xdp_adjust_head(xdp, 0 - (int)sizeof(struct iphdr)))
		return false;
	data = (void *)(long)xdp->data;
	data_end = (void *)(long)xdp->data_end;
	new_eth = data;
	iph = data + sizeof(struct ethhdr);
	old_eth = data + sizeof(struct iphdr);
	if (new_eth + 1 > data_end || old_eth + 1 > data_end || iph + 1 > data_end)
		return false;
	__builtin_memcpy(new_eth->h_dest, cval->mac, 6);
	__builtin_memcpy(new_eth->h_source, old_eth->h_dest, 6);
	new_eth->h_proto = bpf_htons(ETH_P_IP);

	iph->version = 4;
	iph->ihl = 5;
	iph->frag_off = 0;
	iph->protocol = IPPROTO_IPIP;
	iph->check = 0;
	iph->tos = pckt->tos;
	iph->tot_len = bpf_htons(pkt_bytes + sizeof(struct iphdr));
	iph->id = 0;
	iph->daddr = dst->dst;
	iph->saddr = bpf_htonl((IPIP_V4_PREFIX << 16) | (pckt->flow.src & 0xffff));
	iph->ttl = 64;
	ipv4_csum_inline(iph, &csum);
	iph->check = csum;
	return true;
}

static __always_inline bool get_packet_dst(struct real_definition **real, struct packet_description *pckt,
					   struct vip_meta *vip_info, void *lru_map)
{
	struct real_pos_lru new_dst_lru = {};
	__u32 hash, key, *real_pos;

	hash = get_packet_hash(pckt) % RING_SIZE;
	key = RING_SIZE * (vip_info->vip_num) + hash;

	real_pos = bpf_map_lookup_elem(&ch_rings, &key);
	if (!real_pos)
		return false;
	key = *real_pos;
	pckt->real_index = key;
	*real = bpf_map_lookup_elem(&reals, &key);
	if (!(*real))
		return false;
	if (!(vip_info->flags & F_LRU_BYPASS)) {
		new_dst_lru.atime = bpf_ktime_get_ns();
		new_dst_lru.pos = key;
		bpf_map_update_elem(lru_map, &pckt->flow, &new_dst_lru, BPF_ANY);
	}
	return true;
}

static __always_inline int process_l3_headers(struct packet_description *pckt, __u8 *protocol, __u64 off,
					      __u16 *pkt_bytes, void *data, void *data_end)
{
	struct iphdr *iph = data + off;

	if (iph + 1 > data_end)
		return XDP_DROP;
	/* ip options are not supported */
	if (iph->ihl != 5)
		return XDP_DROP;
	pckt->tos = iph->tos;
	*protocol = iph->protocol;
	pckt->flow.proto = *protocol;
	*pkt_bytes = bpf_ntohs(iph->tot_len);
	/* fragments are not supported */
	if (iph->frag_off & bpf_htons(0x3FFF))
		return XDP_DROP;
	pckt->flow.src = iph->saddr;
	pckt->flow.dst = iph->daddr;
	return -1;
}

static __always_inline bool parse_l4(void *data, void *data_end, __u64 off, struct packet_description *pckt)
{
	if (pckt->flow.proto == IPPROTO_UDP) {
		struct udphdr *udp = data + off;

		if (udp + 1 > data_end)
			return false;
		pckt->flow.port16[0] = udp->source;
		pckt->flow.port16[1] = udp->dest;
		return true;
	}
	if (pckt->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + off;

		if (tcp + 1 > data_end)
			return false;
		pckt->flow.port16[0] = tcp->source;
		pckt->flow.port16[1] = tcp->dest;
		return true;
	}
	return false;
}

static __always_inline int process_packet(struct xdp_md *xdp, void *data, __u64 off, void *data_end)
{
	struct ctl_value *cval;
	struct real_definition *dst = NULL;
	struct packet_description pckt = {};
	struct vip_definition vip = {};
	struct vip_meta *vip_info;
	struct lb_stats *data_stats;
	__u8 protocol;
	__u16 pkt_bytes;
	__u32 vip_num, mac_addr_pos = MAC_ADDR_POS, stats_key, cpu_num;
	struct real_pos_lru *dst_lru;
	void *lru_map;
	int action;

	action = process_l3_headers(&pckt, &protocol, off, &pkt_bytes, data, data_end);
	if (action >= 0)
		return action;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return XDP_PASS;
	if (!parse_l4(data, data_end, off + sizeof(struct iphdr), &pckt))
		return XDP_DROP;

	vip.vip = pckt.flow.dst;
	vip.port = pckt.flow.port16[1];
	vip.proto = pckt.flow.proto;
	vip_info = bpf_map_lookup_elem(&vip_map, &vip);
	if (!vip_info) {
		vip.port = 0;
		vip_info = bpf_map_lookup_elem(&vip_map, &vip);
		if (!vip_info)
			return XDP_PASS;
		if (!(vip_info->flags & F_HASH_DPORT_ONLY))
			pckt.flow.port16[0] = 0;
	}

	stats_key = MAX_VIPS + LRU_CNTRS;
	data_stats = bpf_map_lookup_elem(&stats, &stats_key);
	if (!data_stats)
		return XDP_DROP;
	data_stats->v1 += 1;

	cpu_num = bpf_get_smp_processor_id();
	lru_map = bpf_map_lookup_elem(&lru_mapping, &cpu_num);
	if (!lru_map) {
		lru_map = &fallback_cache;
		stats_key = MAX_VIPS + LRU_MISS_CNTR;
		data_stats = bpf_map_lookup_elem(&stats, &stats_key);
		if (data_stats)
			data_stats->v1 += 1;
	}

	dst_lru = bpf_map_lookup_elem(lru_map, &pckt.flow);
	if (dst_lru) {
		pckt.real_index = dst_lru->pos;
		dst = bpf_map_lookup_elem(&reals, &pckt.real_index);
		dst_lru->atime = bpf_ktime_get_ns();
	}
	if (!dst) {
		if (!get_packet_dst(&dst, &pckt, vip_info, lru_map))
			return XDP_DROP;
	}

	cval = bpf_map_lookup_elem(&ctl_array, &mac_addr_pos);
	if (!cval)
		return XDP_DROP;

	vip_num = vip_info->vip_num;
	data_stats = bpf_map_lookup_elem(&stats, &vip_num);
	if (!data_stats)
		return XDP_DROP;
	data_stats->v1 += 1;
	data_stats->v2 += pkt_bytes;

	if (!encap_v4(xdp, cval, &pckt, dst, pkt_bytes))
		return XDP_DROP;
	return XDP_TX;
}

SEC("xdp")
int balancer_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 nh_off = sizeof(struct ethhdr);

	if (data + nh_off > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return process_packet(ctx, data, nh_off, data_end);
	return XDP_PASS;
}

SEC("xdp")
int xdp_root(struct xdp_md *ctx)
{
	__u32 i;

#pragma clang loop unroll(full)
	for (i = 0; i < 4; i++)
		bpf_tail_call(ctx, &root_array, i);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
