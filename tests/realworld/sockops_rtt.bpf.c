// SPDX-License-Identifier: GPL-2.0
// sock_ops and cgroup sock_addr programs: enable the RTT callback and keep a
// per-destination RTT histogram (tcprtt-like), and rewrite connect4
// destinations found in a hash map (a cgroup connect4 load balancer).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bits.bpf.h"

#define MAX_SLOTS 27
#define BPF_SOCK_OPS_RTT_CB_FLAG (1 << 3)
#define AF_INET 2

struct hist {
	__u64 latency;
	__u64 cnt;
	__u32 slots[MAX_SLOTS];
};

struct backend {
	__u32 ip;
	__u16 port;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct backend);
	__type(value, struct backend);
} services SEC(".maps");

static struct hist zero;

SEC("sockops")
int tcp_rtt(struct bpf_sock_ops *skops)
{
	struct hist *histp;
	__u32 daddr, srtt;
	__u64 slot;

	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG);
		return 1;
	case BPF_SOCK_OPS_RTT_CB:
		break;
	default:
		return 1;
	}
	if (skops->family != AF_INET)
		return 1;

	daddr = skops->remote_ip4;
	histp = bpf_map_lookup_elem(&hists, &daddr);
	if (!histp) {
		bpf_map_update_elem(&hists, &daddr, &zero, BPF_NOEXIST);
		histp = bpf_map_lookup_elem(&hists, &daddr);
		if (!histp)
			return 1;
	}
	srtt = skops->srtt_us >> 3;
	slot = log2l(srtt);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&histp->slots[slot], 1);
	__sync_fetch_and_add(&histp->latency, srtt);
	__sync_fetch_and_add(&histp->cnt, 1);
	return 1;
}

SEC("cgroup/connect4")
int connect4_lb(struct bpf_sock_addr *ctx)
{
	struct backend key = {}, *be;

	if (ctx->user_family != AF_INET)
		return 1;
	key.ip = ctx->user_ip4;
	key.port = ctx->user_port;
	be = bpf_map_lookup_elem(&services, &key);
	if (!be)
		return 1;
	ctx->user_ip4 = be->ip;
	ctx->user_port = be->port;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
