; Atomic operations: on the stack, map values, the context and the packet; fetch
; variants, xchg and cmpxchg results, 32-bit forms.
; prog: sched_cls
; map: array key=4 value=16 entries=1

=== atomic add on a map value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = 1
lock *(u64 *)(r0 + 8) += r1
out: r0 = 0
exit

=== atomic add past a map value
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = 1
lock *(u64 *)(r0 + 12) += r1  ; error: misaligned value access off 0+0+12 size 8
out: r0 = 0
exit

=== 32-bit atomic or on a map value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
w1 = 1
lock *(u32 *)(r0 + 4) |= w1
out: r0 = 0
exit

=== atomic fetch_and returns a scalar
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = 1
r1 = atomic_fetch_and((u64 *)(r0 + 0), r1)
r2 = r10
r2 += r1  ; error: math between fp pointer and register with unbounded min value is not allowed
out: r0 = 0
exit

=== xchg on the stack
; accept
r1 = 5
*(u64 *)(r10 - 8) = r1
r2 = 7
r2 = xchg_64(r10 - 8, r2)
r0 = r2
exit

=== cmpxchg on the stack
; accept
r1 = 5
*(u64 *)(r10 - 8) = r1
r0 = 5
r2 = 7
r0 = cmpxchg_64(r10 - 8, r0, r2)
exit

=== cmpxchg with an uninitialized r0
r1 = 5
*(u64 *)(r10 - 8) = r1
r2 = 7
r0 = cmpxchg_64(r10 - 8, r0, r2)  ; error: R0 !read_ok
exit

=== 32-bit cmpxchg
; accept
r1 = 5
*(u64 *)(r10 - 8) = r1
w0 = 5
w2 = 7
w0 = cmpxchg32_32(r10 - 8, w0, w2)
exit

=== atomic add on the context
r2 = 1
lock *(u32 *)(r1 + 8) += r2  ; error: BPF_ATOMIC stores into R1 ctx is not allowed
r0 = 0
exit

=== atomic add of a pointer to the stack
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
lock *(u64 *)(r10 - 8) += r10
r0 = 0
exit

=== atomic add on uninitialized stack
; accept
r1 = 1
lock *(u64 *)(r10 - 8) += r1
r0 = 0
exit

=== atomic add on the packet
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 8
if r4 > r3 goto out
r1 = 1
lock *(u64 *)(r2 + 0) += r1  ; error: BPF_ATOMIC stores into R2 pkt is not allowed
out: r0 = 0
exit

=== atomic add on a read-only map
; map: array key=4 value=8 entries=1 frozen
ld_pseudo r1, 0x6, 0x1, 0x0
r2 = 1
lock *(u64 *)(r1 + 0) += r2  ; error: write into map forbidden, value_size=8 off=0 size=8
r0 = 0
exit

=== atomic on a misaligned stack slot
r1 = 0
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 8) = r1
r1 = 1
lock *(u64 *)(r10 - 12) += r1  ; error: misaligned stack access off 0+0+-12 size 8
r0 = 0
exit

=== atomic fetch_xor with a 32-bit result
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
w1 = 3
w1 = atomic_fetch_xor((u32 *)(r10 - 8), w1)
r0 = r1
exit

=== a fetch from a spilled stack pointer gives that pointer
r7 = r10
*(u64 *)(r10 - 16) = r7
r7 = 0
r7 = atomic_fetch_and((u64 *)(r10 - 16), r7)
r7 >>= 38  ; error: R7 pointer arithmetic with >>= operator prohibited
r0 = 0
exit

=== cmpxchg's r0 from a spilled pointer
r8 = 0
r7 = r10
*(u64 *)(r10 - 32) = r7
r0 = 0
r0 = cmpxchg_64(r10 - 32, r0, r8)
r0 <<= 19  ; error: R0 pointer arithmetic with <<= operator prohibited
r0 = 0
exit

=== xchg of a spilled context pointer, then a 32-bit pointer operation
r8 = 0
*(u64 *)(r10 - 16) = r1
r8 = xchg_64(r10 - 16, r8)
w8 += 10  ; error: R8 32-bit pointer arithmetic prohibited
r0 = 0
exit

=== a fetched context pointer spilled at 4 bytes
r7 = 1
*(u64 *)(r10 - 32) = r1
r7 = atomic_fetch_or((u64 *)(r10 - 32), r7)
*(u32 *)(r10 - 4) = r7  ; error: invalid size of register spill
r0 = 0
exit

=== a fetched stack pointer used as one
; accept
r7 = r10
r7 += -8
r1 = 5
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r7
r7 = 0
r7 = xchg_64(r10 - 16, r7)
r0 = *(u64 *)(r7 + 0)
exit

=== a 32-bit fetch from a spilled pointer
r7 = r10
*(u64 *)(r10 - 16) = r7
w1 = 0
w1 = atomic_fetch_add((u32 *)(r10 - 16), w1)  ; error: invalid size of register fill
r0 = 0
exit

=== a constant fetched from a spilled slot is precise where it is used
; map: array key=4 value=16 entries=4
r6 = r1
r7 = 200
r2 = *(u32 *)(r6 + 0)
if r2 > 100 goto +1
r7 = 5
*(u64 *)(r10 - 8) = r7
r1 = 0
*(u32 *)(r10 - 12) = r1
r2 = r10
r2 += -12
ld_pseudo r1, 0x5, 0
call 1
if r0 == 0 goto +4
r1 = 0
r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)
r0 += r1
r1 = *(u8 *)(r0 + 0)  ; error: invalid access to map value, value_size=16 off=200 size=1
r0 = 0
exit
