/* __arg_nonnull: the callee dereferences without a check, the caller passes the stack. */
#include "common.h"
#define __noinline __attribute__((noinline))
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
__noinline int twice(int *p __arg_nonnull) { return *p * 2; }
SEC("xdp") int prog(struct xdp_md *ctx) { int x = ctx->rx_queue_index; return twice(&x) > 4 ? 2 : 1; }
