; Disagreements the kernel-differential fuzzer (crates/fuzzing/src/kernel_diff.rs)
; found, minimised; each now agrees with the kernel.
; prog: socket_filter

=== const array key in the upper half of an 8-byte zero spill
; accept
; map: array key=4 value=8 entries=1
r7 = 2
r1 = 0
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -12
ld_pseudo r1, 0x5, 0
call 1
r0 += r7
exit

=== const array key in the lower half of an 8-byte spill is not constant
; map: array key=4 value=16 entries=4
r1 = 0
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -16
ld_pseudo r1, 0x5, 0
call 1
if r0 != 0 goto +1
r1 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'scalar'
exit

=== key spilled 8 bytes wide through a subprogram result
; map: array key=4 value=16 entries=4
call f0
r8 = r0
*(u64 *)(r10 - 8) = r8
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0
call 1
r1 = *(u16 *)(r0 + 10)  ; error: R0 invalid mem access 'map_value_or_null'
exit
f0: r1 = 0
*(u64 *)(r10 - 8) = r1
r0 = *(u64 *)(r10 - 8)
exit

=== a map value pointer against a register holding 0 is decided
; accept
; map: array key=4 value=8 entries=1
ld_pseudo r7, 0x6, 0, 0
r8 = 0
if r7 != r8 goto +1
r7 = *(u32 *)(r10 + 4)
r0 = 0
exit

=== a variable-offset read over a spilled pointer gives a scalar
; accept
r6 = r1
*(u64 *)(r10 - 24) = r6
r7 = *(u32 *)(r6 + 8)
r7 &= 4
r2 = r10
r2 += -24
r2 += r7
r9 = *(u32 *)(r2 + 0)
r0 = 0
exit

=== ctx minus an unknown 32-bit value
r9 = r1
r8 = *(u32 *)(r1 + 16)
r9 -= r8  ; error: ctx pointer offset -4294967295 is not allowed
r0 = 0
exit

=== a wide read over a narrow spill of 0 is unknown, not 0
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u32 *)(r10 - 8) = r1
r9 = *(u64 *)(r10 - 8)
r8 = r10
r8 += r9  ; error: math between fp pointer and register with unbounded min value is not allowed
r0 = 0
exit

=== few jumps since the last state: no state to prune against, the constant path is walked
; prog: sched_cls
; map: hash key=4 value=16 entries=8
r6 = r1
r7 = 4
r2 = *(u32 *)(r6 + 76)
r3 = *(u32 *)(r6 + 80)
r4 = r2
r4 += 8
if r4 > r3 goto L1
r7 = *(u32 *)(r2 + 3)
L1: r8 = r6
r7 &= 4
r2 = r10
r2 += -64
r2 += r7
*(u32 *)(r2 + 0) = r8  ; error: invalid size of register spill
ld_pseudo r1, 0x5, 0
call 1
r0 = 0
exit

=== a variable-offset write of a pointer, 4 bytes (privileged)
; accept
r7 = *(u32 *)(r1 + 0)
r7 &= 4
r2 = r10
r2 += -64
r2 += r7
*(u32 *)(r2 + 0) = r1
r0 = 0
exit

=== a variable-offset write of a pointer leaves no pointer to fill
r7 = *(u32 *)(r1 + 0)
r7 &= 8
r2 = r10
r2 += -64
r2 += r7
*(u64 *)(r2 + 0) = r1
r3 = *(u64 *)(r10 - 64)
r0 = *(u32 *)(r3 + 0)  ; error: R3 invalid mem access 'scalar'
r0 = 0
exit

=== a 32-bit shift by an unknown amount leaves the whole register unknown
; map: array key=4 value=16 entries=4
; map: ringbuf key=0 value=0 entries=4096
r6 = r1
r7 = 4
r8 = 0
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0
call 1
if r0 == 0 goto L1
r8 = r0
L1: r9 = *(u32 *)(r6 + 36)
w7 >>= w9
r7 += r8  ; error: math between map_value pointer and register with unbounded min value is not allowed
L2: exit

