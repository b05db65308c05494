; Program load flags (BPF_PROG_LOAD prog_flags): BPF_F_STRICT_ALIGNMENT checks every
; access for alignment (packets as if NET_IP_ALIGN were 2), BPF_F_ANY_ALIGNMENT
; undoes it; the test flags leave the verdict alone.
; prog: xdp
; attach: 37

=== strict alignment: a 4-byte packet read at data + 0
; flags: strict_alignment
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 > r3 goto +1
r0 = *(u32 *)(r2 + 0)  ; error: misaligned packet access off 2+0+0+0 size 4
r0 = 2
exit

=== strict alignment: a 4-byte packet read at data + 2
; accept
; flags: strict_alignment
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 > r3 goto +1
r0 = *(u32 *)(r2 + 2)
r0 = 2
exit

=== strict alignment: a 2-byte packet read through a variable offset
; flags: strict_alignment
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r5 = *(u32 *)(r1 + 12)
r5 &= 1
r2 += r5
r4 = r2
r4 += 8
if r4 > r3 goto +1
r0 = *(u16 *)(r2 + 0)  ; error: misaligned packet access off 2+(0x0; 0x1)+0+0 size 2
r0 = 2
exit

=== strict and any alignment: any wins
; accept
; flags: strict_alignment any_alignment
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 > r3 goto +1
r0 = *(u32 *)(r2 + 0)
r0 = 2
exit

=== without flags: the same read is fine
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 > r3 goto +1
r0 = *(u32 *)(r2 + 1)
r0 = 2
exit

=== strict alignment: a map value read at an odd offset
; flags: strict_alignment
; map: array key=4 value=16 entries=1
ld_pseudo r2, 0x6, 0x0, 0x0
r0 = *(u32 *)(r2 + 6)  ; error: misaligned value access off 0+0+6 size 4
r0 = 2
exit

=== strict alignment: a map value read, aligned
; accept
; flags: strict_alignment
; map: array key=4 value=16 entries=1
ld_pseudo r2, 0x6, 0x0, 0x0
r0 = *(u32 *)(r2 + 8)
r0 = 2
exit

=== test flags change nothing
; accept
; flags: test_state_freq test_rnd_hi32 test_reg_invariants
r0 = 2
exit
