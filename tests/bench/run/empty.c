/* The empty program: what one run costs before the program does anything. */
#include "../bench.h"

INLINE u32 empty(u8 *data, u8 *end)
{
	(void)data;
	(void)end;
	return 2; /* XDP_PASS */
}

BENCH(empty)
