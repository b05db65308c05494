/* An unchecked lookup result cannot go to an __arg_nonnull argument. */
#include "common.h"
#define __noinline __attribute__((noinline))
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
struct { __uint(type, 2); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } vals SEC(".maps");
__noinline int get(__u64 *v __arg_nonnull) { return (int)*v; }
SEC("xdp") int prog(struct xdp_md *ctx) { __u32 k = ctx->rx_queue_index; return get(bpf_map_lookup_elem(&vals, &k)) ? 2 : 1; }
