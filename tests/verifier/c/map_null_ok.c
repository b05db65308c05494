#include "common.h"
struct { __uint(type, 2); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) {
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&arr, &k);
	if (!v) return 2;
	__sync_fetch_and_add(v, 1);
	return 2;
}
