; Instructions Linux added after RFC 9669: may_goto (can_loop / bpf_for loops),
; load-acquire and store-release (the atomics' pointer and alignment rules) and
; addr_space_cast (BPF arena only).
; prog: sched_cls
; map: array key=4 value=16 entries=1

=== may_goto loop counting without a bound
; accept
r0 = 0
top: may_goto out
r0 += 1
goto top
out: r0 = 0
exit

=== may_goto in the condition of a bounded loop indexing the stack
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
r6 = 0
r7 = 0
top: may_goto out
if r6 > 15 goto out
r1 = r10
r1 += -16
r1 += r6
r2 = *(u8 *)(r1 + 0)
r7 += r2
r6 += 1
goto top
out: r0 = r7
r0 &= 1
exit

=== may_goto fall-through is explored
r1 = 0
top: may_goto out
r0 = r2  ; error: R2 !read_ok
r1 += 1
goto top
out: r0 = 0
exit

=== may_goto loop walking off the stack
r6 = 0
top: may_goto out
r1 = r10
r1 += -8
r1 += r6
r2 = 0
*(u64 *)(r1 + 0) = r2  ; error: invalid
r6 -= 8
goto top
out: r0 = 0
exit

=== may_goto out of the program
may_goto +2  ; error: jump out of range from insn 0 to 3
r0 = 0
exit

=== may_goto of offset 0
; accept
r0 = 0
may_goto +0
exit

=== load-acquire and store-release on the stack
; accept
r1 = 7
store_release((u64 *)(r10 - 8), r1)
store_release((u32 *)(r10 - 12), w1)
store_release((u16 *)(r10 - 14), w1)
store_release((u8 *)(r10 - 15), w1)
r0 = load_acquire((u64 *)(r10 - 8))
w2 = load_acquire((u32 *)(r10 - 12))
w3 = load_acquire((u16 *)(r10 - 14))
w4 = load_acquire((u8 *)(r10 - 15))
r0 += r2
r0 += r3
r0 += r4
r0 &= 1
exit

=== load-acquire and store-release on a map value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = 1
store_release((u64 *)(r0 + 8), r1)
w1 = load_acquire((u32 *)(r0 + 4))
out: r0 = 0
exit

=== load-acquire below the stack
r0 = load_acquire((u64 *)(r10 - 520))  ; error: invalid read from stack R10 off=-520 size=8
exit

=== load-acquire misaligned in a map value
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
w1 = load_acquire((u32 *)(r0 + 2))  ; error: misaligned value access off 0+0+2 size 4
out: r0 = 0
exit

=== store-release misaligned in a map value
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = 1
store_release((u64 *)(r0 + 4), r1)  ; error: misaligned value access off 0+0+4 size 8
out: r0 = 0
exit

=== load-acquire past a map value
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = load_acquire((u64 *)(r0 + 16))  ; error: invalid access to map value, value_size=16 off=16 size=8
out: r0 = 0
exit

=== load-acquire from the context
w0 = load_acquire((u32 *)(r1 + 0))  ; error: BPF_ATOMIC loads from R1 ctx is not allowed
exit

=== store-release into the context
r2 = 1
store_release((u32 *)(r1 + 48), w2)  ; error: BPF_ATOMIC stores into R1 ctx is not allowed
r0 = 0
exit

=== load-acquire from the packet
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 8
if r4 > r3 goto out
w0 = load_acquire((u8 *)(r2 + 0))  ; error: BPF_ATOMIC loads from R2 pkt is not allowed
out: r0 = 0
exit

=== load-acquire through a scalar
r1 = 0
r0 = load_acquire((u64 *)(r1 + 0))  ; error: R1 invalid mem access 'scalar'
exit

=== addr_space_cast without an arena
r0 = addr_space_cast(r1, 0x0, 0x1)  ; error: addr_space_cast insn can only be used in a program that has an associated arena
r0 = 0
exit
