/* The context passed to a global function keeps its type there (struct xdp_md *). */
#include "common.h"
#define __noinline __attribute__((noinline))
__noinline int eth_proto_byte(struct xdp_md *ctx) {
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 14 > end) return 0;
	return ((__u8 *)data)[12];
}
SEC("xdp") int prog(struct xdp_md *ctx) { return eth_proto_byte(ctx) > 3 ? 2 : 1; }
