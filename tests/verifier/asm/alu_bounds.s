; Scalar bounds (tnum, s64/u64/s32/u32) through every ALU op: the result indexes a
; 16-byte map value, so a case is accepted iff the bounds prove 0 <= r0 <= 15.
; prog: socket_filter
; map: array key=4 value=16 entries=1

=== and with 15 bounds to [0, 15]
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== and with 16 leaves 16 possible
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 16
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== and with 31 is one bit too wide
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 31
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=31 size=1
out: r0 = 0
exit

=== or sets bits inside the window
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 |= 8
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== or sets a bit outside the window
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 |= 16
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== xor inside the window
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 ^= 8
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== xor outside the window
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 ^= 16
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== add keeps the sum in range
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 += 8
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== add one past the range
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 += 9
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== sub may go negative
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 -= 1
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 min value is negative, either use unsigned index or do a if (index >=0) check.
out: r0 = 0
exit

=== add then sub back
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 += 8
r0 -= 8
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== sub then add back across zero
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r0 -= 16
r0 += 16
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== mul of small ranges
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 3
r0 *= 5
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== mul one step too far
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 3
r0 *= 6
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=18 size=1
out: r0 = 0
exit

=== mul by a huge constant
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 0xff
r1 = 0x100000000 ll
r0 *= r1
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 unbounded memory access, make sure to bounds check any such access
out: r0 = 0
exit

=== lsh stays in range
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 <<= 1
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== lsh overflows the window
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r0 <<= 1
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=30 size=1
out: r0 = 0
exit

=== rsh by 60 leaves four bits
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 >>= 60
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== rsh by 59 leaves five bits
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 >>= 59
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=31 size=1
out: r0 = 0
exit

=== arsh by 60 may be negative
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 s>>= 60
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 min value is negative, either use unsigned index or do a if (index >=0) check.
out: r0 = 0
exit

=== arsh of a non-negative value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 0xff
r0 s>>= 4
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== div by a constant is not tracked
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 0xff
r0 /= 16
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== mod by a constant is not tracked
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 %= 16
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== mod then and
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 %= 16
r0 &= 15
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== neg of a non-negative range
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 = -r0
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 min value is negative, either use unsigned index or do a if (index >=0) check.
out: r0 = 0
exit

=== neg twice
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r0 = -r0
r0 = -r0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== and with a shifted mask
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 0xf0
r0 >>= 4
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== or then and
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 |= 1
r0 &= 15
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== and then add one
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 14
r0 += 1
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== sum of two bounded copies
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r1 = r0
r0 += r1
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== sum overflows the window
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r1 = r0
r0 += r1
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=30 size=1
out: r0 = 0
exit

=== sum of two independent values
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r7 = r0
call 7
r0 &= 7
r0 += r7
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== difference of two independent values
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r7 = r0
call 7
r0 &= 7
r0 -= r7
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 min value is negative, either use unsigned index or do a if (index >=0) check.
out: r0 = 0
exit

=== shift by a known register
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 7
r1 = 1
r0 <<= r1
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== shift by an unknown register
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 1
r7 = r0
call 7
r0 &= 1
r0 <<= r7
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== known constant in range
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 = 15
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== known constant out of range
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 = 16
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== constant folded through shifts
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 = -1
r0 >>= 60
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== xor with itself
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 ^= r0
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== sub of itself
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 -= r0
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== mul by zero
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 *= 0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== and with zero
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit and zero extends
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 &= 15
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit add past the range
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
w0 += 1
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== 32-bit sub wraps to a large value
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
w0 -= 1
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 unbounded memory access, make sure to bounds check any such access
out: r0 = 0
exit

=== 32-bit move then shift
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 = w0
r0 >>= 28
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit move alone is not enough
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 = w0
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 unbounded memory access, make sure to bounds check any such access
out: r0 = 0
exit

=== 32-bit rsh
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 >>= 28
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit lsh wraps
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
w0 <<= 28
w0 >>= 28
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit arsh of a sign bit
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 |= 0x80000000
w0 s>>= 28
r6 += r0  ; error: value 4294967288 makes map_value pointer be out of bounds
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit mul
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 &= 3
w0 *= 5
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit div is not tracked
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 &= 0xff
w0 /= 16
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit or
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 &= 7
w0 |= 8
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit xor
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 &= 7
w0 ^= 8
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit neg
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 &= 7
w0 = -w0
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 unbounded memory access, make sure to bounds check any such access
out: r0 = 0
exit

=== sign-extending move of a small value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r0 = (s8)r0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== sign-extending move may be negative
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 0xff
r0 = (s8)r0
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 min value is negative, either use unsigned index or do a if (index >=0) check.
out: r0 = 0
exit

=== 32-bit sign-extending move
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
w0 &= 15
w0 = (s16)w0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== sign extension of a 32-bit value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r0 = (s32)r0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== byte swap to little endian keeps a small value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r0 = le64 r0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== byte swap to big endian moves it
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r0 = be64 r0
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 unbounded memory access, make sure to bounds check any such access
out: r0 = 0
exit

=== le16 truncates to 16 bits
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 = le16 r0
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=65535 size=1
out: r0 = 0
exit

=== be16 of a constant
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 = 0x0f00
r0 = be16 r0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== bswap of a constant
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 = 0x0f00000000000000 ll
r0 = bswap64 r0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== and with a negative constant
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= -16
r0 &= 31
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== unsigned min and max both matter
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 |= 16
r0 &= 31
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit
