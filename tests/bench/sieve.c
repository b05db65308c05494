/* Prime sieve: count the primes below N, using the buffer as the flag array. */
#include "bench.h"

#define N 2000

INLINE u32 sieve(u8 *d, u8 *end)
{
	u32 count = 0;
	if (d + N > end)
		return 0;
	/* Clear the flags (BPF has no memset: keep clang from making this one). */
	for (u32 i = 0; i < N; i += 8) {
		*(u64 *)(d + i) = 0;
#ifdef __bpf__
		__asm__ volatile("" ::: "memory");
#endif
	}
	for (u32 i = 2; i < N; i++) {
		if (d[i])
			continue;
		count++;
		for (u32 j = i * i; j < N; j += i)
			d[j] = 1;
	}
	return count;
}

BENCH(sieve)
