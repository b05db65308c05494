/* Global functions may only return scalars. */
#include "common.h"
#define __noinline __attribute__((noinline))
__noinline int *pick(int *a, int *b, int c) { return c ? a : b; }
SEC("xdp") int prog(struct xdp_md *ctx) { int x = 1, y = 2; int *p = pick(&x, &y, ctx->rx_queue_index); return *p > 1 ? 2 : 1; }
