#include "common.h"
/* Reads the context through a pointer moved by a variable amount. */
SEC("xdp") int prog(struct xdp_md *ctx)
{
	__u32 *p = (__u32 *)ctx;
	asm volatile("%[p] += 4" : [p] "+r"(p));
	return *p;
}
