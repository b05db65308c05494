/* Hash-map lookups: an open-addressing table of 256 (key, value) slots of 4+4
 * bytes at the start of the buffer, then 128 keys to look up (about two in three
 * are present). bpfbox's VM has BPF maps, but rbpf and native C have not, so the
 * table lives in the program's memory and the lookup is written here in C. */
#include "bench.h"

#define SLOTS 256
#define KEYS 128
#define PROBES 8

INLINE u32 hash(u8 *d, u8 *end)
{
	u32 sum = 0, hits = 0;
	if (d + SLOTS * 8 + KEYS * 4 > end)
		return 0;
	u32 *table = (u32 *)d;
	u32 *keys = (u32 *)(d + SLOTS * 8);
	for (u32 k = 0; k < KEYS; k++) {
		u32 key = keys[k];
		u32 h = (key * 2654435761u) >> 24;
		for (u32 probe = 0; probe < PROBES; probe++) {
			u32 slot = (h + probe) & (SLOTS - 1);
			u32 *e = table + slot * 2;
			/* A variable offset: the verifier wants this pointer checked itself. */
			if ((u8 *)(e + 2) > end)
				break;
			u32 sk = e[0];
			if (sk == key) {
				sum += e[1];
				hits++;
				break;
			}
			if (sk == 0)
				break;
		}
	}
	return sum ^ (hits << 24);
}

BENCH(hash)
