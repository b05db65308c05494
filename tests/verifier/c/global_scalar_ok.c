/* A global function bounds its own scalar argument before indexing. */
#include "common.h"
#define __noinline __attribute__((noinline))
__u32 table[16] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };
__noinline int lookup(__u32 i, __u32 add) { if (i >= 16) return 0; return table[i] + add; }
SEC("xdp") int prog(struct xdp_md *ctx) { return lookup(ctx->rx_queue_index, ctx->ingress_ifindex) & 1 ? 2 : 1; }
