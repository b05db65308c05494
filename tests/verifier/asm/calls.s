; bpf-to-bpf calls: arguments, return values, callee-saved registers, frames,
; recursion, depth and stack limits.
; prog: socket_filter

=== argument passed in r1
; accept
r1 = 5
call f
exit
f: r0 = r1
exit

=== five arguments
; accept
r1 = 1
r2 = 2
r3 = 3
r4 = 4
r5 = 5
call f
exit
f: r0 = r5
r0 += r1
exit

=== uninitialized argument read in the callee
r1 = 1
call f
exit
f: r0 = r2  ; error: R2 !read_ok
exit

=== callee-saved registers survive the call
; accept
r6 = 7
call f
r0 = r6
exit
f: r6 = 1
r0 = 0
exit

=== the callee's r0 is the caller's r0
; accept
call f
r0 += 1
exit
f: r0 = 1
exit

=== callee exits without setting r0
call f
exit  ; error: R0 !read_ok
f: exit

=== callee writes the caller's stack
; accept
r1 = r10
r1 += -8
call f
r0 = *(u64 *)(r10 - 8)
exit
f: r2 = 3
*(u64 *)(r1 + 0) = r2
r0 = 0
exit

=== callee writes past the caller's stack pointer
r1 = r10
r1 += -8
call f
r0 = 0
exit
f: r2 = 3
*(u64 *)(r1 + 8) = r2  ; error: invalid write to stack R1 off=0 size=8
r0 = 0
exit

=== callee's own stack is separate
; accept
r1 = 1
*(u64 *)(r10 - 8) = r1
call f
r0 = *(u64 *)(r10 - 8)
exit
f: r1 = 2
*(u64 *)(r10 - 8) = r1
r0 = 0
exit

=== callee passes a ctx pointer on
; accept
call f
exit
f: r0 = *(u32 *)(r1 + 0)
exit

=== ctx passed explicitly
; accept
r6 = r1
r1 = r6
call f
exit
f: r0 = *(u32 *)(r1 + 0)
exit

=== direct recursion
call f
exit
f: call f  ; error: the call stack of 9 frames is too deep
r0 = 0
exit

=== mutual recursion
call f
exit
f: call g  ; error: the call stack of 9 frames is too deep
r0 = 0
exit
g: call f
r0 = 0
exit

=== eight frames deep
; accept
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
f7: r0 = 0
exit

=== nine frames deep
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
f8: r0 = 0
exit

=== 512 bytes of stack in the callee alone
; accept
call f
r0 = 0
exit
f: r1 = 0
*(u64 *)(r10 - 512) = r1
r0 = 0
exit

=== stack sizes add up across frames
r1 = 0  ; error: combined stack size of 2 calls is 528. Too large
*(u64 *)(r10 - 256) = r1
call f
r0 = 0
exit
f: r1 = 0
*(u64 *)(r10 - 264) = r1
r0 = 0
exit

=== jump from a subprogram into main
call f
r0 = 0
exit
f: r0 = 0
goto -3  ; error: jump out of range from insn 4 to 2

=== subprogram falls through into the next
; accept
call f
r0 = 0
exit
f: r0 = 0
g: r0 = 1
exit

=== last subprogram does not end with exit
call f
exit
f: r0 = 0  ; error: last insn is not an exit or jmp

=== callee returns a map value pointer
; accept
; map: array key=4 value=16 entries=1
call f
if r0 == 0 goto out
r0 = *(u64 *)(r0 + 8)
out: r0 = 0
exit
f: r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
exit

=== callee returns an unchecked map value
; map: hash key=4 value=16 entries=1
call f
r0 = *(u64 *)(r0 + 8)  ; error: R0 invalid mem access 'map_value_or_null'
r0 = 0
exit
f: r1 = 0
*(u32 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
exit

=== bounds from the callee reach the caller
; accept
; map: array key=4 value=16 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call f
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit
f: call 7
r0 &= 15
exit

=== subprogram called twice with different arguments
; accept
r1 = 1
call f
r6 = r0
r1 = 2
call f
r0 += r6
exit
f: r0 = r1
exit

=== r1 not readable after the call returns
r1 = 1
call f
r0 = r1  ; error: R1 !read_ok
exit
f: r0 = 0
exit

=== returning the caller's stack pointer
r1 = r10
r1 += -8
call f
r0 = 0
exit
f: r0 = r1
exit  ; error: cannot return stack pointer to the caller
