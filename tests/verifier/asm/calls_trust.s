; Calls and trust (issue 12, class 11): one load or store instruction used with a
; context pointer on one path and another pointer type on another, the combined stack
; of call chains through callbacks, scalar links broken by later writes.
; prog: sched_cls

=== same load used with the context and with the stack
r6 = r1
r2 = *(u32 *)(r6 + 0)
r1 = 0
*(u64 *)(r10 - 8) = r1
r7 = r10
r7 += -8
if r2 > 10 goto +1
r7 = r6
r0 = *(u32 *)(r7 + 0)  ; error: same insn cannot be used with different pointers
r0 = 0
exit

=== same store used with the context and with the stack
r6 = r1
r2 = *(u32 *)(r6 + 0)
r7 = r10
r7 += -64
if r2 > 10 goto +1
r7 = r6
r1 = 0
*(u32 *)(r7 + 48) = r1  ; error: same insn cannot be used with different pointers
r0 = 0
exit

=== same load used with the stack and with a map value
; accept
; map: array key=4 value=8 entries=1
r6 = r1
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r7 = r10
r7 += -8
r2 = *(u32 *)(r6 + 0)
if r2 > 10 goto +1
r7 = r0
r0 = *(u32 *)(r7 + 0)
out: r0 = 0
exit

=== same load used with the context and with a socket
r6 = r1
r2 = *(u64 *)(r6 + 168)
if r2 == 0 goto out
r3 = *(u32 *)(r6 + 0)
r7 = r6
if r3 > 10 goto +1
r7 = r2
r0 = *(u32 *)(r7 + 4)  ; error: same insn cannot be used with different pointers
out: r0 = 0
exit

=== same load used with the context in a subprogram and the stack
r6 = r1
r1 = r6
call f
r1 = r10
r1 += -8
r2 = 0
*(u64 *)(r10 - 8) = r2
call f
r0 = 0
exit
f: r0 = *(u32 *)(r1 + 0)  ; error: same insn cannot be used with different pointers
exit

=== stack of a bpf_loop callback adds to its caller's
; prog: socket_filter
r1 = 0  ; error: combined stack size of 2 calls is 528. Too large
*(u64 *)(r10 - 256) = r1
r1 = 1
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
cb: r1 = 0
*(u64 *)(r10 - 272) = r1
r0 = 0
exit

=== stacks of bpf_loop and its callback within 512 bytes
; accept
; prog: socket_filter
r1 = 0
*(u64 *)(r10 - 256) = r1
r1 = 1
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
cb: r1 = 0
*(u64 *)(r10 - 256) = r1
r0 = 0
exit

=== bounds learned through a copy
; accept
; map: array key=4 value=16 entries=1
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r9 = r0
call 7
r6 = r0
r7 = r6
if r7 > 12 goto out
r9 += r6
r0 = *(u32 *)(r9 + 0)
out: r0 = 0
exit

=== link broken by a multiplication of the copy
; map: array key=4 value=16 entries=1
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r9 = r0
call 7
r6 = r0
r7 = r6
r7 *= 1
if r7 > 12 goto out
r9 += r6  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u32 *)(r9 + 0)
out: r0 = 0
exit

=== link broken by a 32-bit move of the copy
; map: array key=4 value=16 entries=1
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r9 = r0
call 7
r6 = r0
r6 <<= 32
r7 = r6
w7 = w7
if r7 > 12 goto out
r9 += r6  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u32 *)(r9 + 0)
out: r0 = 0
exit

=== link broken by overwriting the original with a load
; map: array key=4 value=16 entries=1
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r9 = r0
call 7
r6 = r0
r7 = r6
*(u64 *)(r10 - 16) = r6
r6 = *(u32 *)(r10 - 16)
r6 <<= 3
if r7 > 1 goto out
r9 += r6
r0 = *(u32 *)(r9 + 0)  ; error: R9 unbounded memory access
out: r0 = 0
exit

=== link through an added constant bounds the original
; accept
; map: array key=4 value=16 entries=1
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r9 = r0
call 7
r6 = r0
r7 = r6
r7 += 4
if r7 > 16 goto out
if r6 s< 0 goto out
r9 += r6
r0 = *(u32 *)(r9 + 0)
out: r0 = 0
exit

=== link through an added constant broken by a second add of a register
; map: array key=4 value=16 entries=1
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r9 = r0
call 7
r6 = r0
r7 = r6
r8 = 4
r7 += r8
r7 += 0
if r7 > 16 goto out
if r6 s< 0 goto out
r9 += r6
r0 = *(u32 *)(r9 + 0)  ; error: R9 unbounded memory access
out: r0 = 0
exit
