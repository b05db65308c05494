/* Internet checksum (RFC 1071) over a 1500-byte packet. */
#include "bench.h"

#define LEN 1500

INLINE u32 checksum(u8 *d, u8 *end)
{
	u32 sum = 0;
	if (d + LEN > end)
		return 0;
	for (u32 i = 0; i < LEN; i += 2)
		sum += be16(d + i);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

BENCH(checksum)
