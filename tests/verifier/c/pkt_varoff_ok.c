#include "common.h"
SEC("xdp") int prog(struct xdp_md *ctx) {
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 34 > end) return 1;
	__u32 ihl = (((__u8 *)data)[14] & 0xf) * 4;
	void *l4 = data + 14 + ihl;
	if (l4 + 4 > end) return 1;
	return *(__u16 *)(l4 + 2) == 53 ? 1 : 2;
}
