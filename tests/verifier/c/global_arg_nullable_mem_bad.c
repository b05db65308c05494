/* __arg_nullable on a plain memory pointer of a global function: an invalid combination of tags (only __arg_trusted pointers may be nullable). */
#include "common.h"
#define __noinline __attribute__((noinline))
#define __arg_nullable __attribute__((btf_decl_tag("arg:nullable")))
__noinline int get(__u64 *v __arg_nullable) { return v ? (int)*v : 0; }
SEC("xdp") int prog(struct xdp_md *ctx) { __u64 x = ctx->rx_queue_index; return get(&x) ? 2 : 1; }
