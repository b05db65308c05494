/* A global function that may change packet data invalidates the caller's packet pointers. */
#include "common.h"
#define __noinline __attribute__((noinline))
static long (*bpf_xdp_adjust_head)(struct xdp_md *ctx, int delta) = (void *)44;
__noinline int shrink(struct xdp_md *ctx) { return bpf_xdp_adjust_head(ctx, 4) ? 1 : 0; }
SEC("xdp") int prog(struct xdp_md *ctx) {
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 14 > end) return 1;
	int r = shrink(ctx);
	return data[12] + r > 3 ? 2 : 1;
}
