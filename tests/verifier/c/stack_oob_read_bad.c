#include "common.h"
/* Reads above the frame pointer: invalid stack read. */
SEC("xdp") int prog(struct xdp_md *ctx)
{
	long v;
	asm volatile("%[v] = *(u64 *)(r10 + 8)" : [v] "=r"(v));
	return v;
}
