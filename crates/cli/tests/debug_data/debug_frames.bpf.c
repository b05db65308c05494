// Three frames deep, each caller keeping values in r6..r9 across its call while the
// callee uses those registers for its own: `bpfbox debug`'s `up`, `down` and `frame`
// must show each frame's variables from the registers its call saved
// (crates/cli/tests/debug.rs). Built with: clang-19 -O2 -g -target bpf -c.
#include "../../../../tests/progs/bpf_helpers_min.h"

static __noinline __u32 leaf(__u32 x)
{
	return x * 3 + 1;
}

static __noinline __u32 middle(__u32 a, __u32 b)
{
	__u32 m1 = a + 1000;
	__u32 m2 = b * 2;
	__u32 r = leaf(m1 ^ m2);
	return r + m1 + m2;
}

SEC("xdp")
int xdp_frames(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	if (data + 2 > end)
		return XDP_ABORTED;
	__u32 k1 = data[0] + 7;
	__u32 k2 = data[1] + 11;
	__u32 v = middle(k1, k2);
	return (v + k1 + k2) & 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
