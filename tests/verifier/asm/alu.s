; ALU and pointer arithmetic rules.
; prog: socket_filter

=== scalar arithmetic on unknowns
; accept
call 7
r0 *= 3
r0 <<= 2
r0 >>= 1
r0 s>>= 1
r0 ^= 0xff
r0 |= 1
r0 &= 0xffff
w0 += 1
w0 -= 7
r0 = -r0
exit

=== 32-bit ops zero extend
; accept
r0 = -1
w0 = w0
if r0 > 0xffffffff goto +1
exit
r1 = *(u64 *)(r10 - 8)
exit

=== constant folding decides branches
; accept
r1 = 6
r1 *= 7
if r1 == 42 goto +1
r0 = *(u64 *)(r10 - 8)
r0 = 0
exit

=== pointer times scalar
r1 *= 2  ; error: R1 pointer arithmetic with *= operator prohibited
r0 = 0
exit

=== bitwise on pointer
r1 &= 0xff  ; error: R1 bitwise operator &= on pointer prohibited
r0 = 0
exit

=== 32-bit pointer arithmetic
w1 += 4  ; error: R1 32-bit pointer arithmetic prohibited
r0 = 0
exit

=== subtract pointer from scalar
r2 = 10
r2 -= r1  ; error: R2 tried to subtract pointer from scalar
r0 = 0
exit

=== pointer arithmetic on map pointer
; map: array key=4 value=8 entries=1
ld_pseudo r1, 0x5, 0x0
r1 += 8  ; error: R1 pointer arithmetic on map_ptr prohibited
r0 = 0
exit

=== pointer plus unbounded scalar
; map: array key=4 value=8 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +4
r1 = *(u64 *)(r0 + 0)
r0 += r1  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = 0
exit
r0 = 0
exit

=== pointer minus pointer is a scalar
; accept
r2 = r10
r3 = r10
r3 += -8
r2 -= r3
r0 = r2
exit

=== dereference a scalar
r2 = 8
r0 = *(u64 *)(r2 + 0)  ; error: R2 invalid mem access 'scalar'
exit

=== 64-bit mov copies pointer
; accept
r6 = r1
r0 = *(u32 *)(r6 + 0)
exit

=== 32-bit mov of a pointer is a scalar
w2 = w1
r0 = *(u32 *)(r2 + 0)  ; error: R2 invalid mem access 'scalar'
exit

=== sign-extending move
; accept
r1 = 0xff
r2 = (s8)r1
if r2 == -1 goto +1
r0 = *(u64 *)(r10 - 8)
r0 = 0
exit

=== byte swap of a constant
; accept
r1 = 0x1234
r1 = be16 r1
if r1 == 0x3412 goto +1
r0 = *(u64 *)(r10 - 8)
r0 = 0
exit

=== 32-bit subtraction from a pointer gives a scalar (privileged)
; accept
r2 = 5
r3 = r1
w3 -= w2
r0 = 0
exit

=== 32-bit pointer minus pointer gives a scalar (privileged)
; accept
r2 = r10
r3 = r1
w3 -= w2
r0 = 0
exit

=== 32-bit addition to a pointer
r2 = 5
w1 += w2  ; error: R1 32-bit pointer arithmetic prohibited
r0 = 0
exit

=== 32-bit bitwise and on a pointer
r2 = 5
w1 &= w2  ; error: R1 32-bit pointer arithmetic prohibited
r0 = 0
exit
