/* The same map of bpf_timer values in a tc program: allowed. */
#include "common.h"
struct bpf_timer { __u64 __opaque[2]; } __attribute__((aligned(8)));
struct elem { struct bpf_timer t; __u64 n; };
struct { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, struct elem); } timers SEC(".maps");
SEC("tc") int prog(void *ctx) {
	__u32 k = 0;
	struct elem *e = bpf_map_lookup_elem(&timers, &k);
	if (e) e->n++;
	return 0;
}
