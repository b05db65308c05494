#include "common.h"
SEC("xdp") int prog(struct xdp_md *ctx) {
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 12 > end) return 1;
	return *(__u16 *)(data + 12) == 8 ? 2 : 1;
}
