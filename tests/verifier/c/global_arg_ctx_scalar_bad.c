/* __arg_ctx on an argument that is not a pointer. */
#include "common.h"
#define __noinline __attribute__((noinline))
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
__noinline int f(long x __arg_ctx) { return x > 3; }
SEC("xdp") int prog(struct xdp_md *ctx) { return f(ctx->rx_queue_index) ? 2 : 1; }
