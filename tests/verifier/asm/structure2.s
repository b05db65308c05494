; More structural checks: jumps, lddw, exits, unreachable code, loops, complexity.
; prog: socket_filter

=== jump to the next instruction
; accept
r0 = 0
goto +0
exit

=== jump to itself
r0 = 0
goto -1
exit  ; error: unreachable insn 2

=== conditional jump out of range
r0 = 0
if r0 == 0 goto +3  ; error: jump out of range from insn 1 to 5
exit

=== jump to the second slot of lddw backwards
r1 = 0x1122334455667788 ll
r0 = 0
if r0 == 0 goto -3  ; error: jump into the middle of ldimm64 insn 0
exit

=== lddw as the last slot pair
r0 = 0
exit
r1 = 5 ll  ; error: last insn is not an exit or jmp

=== exit in the middle, unreachable tail
r0 = 0
exit
r0 = 1  ; error: unreachable insn 2
r0 = 2
exit

=== both branches exit
; accept
call 7
if r0 > 5 goto +2
r0 = 0
exit
r0 = 1
exit

=== a branch that skips the only exit
r0 = 0
if r0 == 0 goto +1
exit
r0 = 1  ; error: last insn is not an exit or jmp

=== loop with a 32-bit counter
; accept
w0 = 0
l: w0 += 1
if w0 < 100 goto l
r0 = 0
exit

=== loop counting down
; accept
r1 = 50
l: r1 -= 1
if r1 != 0 goto l
r0 = 0
exit

=== loop whose counter is reset inside
r1 = 0
l: r1 += 1  ; error: infinite loop detected at insn 1
r1 = 0
if r1 < 10 goto l
r0 = 0
exit

=== loop bounded by an unknown value
call 7
r1 = 0
l: r1 += 1
if r1 < r0 goto l
r0 = 0  ; error: BPF program is too large. Processed 1000001 insn
exit

=== loop bounded by a masked unknown value
; accept
call 7
r0 &= 0xff
r1 = 0
l: r1 += 1
if r1 < r0 goto l
r0 = 0
exit

=== nested bounded loops
; accept
r1 = 0
outer: r2 = 0
inner: r2 += 1
if r2 < 10 goto inner
r1 += 1
if r1 < 10 goto outer
r0 = 0
exit

=== loop of a million iterations
r1 = 0
l: r1 += 1
if r1 < 1000000 goto l  ; error: BPF program is too large. Processed 1000001 insn
r0 = 0
exit

=== program that only jumps back
l: goto l
exit  ; error: unreachable insn 1

=== uninitialized r0 on one path
call 7
if r0 > 5 goto +1
exit
r0 = r9  ; error: R9 !read_ok
exit

=== r10 as a destination of a load
r10 = *(u64 *)(r10 - 8)  ; error: frame pointer is read only
r0 = 0
exit

=== ldimm64 of a constant used as a scalar
; accept
r1 = 0x100000000 ll
r1 >>= 32
r0 = r1
exit

=== store of an immediate to the stack
; accept
*(u64 *)(r10 - 8) = 5
r0 = *(u64 *)(r10 - 8)
exit
