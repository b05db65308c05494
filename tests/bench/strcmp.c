/* Byte-string comparison: a 64-byte needle at the start of the buffer against 32
 * candidates of 64 bytes; counts the equal ones and sums where the others first
 * differ (as memcmp would find it). */
#include "bench.h"

#define LEN 64
#define CANDS 32

INLINE u32 strcmp_bench(u8 *d, u8 *end)
{
	u32 equal = 0, where = 0;
	if (d + LEN * (CANDS + 1) > end)
		return 0;
	for (u32 c = 0; c < CANDS; c++) {
		u8 *s = d + LEN * (c + 1);
		u32 i = 0;
		for (; i < LEN; i++)
			if (s[i] != d[i])
				break;
		if (i == LEN)
			equal++;
		else
			where += i + (s[i] < d[i] ? 0 : 1000);
	}
	return (equal << 16) + where;
}

BENCH(strcmp_bench)
