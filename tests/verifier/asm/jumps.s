; Refinement on both sides of every conditional jump, 64 and 32 bit: the refined
; register indexes a 16-byte map value (accepted iff 0 <= r0 <= 15 is proven).
; prog: socket_filter
; map: array key=4 value=16 entries=1

=== jgt: fall-through is below the bound
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
if r0 > 15 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jgt: fall-through one too high
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 > 16 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== jgt: taken side is above the bound
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 > 14 goto use
goto out
use: r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jgt: taken side bounded from both sides
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
if r0 > 7 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jge: fall-through
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
if r0 >= 16 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jge: fall-through one too high
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 >= 17 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== jge: taken side with an upper mask
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
if r0 >= 8 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jlt: taken side is below the bound
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
if r0 < 16 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jlt: taken side one too high
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 < 17 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== jlt: fall-through is above
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 < 16 goto out
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jle: taken side
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
if r0 <= 15 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jle: taken side one too high
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 <= 16 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== jle: fall-through
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
if r0 <= 3 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jeq: taken side is the constant
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
if r0 == 9 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jeq: taken side constant out of range
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 == 16 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== jeq: fall-through learns nothing
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 == 9 goto out
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jne: fall-through is the constant
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
if r0 != 9 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jne: taken side learns nothing
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 != 9 goto use
goto out
use: r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jne: excluding the upper end of a range
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
r0 += 1
if r0 == 16 goto out
r0 -= 1
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jne: excluding the bound shrinks the range
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
r0 += 1
if r0 == 16 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jsgt and jslt bound both sides
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
if r0 s> 15 goto out
if r0 s< 0 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jsgt alone leaves negatives
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 s> 15 goto out
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jsgt: taken side
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
if r0 s> 7 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jsge and jsle
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
if r0 s>= 16 goto out
if r0 s<= -1 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jslt then jsgt
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
if r0 s< 0 goto out
if r0 s> 15 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jsle: taken side of a non-negative value
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
if r0 s<= 15 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jsle: taken side may be negative
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 s<= 15 goto use
goto out
use: r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jset: taken side
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
if r0 & 0xf0 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=255 size=1
out: r0 = 0
exit

=== jset: fall-through clears the tested bits
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
if r0 & 0xf0 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== jset: fall-through with a narrow mask
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
if r0 & 0xe0 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=31 size=1
out: r0 = 0
exit

=== compare with a constant register
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
r1 = 15
if r0 > r1 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== compare with a constant register on the left
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
r1 = 15
if r1 < r0 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== compare with a bounded register
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
r7 = r0
call 7
r0 &= 15
r1 = r0
r0 = r7
if r0 > r1 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== compare two unknowns
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r7 = r0
call 7
if r0 > r7 goto out
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== bounds reach a copy
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
r1 = r0
if r1 > 15 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== copy made after the check
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
if r0 > 15 goto out
r1 = r0
r0 = r1
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jgt bounds the subregister only
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if w0 > 15 goto out
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jgt after zero extension
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
if w0 > 15 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jgt after a 32-bit op
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
w0 += 0
if w0 > 15 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jge
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
if w0 >= 16 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jlt: taken side
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
if w0 < 16 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jle: taken side one too high
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
if w0 <= 16 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== 32-bit jeq: taken side
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
if w0 == 3 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jeq without zero extension
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if w0 == 3 goto use
goto out
use: r6 += r0  ; error: value -9223372036854775805 makes map_value pointer be out of bounds
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jne
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
if w0 != 3 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jsgt and jslt
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
if w0 s> 15 goto out
if w0 s< 0 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jsgt alone
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
if w0 s> 15 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 unbounded memory access, make sure to bounds check any such access
out: r0 = 0
exit

=== 32-bit jsge and jsle
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
if w0 s>= 16 goto out
if w0 s<= -1 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit jset fall-through
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
if w0 & 0xfffffff0 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 32-bit compare with a register
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
w1 = 15
if w0 > w1 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== 64-bit bound gives the 32-bit bound
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
if r0 > 15 goto out
w0 = w0
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== a jump immediate 0xffffffff is sign-extended to -1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
if r0 > 0xffffffff goto out
if w0 s< 0 goto out
if w0 s> 15 goto out
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== bound learnt on r0 survives a spill
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
if r0 > 15 goto out
*(u64 *)(r10 - 16) = r0
r0 = *(u64 *)(r10 - 16)
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== two-sided range via jlt and jgt
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
if r0 < 4 goto out
if r0 > 15 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== check on a dead copy
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r1 = r0
r1 += 1
if r1 > 15 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 min value is negative, either use unsigned index or do a if (index >=0) check.
out: r0 = 0
exit

=== both branches use the bound
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
if r0 > 15 goto out
if r0 > 7 goto use
goto out
use: r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== a bound reaches a copy through a constant delta
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
r1 = r0
r1 += 1
if r1 > 16 goto out
if r1 < 1 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== a negative delta keeps the link
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
r1 = r0
r1 += -1
if r1 > 14 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== a second delta breaks the link
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r1 = r0
r1 += 1
r1 += 1
if r1 > 15 goto out
if r1 < 2 goto out
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== a subtracted constant is a delta too
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
r1 = r0
r1 -= 3
if r1 > 12 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== a 32-bit addition and the link
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
r1 = r0
w1 += 1
if w1 > 16 goto out
if w1 < 1 goto out
r6 += r0
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== the delta works in both directions
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
r1 = r0
r1 += 4
if r0 > 11 goto out
r6 += r1
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit
