/* An inner map pointer from a map-in-map lookup may be NULL (an empty slot): it
 * must be checked before it is given to bpf_map_lookup_elem. */
#include "inner_map.h"
SEC("xdp") int prog(struct xdp_md *ctx) {
	__u32 k = 0;
	void *m = bpf_map_lookup_elem(&outer, &k);
	__u64 *v = bpf_map_lookup_elem(m, &k);
	if (!v) return 2;
	return *v & 1;
}
