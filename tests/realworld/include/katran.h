/* Katran-style load balancer definitions (after katran/lib/bpf/balancer_structs.h,
 * balancer_consts.h, jhash.h and csum_helpers.h; written for bpfbox). */
#ifndef __KATRAN_H
#define __KATRAN_H

#include "xdp_common.h"

#define MAX_VIPS 512
#define MAX_REALS 4096
#define RING_SIZE 65537
#define CH_RINGS_SIZE (MAX_VIPS * RING_SIZE)
#define DEFAULT_LRU_SIZE 1000
#define CTL_MAP_SIZE 16
#define STATS_MAP_SIZE (MAX_VIPS * 2)
#define MAC_ADDR_POS 0
#define MAX_SUPPORTED_CPUS 2

#define F_LRU_BYPASS (1 << 1)
#define F_QUIC_VIP (1 << 2)
#define F_HASH_DPORT_ONLY (1 << 3)
#define F_IPV6 (1 << 0)

#define IPIP_V4_PREFIX 4268

#define LRU_CNTRS 0
#define LRU_MISS_CNTR 1
#define NEW_CONN_RATE_CNTR 2

struct flow_key {
	union {
		__be32 src;
		__be32 srcv6[4];
	};
	union {
		__be32 dst;
		__be32 dstv6[4];
	};
	union {
		__u32 ports;
		__u16 port16[2];
	};
	__u8 proto;
};

struct packet_description {
	struct flow_key flow;
	__u32 real_index;
	__u8 flags;
	__u8 tos;
};

struct vip_definition {
	union {
		__be32 vip;
		__be32 vipv6[4];
	};
	__u16 port;
	__u8 proto;
};

struct vip_meta {
	__u32 flags;
	__u32 vip_num;
};

struct real_pos_lru {
	__u32 pos;
	__u64 atime;
};

struct real_definition {
	union {
		__be32 dst;
		__be32 dstv6[4];
	};
	__u8 flags;
};

struct lb_stats {
	__u64 v1;
	__u64 v2;
};

struct ctl_value {
	union {
		__u64 value;
		__u32 ifindex;
		__u8 mac[6];
	};
};

/* Bob Jenkins' lookup3 hash, as in include/linux/jhash.h. */
#define JHASH_INITVAL 0xdeadbeef

static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

#define __jhash_final(a, b, c)                                                                                        \
	{                                                                                                              \
		c ^= b;                                                                                                \
		c -= rol32(b, 14);                                                                                     \
		a ^= c;                                                                                                \
		a -= rol32(c, 11);                                                                                     \
		b ^= a;                                                                                                \
		b -= rol32(a, 25);                                                                                     \
		c ^= b;                                                                                                \
		c -= rol32(b, 16);                                                                                     \
		a ^= c;                                                                                                \
		a -= rol32(c, 4);                                                                                      \
		b ^= a;                                                                                                \
		b -= rol32(a, 14);                                                                                     \
		c ^= b;                                                                                                \
		c -= rol32(b, 24);                                                                                     \
	}

static __always_inline __u32 __jhash_nwords(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	a += initval;
	b += initval;
	c += initval;
	__jhash_final(a, b, c);
	return c;
}

static __always_inline __u32 jhash_2words(__u32 a, __u32 b, __u32 initval)
{
	return __jhash_nwords(a, b, 0, initval + JHASH_INITVAL + (2 << 2));
}

/* IPv4 header checksum over 20 bytes, folded. */
static __always_inline __u16 csum_fold_helper64(__u64 csum)
{
	int i;
#pragma unroll
	for (i = 0; i < 4; i++) {
		if (csum >> 16)
			csum = (csum & 0xffff) + (csum >> 16);
	}
	return ~csum;
}

static __always_inline void ipv4_csum_inline(void *iph, __u64 *csum)
{
	__u16 *next_iph_u16 = (__u16 *)iph;
	int i;
#pragma clang loop unroll(full)
	for (i = 0; i < sizeof(struct iphdr) >> 1; i++)
		*csum += *next_iph_u16++;
	*csum = csum_fold_helper64(*csum);
}

#endif /* __KATRAN_H */