=== a narrow read inside a spilled 0 is 0
; map: array key=4 value=16 entries=4
; map: ringbuf key=0 value=0 entries=4096
; accept
r1 = 0
*(u64 *)(r10 - 24) = r1
r7 = *(u16 *)(r10 - 22)
ld_pseudo r1, 0x5, 1
r2 = 8
r3 = 0
call 131
if r0 == 0 goto L1
r8 = r0
r8 += r7
r1 = r8
r2 = 0
call 132
L1: r0 = 0
exit

=== a byte inside a spilled 0 is 0, as an index
; map: array key=4 value=16 entries=4
; map: ringbuf key=0 value=0 entries=4096
; accept
r8 = 5
r1 = 0
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -16
r2 += r8
r9 = *(u8 *)(r2 + 0)
if r9 == 0 goto L2
r1 = *(u64 *)(r9 + 0)
L2: r0 = 0
exit

=== a privileged program may store a pointer into skb->cb
; map: array key=4 value=16 entries=4
; map: ringbuf key=0 value=0 entries=4096
; accept
; map: array key=4 value=8 entries=1
ld_pseudo r7, 0x6, 2, 0
*(u64 *)(r1 + 48) = r7
r0 = 0
exit

=== an unprivileged one may not
; map: array key=4 value=16 entries=4
; map: ringbuf key=0 value=0 entries=4096
; unprivileged
; map: array key=4 value=8 entries=1
ld_pseudo r7, 0x6, 2, 0
*(u32 *)(r1 + 48) = r7  ; error: R7 leaks addr into ctx
r0 = 0
exit

=== fuzz campaign case 0 (bpfbox said: R9 invalid mem access 'scalar')
; prog: sched_cls
; accept
; map: array key=4 value=16 entries=4
; map: hash key=4 value=16 entries=8
; map: ringbuf key=0 value=0 entries=4096
; map: array key=4 value=8 entries=1
r6 = r1
r8 = 5
r2 = *(u32 *)(r6 + 76)
r4 = r2
L1: r1 = 0
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -24
ld_pseudo r1, 0x5, 1
call 2
r2 = r10
r2 += -16
r2 += r8
r9 = *(u8 *)(r2 + 0)
if r9 == 0 goto L2
r1 = *(u64 *)(r9 + 0)
L2: exit

=== fuzz campaign case 1 (bpfbox said: R7 leaks addr into ctx)
; prog: socket_filter
; accept
; map: array key=4 value=16 entries=4
; map: hash key=4 value=16 entries=8
; map: ringbuf key=0 value=0 entries=4096
; map: array key=4 value=8 entries=1
r6 = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -24
r4 = 0
ld_pseudo r1, 0x5, 3
call 2
L1: ld_pseudo r7, 0x6, 3, 0
*(u8 *)(r6 + 48) = r7
exit

=== fuzz campaign case 2 (bpfbox said: R1 must have zero offset when passed to release func or trus)
; prog: sched_cls
; accept
; map: array key=4 value=16 entries=4
; map: hash key=4 value=16 entries=8
; map: ringbuf key=0 value=0 entries=4096
; map: array key=4 value=8 entries=1
r1 = 0
*(u64 *)(r10 - 24) = r1
r7 = *(u16 *)(r10 - 22)
ld_pseudo r1, 0x5, 2
r2 = 8
r3 = 0
call 131
if r0 == 0 goto L1
r8 = r0
r8 += r7
r1 = r8
r2 = 0
call 132
L1: r0 = 0
exit

=== fuzz campaign case 3 (bpfbox said: invalid access to map value, value_size=8 off=255 size=8)
; prog: sched_cls
; accept
; map: array key=4 value=16 entries=4
; map: hash key=4 value=16 entries=8
; map: ringbuf key=0 value=0 entries=4096
; map: array key=4 value=8 entries=1
call f0
call f1
r1 = 0
*(u64 *)(r10 - 16) = r1
L1: r9 = *(u8 *)(r10 - 14)
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 3
call 1
if r0 == 0 goto L2
r0 += r9
r1 = *(u64 *)(r0 + 0)
L2: exit
f0: exit
f1: exit

