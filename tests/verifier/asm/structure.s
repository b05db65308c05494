; Structural checks (check_cfg / check_subprogs).
; prog: socket_filter

=== minimal program
; accept
r0 = 0
exit

=== fall through off the end
r0 = 0   ; error: last insn is not an exit or jmp

=== jump out of range forwards
goto +5  ; error: jump out of range from insn 0 to 6
exit

=== jump out of range backwards
r0 = 0
if r0 == 0 goto -3  ; error: jump out of range from insn 1 to -1
exit

=== jump into the middle of lddw
r0 = 0
if r0 == 0 goto +1  ; error: jump into the middle of ldimm64 insn 2
r1 = 0x1122334455667788 ll
exit

=== unreachable instruction
r0 = 0
exit
r0 = 1  ; error: unreachable insn 2
exit

=== unreachable code after unconditional jump
r0 = 0
goto +1
r0 = 1  ; error: unreachable insn 2
exit

=== bounded loop accepted
; accept
r0 = 0
l: r0 += 1
if r0 < 10 goto l
r0 = 0
exit

=== infinite loop
r0 = 0
l: r1 = 0   ; error: infinite loop detected at insn 1
goto l

=== loop on an unknown counter comes back to the same state
call 7
l: r0 += 1    ; error: infinite loop detected at insn 1
if r0 != 0 goto l
exit

=== long bounded loop exceeds the complexity limit
r0 = 0
l: r0 += 1
if r0 < 2000000 goto l   ; error: BPF program is too large. Processed 1000001 insn
exit

=== uninitialized register read
r0 = r2  ; error: R2 !read_ok
exit

=== exit without r0
exit  ; error: R0 !read_ok

=== frame pointer is read only
r10 = 0  ; error: frame pointer is read only
r0 = 0
exit

=== local call and return
; accept
r1 = 5
call f
exit
f: r0 = r1
r0 += 1
exit

=== callee sees no caller r6
r6 = 1
call f
exit
f: r0 = r6  ; error: R6 !read_ok
exit

=== r1-r5 are clobbered after a call
r1 = 1
call f
r0 = r1  ; error: R1 !read_ok
exit
f: r0 = 0
exit

=== call depth limit
call f1
exit
f1: call f2
exit
f2: call f3
exit
f3: call f4
exit
f4: call f5
exit
f5: call f6
exit
f6: call f7
exit
f7: call f8  ; error: the call stack of 9 frames is too deep
exit
f8: call f9
exit
f9: r0 = 0
exit

=== combined stack too large
*(u64 *)(r10 - 512) = r1  ; error: combined stack size of 2 calls is 768. Too large
call f
r0 = 0
exit
f: r1 = 0
*(u64 *)(r10 - 256) = r1
r0 = 0
exit

=== division by zero has defined semantics
; accept
call 7
r1 = 0
r0 /= r1
r0 %= r1
r2 = 10
w2 /= w1
r0 = 0
exit

=== division by a constant zero is refused
r2 = 10
r2 /= 0  ; error: div by zero
r0 = 0
exit

=== callee returns pointer to its own stack
call f
exit
f: r0 = r10
r0 += -8
exit  ; error: cannot return stack pointer to the caller
