#include "common.h"
struct bpf_spin_lock { __u32 val; };
struct val { struct bpf_spin_lock lock; __u32 n; };
struct { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, struct val); } arr SEC(".maps");
SEC("tc") int prog(void *ctx) {
	__u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&arr, &k);
	if (!v) return 0;
	return *(volatile __u32 *)&v->lock;
}
