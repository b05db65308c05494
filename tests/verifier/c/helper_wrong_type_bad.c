#include "common.h"
static long (*bpf_skb_load_bytes)(const void *skb, __u32 off, void *to, __u32 len) = (void *)26;
/* bpf_skb_load_bytes is for socket filters and tc; XDP programs read the packet directly. */
SEC("xdp") int prog(struct xdp_md *ctx)
{
	__u32 v = 0;
	bpf_skb_load_bytes(ctx, 0, &v, 4);
	return v & 3;
}
