#include "common.h"
/* One path exits before R0 is set. */
SEC("xdp") int prog(struct xdp_md *ctx)
{
	asm volatile("r2 = *(u32 *)(%[c] + 12); if r2 != 0 goto +1; exit" :: [c] "r"(ctx) : "r2");
	return 2;
}
