/* A global function typed with the program's context takes only the context. */
#include "common.h"
#define __noinline __attribute__((noinline))
__noinline int queue(struct xdp_md *c) { return c->rx_queue_index; }
SEC("xdp") int prog(struct xdp_md *ctx) { struct xdp_md copy = { .rx_queue_index = ctx->rx_queue_index }; return queue(&copy) ? 2 : 1; }
