#include "common.h"
SEC("xdp") int prog(struct xdp_md *ctx) {
	ctx->rx_queue_index = 1;
	return 2;
}
