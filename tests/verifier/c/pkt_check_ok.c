#include "common.h"
SEC("xdp") int prog(struct xdp_md *ctx) {
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 14 > end) return 1;
	return ((__u8 *)data)[13] == 8 ? 2 : 1;
}
