#include "common.h"
struct val { __u32 slots[16]; };
struct { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, struct val); } arr SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) {
	__u32 k = 0, i = bpf_get_prandom_u32();
	struct val *v = bpf_map_lookup_elem(&arr, &k);
	if (!v) return 2;
	if (i > 16) return 2;
	return v->slots[i] & 3;
}
