/* A stack pointer where the global function expects a number. */
#include "common.h"
#define __noinline __attribute__((noinline))
__noinline int low_bit(long v) { return v & 1; }
SEC("xdp") int prog(struct xdp_md *ctx) { int x = ctx->rx_queue_index; return low_bit((long)&x) + x > 3 ? 2 : 1; }
