/* The callee dereferences its pointer unchecked: the caller's &x does not help it. */
#include "common.h"
#define __noinline __attribute__((noinline))
__noinline int deref(int *p) { return *p + 1; }
SEC("xdp") int prog(struct xdp_md *ctx) { int x = ctx->rx_queue_index; return deref(&x) > 4 ? 2 : 1; }
