; Division and modulo by zero, signed division, shifts by out-of-range constants.
; prog: socket_filter

=== 32-bit division by a constant zero
w0 = 10
w0 /= 0  ; error: div by zero
exit

=== modulo by a constant zero
r0 = 10
r0 %= 0  ; error: div by zero
exit

=== 32-bit modulo by a constant zero
w0 = 10
w0 %= 0  ; error: div by zero
exit

=== signed division by a constant zero
r0 = 10
r0 s/= 0  ; error: div by zero
exit

=== signed modulo by a constant zero
r0 = 10
r0 s%= 0  ; error: div by zero
exit

=== signed division by minus one
; accept
r0 = 10
r0 s/= -1
exit

=== signed modulo by minus one
; accept
r0 = 10
r0 s%= -1
exit

=== division by a register that may be zero
; accept
call 7
r1 = r0
r0 = 100
r0 /= r1
exit

=== 32-bit signed division by a register
; accept
call 7
w1 = w0
w0 = 100
w0 s/= w1
exit

=== division of an uninitialized register
r0 /= 3  ; error: R0 !read_ok
exit

=== division of a pointer
r1 = r10
r1 /= 3  ; error: R1 pointer arithmetic with /= operator prohibited
r0 = 0
exit

=== modulo by a pointer
r0 = 10
r0 %= r10  ; error: R0 pointer arithmetic with %= operator prohibited
exit

=== shift by 63
; accept
r0 = 1
r0 <<= 63
exit

=== shift by 64
r0 = 1
r0 <<= 64  ; error: invalid shift 64
exit

=== 32-bit shift by 31
; accept
w0 = 1
w0 <<= 31
exit

=== 32-bit shift by 32
w0 = 1
w0 <<= 32  ; error: invalid shift 32
exit

=== arithmetic shift by a negative constant
r0 = 1
r0 s>>= -1  ; error: invalid shift -1
exit

=== right shift by a register of any value
; accept
call 7
r1 = r0
r0 = 100
r0 >>= r1
exit

=== modulo of two constants is not folded: both branches are walked (as the kernel does)
r1 = 7
r2 = 3
r1 %= r2
if r1 == 1 goto ok
r0 = *(u64 *)(r10 + 8)  ; error: invalid read from stack R10 off=8 size=8
ok: r0 = 0
exit
