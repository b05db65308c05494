/* A non-zero number where the global function expects a pointer. */
#include "common.h"
#define __noinline __attribute__((noinline))
__noinline int deref(int *p) { if (!p) return 0; return *p; }
SEC("xdp") int prog(struct xdp_md *ctx) { return deref((int *)(long)(ctx->rx_queue_index | 1)) ? 2 : 1; }
