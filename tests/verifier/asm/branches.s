; Conditional-jump refinement and branch pruning.
; prog: socket_filter
; map: array key=4 value=16 entries=4

=== impossible branch is not explored
; accept
r1 = 5
if r1 > 10 goto +2
r0 = 0
exit
r0 = *(u64 *)(r10 - 8)
exit

=== range refined by an unsigned compare
; accept
call 7
if r0 > 3 goto +5
r1 = r10
r1 += -16
r1 += r0
*(u8 *)(r1 + 0) = 1
r0 = 0
exit

=== 32-bit compare refines the subregister
; accept
call 7
w0 &= 0xff
if w0 > 3 goto +5
r1 = r10
r1 += -16
r1 += r0
*(u8 *)(r1 + 0) = 1
r0 = 0
exit

=== signed lower bound and upper bound
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +9
r6 = r0
call 7
r0 = (s32)r0
if r0 s< 0 goto +5
if r0 s> 15 goto +4
r6 += r0
r0 = *(u8 *)(r6 + 0)
r0 = 0
exit
r0 = 0
exit

=== bounds propagate to copies
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +8
r6 = r0
call 7
r7 = r0
if r0 > 15 goto +4
r6 += r7
r0 = *(u8 *)(r6 + 0)
r0 = 0
exit
r0 = 0
exit

=== jset refines bits
; accept
call 7
r0 &= 3
if r0 & 1 goto +2
r0 = 0
exit
if r0 == 0 goto +2
r0 = 0
exit
r1 = *(u64 *)(r10 - 8)
exit

=== not-equal narrows the edge
; accept
call 7
r0 &= 1
if r0 != 0 goto +2
r0 = 0
exit
if r0 == 1 goto +1
r1 = *(u64 *)(r10 - 8)
r0 = 0
exit

=== pointer compared with pointer when privileged
; accept
r2 = r10
if r1 == r2 goto +1
r0 = 0
r0 = 0
exit

=== many diamonds are pruned
; accept
call 7
r6 = r0
r7 = 0
if r6 & 1 goto +1
r7 = 0
if r6 & 2 goto +1
r7 = 0
if r6 & 4 goto +1
r7 = 0
if r6 & 8 goto +1
r7 = 0
if r6 & 16 goto +1
r7 = 0
if r6 & 32 goto +1
r7 = 0
if r6 & 64 goto +1
r7 = 0
if r6 & 128 goto +1
r7 = 0
r0 = r7
exit
