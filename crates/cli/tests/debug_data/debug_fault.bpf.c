// A program bpfbox's verifier (and the kernel's) refuse: it indexes the packet with a
// byte of the packet, unchecked. `bpfbox debug` runs it bounds-checked, and stops
// before the faulting load with the history to step back through
// (crates/cli/tests/debug.rs). Built with: clang-19 -O2 -g -target bpf -c.
#include "../../../../tests/progs/bpf_helpers_min.h"

static __noinline __u32 scaled(__u32 v)
{
	return v * 100;
}

SEC("xdp")
int xdp_fault(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;
	__u32 i = p[0];
	__u32 at = scaled(i);
	return p[at];
}

char _license[] SEC("license") = "GPL";
