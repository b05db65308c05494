; Direct packet access: ranges learnt from comparisons with data_end.
; prog: xdp

=== checked read
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto +1
r0 = *(u16 *)(r2 + 12)
r0 = 2
exit

=== unchecked read
r2 = *(u32 *)(r1 + 0)
r0 = *(u8 *)(r2 + 0)  ; error: invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)
r0 = 2
exit

=== read past the checked range
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto +1
r0 = *(u32 *)(r2 + 12)  ; error: invalid access to packet, off=12 size=4, R2(id=0,off=12,r=14)
r0 = 2
exit

=== read on the wrong branch
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto +2
r0 = 2
exit
r0 = *(u8 *)(r2 + 0)  ; error: invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)
r0 = 2
exit

=== end compared first
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r3 >= r4 goto +2
r0 = 1
exit
r0 = *(u64 *)(r2 + 0)
r0 = 2
exit

=== strict less-than gives one more byte
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 7
if r4 < r3 goto +2
r0 = 1
exit
r0 = *(u64 *)(r2 + 0)
r0 = 2
exit

=== write to checked packet
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 4
if r4 > r3 goto +1
*(u32 *)(r2 + 0) = 0
r0 = 2
exit

=== variable offset needs a new check
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 20
if r4 > r3 goto +5
r5 = *(u8 *)(r2 + 0)
r5 &= 15
r2 += r5
r0 = *(u8 *)(r2 + 0)  ; error: invalid access to packet, off=0 size=1
r0 = 2
exit

=== variable offset checked again
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 20
if r4 > r3 goto +7
r5 = *(u8 *)(r2 + 0)
r5 &= 15
r2 += r5
r4 = r2
r4 += 1
if r4 > r3 goto +1
r0 = *(u8 *)(r2 + 0)
r0 = 2
exit

=== pkt_end is not dereferenceable
r3 = *(u32 *)(r1 + 4)
r0 = *(u8 *)(r3 + 0)  ; error: R3 invalid mem access 'pkt_end'
exit

=== pointer arithmetic on pkt_end
r3 = *(u32 *)(r1 + 4)
r3 += -4  ; error: R3 pointer arithmetic on pkt_end prohibited
r0 = 2
exit

=== adjust_head invalidates packet pointers
r6 = r1
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto +5
r7 = r2
r1 = r6
r2 = 0
call 44
r0 = *(u8 *)(r7 + 0)  ; error: R7 invalid mem access 'scalar'
r0 = 2
exit
