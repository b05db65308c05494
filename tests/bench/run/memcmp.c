/* memcmp of two 1 KiB halves of the packet, byte by byte, as a payload
 * signature check does; returns 1 + the index of the first difference, or 0. */
#include "../bench.h"

#define N 1024

INLINE u32 memcmp_1k(u8 *d, u8 *end)
{
	if (d + 2 * N > end)
		return 0;
	for (u32 i = 0; i < N; i++)
		if (d[i] != d[N + i])
			return i + 1;
	return 0;
}

BENCH(memcmp_1k)
