; Spills and fills of scalars keep the link between the register and its stack copy
; as the kernel does (check_stack_write/read_fixed_off: linked when the value fits the
; spill and the fill), so a bound learnt on a filled copy bounds the original; and a
; maybe-NULL pointer found equal to one that cannot be NULL is not NULL.
; prog: socket_filter
; map: hash key=4 value=8 entries=4

=== equal to a non-NULL pointer makes non-NULL
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +9
r7 = r0
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 != r7 goto +1
r1 = *(u64 *)(r0 + 0)
r0 = 0
exit

=== not equal to a non-NULL pointer says nothing
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +9
r7 = r0
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == r7 goto +1
r1 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'map_value_or_null'
r0 = 0
exit

=== 64-bit spill keeps the link to the register
; accept
call 7
r6 = r0
*(u64 *)(r10 - 8) = r6
r1 = *(u64 *)(r10 - 8)
if r1 > 7 goto +5
r2 = r10
r2 += -16
r2 += r6
r3 = 0
*(u8 *)(r2 + 0) = r3
r0 = 0
exit

=== 32-bit spill keeps the link to the register
; accept
call 7
r6 = r0
r6 &= 0xffff
*(u32 *)(r10 - 8) = r6
r1 = *(u32 *)(r10 - 8)
if r1 > 7 goto +5
r2 = r10
r2 += -16
r2 += r6
r3 = 0
*(u8 *)(r2 + 0) = r3
r0 = 0
exit

=== 32-bit spill of a 64-bit value does not link
call 7
r6 = r0
r6 <<= 32
*(u32 *)(r10 - 8) = r6
r1 = *(u32 *)(r10 - 8)
if r1 > 7 goto +5
r2 = r10
r2 += -16
r2 += r6  ; error: math between fp pointer and register with unbounded min value is not allowed
r3 = 0
*(u8 *)(r2 + 0) = r3
r0 = 0
exit

=== 64-bit spill straight from r0 links them
; accept
call 7
*(u64 *)(r10 - 8) = r0
r1 = *(u64 *)(r10 - 8)
if r1 > 7 goto +5
r2 = r10
r2 += -16
r2 += r0
r3 = 0
*(u8 *)(r2 + 0) = r3
r0 = 0
exit

=== 32-bit fill of a 64-bit spill of a 16-bit value stays linked
; accept
call 7
r6 = r0
r6 &= 0xffff
*(u64 *)(r10 - 8) = r6
r1 = *(u32 *)(r10 - 8)
if r1 > 7 goto +5
r2 = r10
r2 += -16
r2 += r6
r3 = 0
*(u8 *)(r2 + 0) = r3
r0 = 0
exit
