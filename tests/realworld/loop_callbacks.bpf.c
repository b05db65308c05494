// SPDX-License-Identifier: GPL-2.0
// Callbacks and global functions: bpf_loop and bpf_for_each_map_elem with
// static callbacks (function addresses, lddw src=4 after relocation), a global
// (BTF-verified) function shared by two programs, and a static subprogram
// called through a section-symbol relocation.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct loop_ctx {
	__u64 sum;
	__u32 limit;
};

__u64 total = 0;
__u64 visited = 0;

static int sum_cb(__u32 index, void *data)
{
	struct loop_ctx *lc = data;

	if (index >= lc->limit)
		return 1;
	lc->sum += index * index;
	return 0;
}

static __u64 count_cb(struct bpf_map *map, __u32 *key, __u64 *val, void *data)
{
	__u64 *acc = data;

	*acc += *val;
	return 0;
}

static __noinline __u64 mix(__u64 a, __u64 b)
{
	a ^= b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2);
	return a;
}

__noinline int global_bump(__u32 key)
{
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&counters, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return 0;
	}
	return bpf_map_update_elem(&counters, &key, &one, BPF_NOEXIST);
}

SEC("raw_tp/sys_enter")
int loop_sum(void *ctx)
{
	struct loop_ctx lc = { .sum = 0, .limit = 100 };

	bpf_loop(1000, sum_cb, &lc, 0);
	total = mix(total, lc.sum);
	return global_bump(1);
}

SEC("raw_tp/sys_exit")
int walk_counters(void *ctx)
{
	__u64 acc = 0;

	bpf_for_each_map_elem(&counters, count_cb, &acc, 0);
	visited = mix(acc, visited);
	return global_bump(2);
}

char LICENSE[] SEC("license") = "GPL";
