/* A global function no path calls is never verified (its body would be refused). */
#include "common.h"
#define __noinline __attribute__((noinline))
const volatile int enabled = 0;
__noinline int deref(int *p) { return *p + 1; }
SEC("xdp") int prog(struct xdp_md *ctx) { int x = ctx->rx_queue_index; if (enabled) return deref(&x) > 4 ? 2 : 1; return 2; }
