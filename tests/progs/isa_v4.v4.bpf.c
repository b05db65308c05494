// cpu v4 instructions: sdiv/smod, movsx, sign-extending loads, bswap, gotol,
// 32-bit atomics (compiled with -mcpu=v4).
#include "bpf_helpers_min.h"

__u32 counter32;
__s64 results[8];

static __noinline __s64 signed_ops(__s64 a, __s64 b, __s32 c, __s32 d)
{
	if (b == 0 || d == 0)
		return 0;
	return a / b + a % b + (__s64)(c / d) + (__s64)(c % d);
}

static __noinline __s64 signed_mod(__s64 a, __s64 b, __s32 c, __s32 d)
{
	if (b == 0 || d == 0)
		return 0;
	return (a % b) ^ (__s64)(c % d);
}

SEC("socket")
int isa_v4(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__s64 acc;

	if (data + 16 > data_end)
		return 0;
	/* Sign-extending loads. */
	__s8 b = *(volatile __s8 *)data;
	__s16 h = *(volatile __s16 *)(data + 2);
	__s32 w = *(volatile __s32 *)(data + 4);
	/* movsx from registers. */
	__s64 x = skb->len;
	acc = (__s64)(__s8)x + (__s64)(__s16)(x >> 3) + (__s64)(__s32)(x * 7);
	acc += b + h + w;
	/* Byte swaps (v4 bswap). */
	acc ^= __builtin_bswap16((__u16)acc) + __builtin_bswap32((__u32)acc) + __builtin_bswap64(acc);
	acc += signed_ops(acc, w, h, b);
	acc ^= signed_mod(acc, h, w, b);
	/* 32-bit atomics. */
	__u32 old = __sync_fetch_and_add(&counter32, 1);
	__sync_fetch_and_or(&counter32, 0x100);
	__sync_fetch_and_and(&counter32, 0xffff);
	__sync_fetch_and_xor(&counter32, old);
	__u32 prev = __sync_val_compare_and_swap(&counter32, old, old + 2);
	__u32 xchg = __sync_lock_test_and_set(&counter32, prev);
	acc += xchg;
	/* A long jump: gotol. */
	asm volatile("gotol +1; r0 = 0" ::: "r0");
	results[acc & 7] = acc;
	return acc & 1;
}

char _license[] SEC("license") = "GPL";
