/* Each run adds 1 to the first packet byte and returns it: repeated runs see the
 * packet the previous run left (as BPF_PROG_TEST_RUN's repeat does), whichever
 * way the runtime repeats them. */
#include "../../progs/bpf_helpers_min.h"

SEC("xdp") int bump(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;
	if (p + 1 > (__u8 *)(long)ctx->data_end)
		return XDP_ABORTED;
	p[0] += 1;
	return p[0];
}

char _license[] SEC("license") = "GPL";
