/* An __arg_ctx argument must be given the context, not stack memory. */
#include "common.h"
#define __noinline __attribute__((noinline))
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
__noinline int f(void *c __arg_ctx) { return c != 0; }
SEC("xdp") int prog(struct xdp_md *ctx) { __u64 buf = 0; return f(&buf) ? 2 : 1; }
