/* Linux 6.18 counts global callees' frames too: 9 nested calls are too deep. */
#include "common.h"
#define __noinline __attribute__((noinline))
#define G(n, m) __noinline int g##n(int x) { return g##m(x + 1) + 1; }
__noinline int g9(int x) { return x * 3; }
G(8, 9) G(7, 8) G(6, 7) G(5, 6) G(4, 5) G(3, 4) G(2, 3) G(1, 2)
SEC("xdp") int prog(struct xdp_md *ctx) { return g1(ctx->rx_queue_index) & 1 ? 2 : 1; }
