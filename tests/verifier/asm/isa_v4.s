; ISA v4 instructions: sign-extending loads and moves, signed division, byte swaps,
; 32-bit-offset jumps, and what the verifier learns from them.
; prog: socket_filter
; map: array key=4 value=16 entries=1

=== sign-extending byte load from a map value is in [-128, 127]
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = *(s8 *)(r0 + 0)
if r1 s< 0 goto out
if r1 > 15 goto out
r6 += r1
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== sign-extending byte load bounded by an unsigned compare
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = *(s8 *)(r0 + 0)
if r1 > 15 goto out
r6 += r1
r0 = *(u8 *)(r6 + 0)
out: r0 = 0
exit

=== sign-extending load from the stack
; accept
r1 = -1
*(u64 *)(r10 - 8) = r1
r0 = *(s32 *)(r10 - 8)
exit

=== sign-extending load from the context
; accept
r0 = *(s32 *)(r1 + 0)
exit

=== sign-extending load from the packet
; accept
; prog: xdp
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 2
if r4 > r3 goto out
r0 = *(s16 *)(r2 + 0)
out: r0 = 0
exit

=== signed division by a constant
; accept
r0 = -10
r0 s/= 3
exit

=== signed modulo of an unknown is unknown
call 7
r0 s%= 7
r1 = r10
r1 += r0  ; error: math between fp pointer and register with unbounded min value is not allowed
r0 = 0
exit

=== sign-extending move of a 16-bit value
; accept
call 7
r0 &= 0xffff
r0 = (s16)r0
r1 = r10
r1 += -16
if r0 s< 0 goto out
if r0 s> 15 goto out
r1 += r0
*(u8 *)(r1 + 0) = 1
out: r0 = 0
exit

=== bswap16 of a constant
; accept
r0 = 0x1234
r0 = bswap16 r0
exit

=== long jump over an instruction leaves it unreachable
r0 = 0
gotol +1
r0 = 1  ; error: unreachable insn 2
exit

=== long jump
; accept
call 7
if r0 > 5 goto +1
gotol +1
r0 = 0
exit

=== long jump out of range
r0 = 0
gotol +5  ; error: jump out of range from insn 1 to 7
exit
