/* Longest-prefix match: a binary trie over IPv4 addresses in the buffer (up to 256
 * nodes of 8 bytes: two child indices, a value and a has-value flag; node 0 is the
 * root), then 32 addresses to look up (prefixes are at most 24 bits long). Like hash.c, the trie walk is written in C
 * over the program's memory so that every engine runs the same code. */
#include "bench.h"

#define NODES 256
#define ADDRS 32

struct node {
	u16 child[2];
	u16 value;
	u16 has_value;
};

INLINE u32 lpm(u8 *d, u8 *end)
{
	u32 sum = 0;
	if (d + NODES * 8 + ADDRS * 4 > end)
		return 0;
	struct node *nodes = (struct node *)d;
	u32 *addrs = (u32 *)(d + NODES * 8);
	for (u32 a = 0; a < ADDRS; a++) {
		u32 addr = addrs[a];
		u32 n = 0, best = 0;
		for (u32 depth = 0; depth < 24; depth++) {
			struct node *nd = &nodes[n & (NODES - 1)];
			/* A variable offset: the verifier wants this pointer checked itself,
			 * and read through right away (both halves of the node as words). */
			if ((u8 *)(nd + 1) > end)
				break;
			u32 links = *(u32 *)nd, val = *((u32 *)nd + 1);
			if (val >> 16)
				best = val & 0xffff;
			u32 c = (addr >> (31 - depth)) & 1 ? links >> 16 : links & 0xffff;
			if (c == 0)
				goto found;
			n = c;
		}
		{
			struct node *nd = &nodes[n & (NODES - 1)];
			if ((u8 *)(nd + 1) <= end && (*((u32 *)nd + 1) >> 16))
				best = *((u32 *)nd + 1) & 0xffff;
		}
	found:
		sum = sum * 3 + best;
	}
	return sum;
}

BENCH(lpm)