=== fuzz campaign case 4 (bpfbox said: invalid access to map value, value_size=16 off=269 size=1)
; prog: sched_cls
; accept
; map: array key=4 value=16 entries=4 rdonly_prog
; map: hash key=4 value=16 entries=8
; map: ringbuf key=0 value=0 entries=4096
; map: array key=4 value=8 entries=1
r1 = 0
*(u64 *)(r10 - 16) = r1
r8 = 5
r2 = r10
r2 += -16
r2 += r8
r7 = *(u8 *)(r2 + 0)
ld_pseudo r1, 0x5, 0
call 1
if r0 == 0 goto L1
r0 += r7
r1 = *(u8 *)(r0 + 14)
L1: exit

=== fuzz campaign case 5 (bpfbox said: invalid size of register fill)
; prog: sched_cls
; accept
; map: array key=4 value=16 entries=4
; map: hash key=4 value=16 entries=8
; map: ringbuf key=0 value=0 entries=4096
; map: array key=4 value=8 entries=1
r6 = r1
r7 = 0
r8 = 1
if r8 != 2 goto L1
L1: r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 1
call 1
if r0 == 0 goto L2
L2: *(u64 *)(r10 - 56) = r6
r2 = *(u32 *)(r6 + 76)
r3 = *(u32 *)(r6 + 80)
r4 = r2
r4 += 12
if r4 > r3 goto L3
r7 = *(u8 *)(r2 + 6)
L3: r7 &= 7
r2 = r10
r2 += -56
r2 += r7
r7 = *(u8 *)(r2 + 0)
exit

=== fuzz campaign case 7 (bpfbox said: misaligned stack access off (0x0; 0xff)+-12+0 size 2)
; prog: sched_cls
; accept
; map: array key=4 value=16 entries=4
; map: hash key=4 value=16 entries=8
; map: ringbuf key=0 value=0 entries=4096
; map: array key=4 value=8 entries=1
r7 = 4
r1 = 0
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -24
r4 = 0
ld_pseudo r1, 0x5, 1
call 2
r2 = r10
r2 += -16
r2 += r7
r8 = *(u8 *)(r2 + 0)
r2 += r8
r9 = *(u16 *)(r2 + 0)
L1: exit

=== a JSET the tnum cannot decide walks its impossible side, bounds from the tnum
; prog: sched_cls
r6 = r1
r7 = 3
r9 = *(u8 *)(r10 - 8)
r7 += r9
r8 = r7
if w7 & -2 goto +2
r1 = r8
r9 = *(s32 *)(r10 + 4)  ; error: invalid read from stack R10 off=4 size=4
r0 = 0
exit

=== the impossible side's linked copy gets the tnum's bounds too
; prog: sched_cls
; accept
; map: array key=4 value=16 entries=4
r7 = 3
r9 = *(u8 *)(r10 - 8)
r7 += r9
r8 = r7
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0
call 1
if w7 & -2 goto +3
r0 += r8
r0 = *(u8 *)(r0 + 14)
r0 = 0
r0 = 0
exit

=== a 32-bit comparison of a map value with 0 is not decided
; prog: socket_filter
; map: array key=4 value=16 entries=4
r7 = 0
*(u32 *)(r10 - 4) = r7
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0
call 1
r7 = r0
if w7 != 0 goto +1
r7 = *(u64 *)(r10 - 40)
r7 /= 13  ; error: R7 pointer arithmetic with /= operator prohibited
r0 = 0
exit

=== the fall-through of a 32-bit equality of a map value with 0 is walked
; prog: socket_filter
; map: array key=4 value=16 entries=4
r7 = 0
*(u32 *)(r10 - 4) = r7
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0
call 1
r7 = r0
if w7 == 0 goto +1
r7 = *(u64 *)(r10 - 40)
r0 = *(u64 *)(r7 + 0)  ; error: R7 invalid mem access 'scalar'
r0 = 0
exit

=== a 32-bit comparison of a register holding 0 with a map value is not decided
; prog: socket_filter
; map: array key=4 value=16 entries=4
r7 = 0
*(u32 *)(r10 - 4) = r7
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0
call 1
r8 = r0
if w7 != w8 goto +1
w8 %= 4  ; error: R8 32-bit pointer arithmetic prohibited
r0 = 1
exit

