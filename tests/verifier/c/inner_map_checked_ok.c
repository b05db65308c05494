/* The inner map pointer checked for NULL, then looked up. */
#include "inner_map.h"
SEC("xdp") int prog(struct xdp_md *ctx) {
	__u32 k = 0;
	void *m = bpf_map_lookup_elem(&outer, &k);
	if (!m) return 2;
	__u64 *v = bpf_map_lookup_elem(m, &k);
	if (!v) return 2;
	return *v & 1;
}
