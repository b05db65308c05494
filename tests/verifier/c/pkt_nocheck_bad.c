#include "common.h"
SEC("xdp") int prog(struct xdp_md *ctx) {
	void *data = (void *)(long)ctx->data;
	return ((__u8 *)data)[13] == 8 ? 2 : 1;
}
