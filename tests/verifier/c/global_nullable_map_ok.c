/* An unchecked lookup result may go to a global function that checks it. */
#include "common.h"
#define __noinline __attribute__((noinline))
struct { __uint(type, 2); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } vals SEC(".maps");
__noinline int get(__u64 *v) { return v ? (int)*v : 0; }
SEC("xdp") int prog(struct xdp_md *ctx) { __u32 k = ctx->rx_queue_index; return get(bpf_map_lookup_elem(&vals, &k)) ? 2 : 1; }
