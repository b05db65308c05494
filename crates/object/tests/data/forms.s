# Every instruction form (cpu v4), including 32-bit atomics.
	.text
	.globl forms
	.type forms,@function
forms:
r1 += 5
w1 += -8
r1 = r2
w1 = w2
r1 = (s8)r2
w1 = (s16)w2
r1 = (s32)r2
r1 = -r1
w1 = -w1
r1 = be16 r1
r1 = le32 r1
r1 = bswap64 r1
r1 = *(u8 *)(r2 + 4)
w1 = *(u16 *)(r2 - 4)
r1 = *(s8 *)(r2 + 4)
r1 = *(s32 *)(r2 + 4)
*(u32 *)(r1 + 4) = w2
*(u64 *)(r1 + 4) = r2
*(u32 *)(r1 + 4) = 7
lock *(u64 *)(r1 + 4) += r2
lock *(u32 *)(r1 + 4) += w2
r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)
w2 = atomic_fetch_and((u32 *)(r1 + 0), w2)
r2 = xchg_64(r1 + 0, r2)
w2 = xchg32_32(r1 + 0, w2)
r0 = cmpxchg_64(r1 + 0, r0, r2)
w0 = cmpxchg32_32(r1 + 0, w0, w2)
r1 = 0x123456789 ll
r0 = *(u8 *)skb[4]
r0 = *(u16 *)skb[r1]
goto +3
gotol +3
if r1 > r2 goto +1
if w1 s< -3 goto -1
if r1 & 8 goto +1
call 1
callx r3
exit
r1 /= 3
r1 s/= 3
w1 s%= w3
r1 s>>= 3
r1 ^= 3
