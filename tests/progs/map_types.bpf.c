// One map of each type user space can drive without extra setup, all small
// (max_entries 4) so that full maps, E2BIG and LRU eviction are reached quickly.
// The cli crate's maps_vs_kernel test loads this object into the kernel and
// into a bpfbox Runtime and runs the same bpf() operations on both.
#include "bpf_helpers_min.h"

#define BPF_MAP_TYPE_PERCPU_HASH 5
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_LRU_PERCPU_HASH 10
#define BPF_MAP_TYPE_LPM_TRIE 11
#define BPF_MAP_TYPE_QUEUE 22
#define BPF_MAP_TYPE_STACK 23
#define BPF_MAP_TYPE_BLOOM_FILTER 30
#define BPF_F_NO_PREALLOC 1

static long (*bpf_map_peek_elem)(void *map, void *value) = (void *)89;

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} t_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} t_array SEC(".maps");

/* 4-byte per-CPU values: user space sees each rounded up to 8 bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} t_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} t_percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} t_lru_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} t_lru_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
} t_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u32);
} t_queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 4);
	__type(value, __u32);
} t_stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 4);
	__type(value, __u32);
} t_bloom SEC(".maps");

SEC("xdp")
int xdp_map_types(struct xdp_md *ctx)
{
	__u32 key = 0, val = 0;
	struct lpm_key lk = { 32, 0 };
	long n = 0;

	n += bpf_map_lookup_elem(&t_hash, &key) != 0;
	n += bpf_map_lookup_elem(&t_array, &key) != 0;
	n += bpf_map_lookup_elem(&t_percpu_hash, &key) != 0;
	n += bpf_map_lookup_elem(&t_percpu_array, &key) != 0;
	n += bpf_map_lookup_elem(&t_lru_hash, &key) != 0;
	n += bpf_map_lookup_elem(&t_lru_percpu_hash, &key) != 0;
	n += bpf_map_lookup_elem(&t_lpm, &lk) != 0;
	n += bpf_map_peek_elem(&t_queue, &val) == 0;
	n += bpf_map_peek_elem(&t_stack, &val) == 0;
	n += bpf_map_peek_elem(&t_bloom, &val) == 0;
	return n > 100 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
