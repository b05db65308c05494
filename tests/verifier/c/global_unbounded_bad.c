/* The caller bounds the index, the global callee does not know it. */
#include "common.h"
#define __noinline __attribute__((noinline))
__u32 table[16] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };
__noinline int lookup(__u32 i) { return table[i]; }
SEC("xdp") int prog(struct xdp_md *ctx) { __u32 i = ctx->rx_queue_index; if (i < 16) return lookup(i) & 1 ? 2 : 1; return 1; }
