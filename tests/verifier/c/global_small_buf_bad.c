/* The callee takes a 64-byte struct, the caller passes 8 bytes of stack. */
#include "common.h"
#define __noinline __attribute__((noinline))
struct big { __u64 a[8]; };
__noinline int sum(struct big *b) { if (!b) return 0; return b->a[0] + b->a[7]; }
SEC("xdp") int prog(struct xdp_md *ctx) { __u64 small = ctx->rx_queue_index; return sum((struct big *)&small) ? 2 : 1; }