=== a byte swap of a pointer gives an unknown value, not a 16-bit one
; prog: xdp
; map: array key=4 value=16 entries=4
r6 = r1
*(u64 *)(r10 - 40) = r6
r9 = *(u64 *)(r10 - 40)
r9 = le16 r9
r1 = 2
*(u32 *)(r10 - 16) = r1
r2 = r10
r2 += -16
ld_pseudo r1, 0x5, 0
call 1
r0 += r9  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = 0
exit

=== a may_goto pass widens what no explored path has needed yet
; prog: socket_filter
; map: array key=4 value=16 entries=4
; map: hash key=4 value=16 entries=8
r7 = 0
r8 = 6
r9 = 0
*(u64 *)(r10 - 32) = r8
w7 = atomic_fetch_or((u32 *)(r10 - 32), w7)
L1: may_goto L2
*(u32 *)(r10 - 16) = r9
r9 |= r7
r7 = *(u32 *)(r10 - 16)
if r8 < 14 goto L1
L2: r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 1
call 1
if r0 == 0 goto L3
r9 &= 8
r0 += r9
*(u8 *)(r0 + 11) = r9  ; error: R0 max value is outside of the allowed memory range
L3: exit

=== a may_goto counter compared with what offsets a map value stays exact: no convergence
; prog: socket_filter
; map: array key=4 value=16 entries=4
; map: hash key=4 value=16 entries=8
r6 = r1
L1: r7 = 0
L2: may_goto L3
r7 += 1
goto L2
L3: r8 = *(u32 *)(r6 + 8)
if r7 != r8 goto L4
L4: r2 = r10  ; error: BPF program is too large
r2 += -8
ld_pseudo r1, 0x5, 1
call 1
if r0 == 0 goto L5
r0 += r8
L5: r1 = 0
L6: may_goto L7
L7: exit

=== a wider read over a one-byte spill is no fill: the loop counter spilled there widens
; prog: xdp
; accept
; map: array key=4 value=16 entries=4
r6 = r1
r9 = 3
L3: may_goto L4
r9 += 1
goto L3
L4: r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0
call 1
*(u8 *)(r10 - 56) = r9
r9 = *(u32 *)(r10 - 56)
if r0 == 0 goto L7
r0 += r9
L7: r0 = 0
exit

=== a may_goto counter decided after a subprogram call stays exact: no convergence
; prog: socket_filter
r8 = 2
L4: may_goto L5  ; error: BPF program is too large
r8 += 1
goto L4
L5: r1 = 0
call f0
if w8 != -2 goto L7
L7: exit
f0: r0 = *(u64 *)(r10 - 8)
exit

=== a register an atomic fetches into is overwritten: the loop counter it held widens
; prog: sched_cls
; accept
r6 = r1
r7 = 3
r1 = 0
L3: may_goto L4
r7 += 1
goto L3
L4: *(u64 *)(r10 - 40) = r1
r7 = atomic_fetch_xor((u64 *)(r10 - 40), r7)
if w7 & -4 goto L7
L7: r0 = 0
exit

=== a value a subprogram call passes by stays exact through the callee
; prog: sched_cls
; accept
; map: array key=4 value=16 entries=4
r6 = r1
r7 = 4
r9 = 4
L1: may_goto L2
r7 >>= 14
if r9 < 6 goto L1
L2: call f0
r1 = 0
*(u32 *)(r10 - 12) = r1
r2 = r10
r2 += -12
ld_pseudo r1, 0x5, 0
call 1
if r0 == 0 goto L7
r7 &= 8
r0 += r7
*(u32 *)(r0 + 12) = r7
L7: r0 = 0
exit
f0: exit

=== a may_goto counter spilled as an out-of-range constant array key stays exact
; prog: socket_filter
; map: array key=4 value=16 entries=4
r9 = 5
L1: may_goto L2
r9 += 1
goto L1  ; error: BPF program is too large
L2: *(u32 *)(r10 - 16) = r9
r2 = r10
r2 += -16
ld_pseudo r1, 0x5, 0
call 1
r0 = 0
exit
