#include "common.h"
/* An 8-byte stack store at a 4-byte aligned offset: misaligned stack access. */
SEC("xdp") int prog(struct xdp_md *ctx)
{
	asm volatile("r2 = 0; *(u64 *)(r10 - 12) = r2" ::: "r2");
	return 2;
}
