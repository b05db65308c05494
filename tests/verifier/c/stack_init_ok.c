#include "common.h"
struct { __uint(type, 1); __uint(max_entries, 4); __type(key, __u64); __type(value, __u64); } h SEC(".maps");
SEC("kprobe/do_nanosleep") int prog(void *ctx) {
	__u64 key = bpf_get_prandom_u32();
	return bpf_map_lookup_elem(&h, &key) ? 1 : 0;
}
