/* A global function NULL-checks its pointer: callers may pass anything. */
#include "common.h"
#define __noinline __attribute__((noinline))
__noinline int read_or_zero(int *p) { if (!p) return 0; return *p; }
SEC("xdp") int prog(struct xdp_md *ctx) {
	int x = ctx->rx_queue_index;
	return (read_or_zero(&x) + read_or_zero(0)) & 1 ? 2 : 1;
}
