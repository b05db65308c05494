; Direct packet access: ranges from data_end comparisons in every form, data_meta,
; writes, helpers that invalidate packet pointers.
; prog: xdp

=== range from data + 8 <= data_end
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 <= r3 goto ok
r0 = 0
exit
ok: r0 = *(u64 *)(r2 + 0)
r0 = 0
exit

=== range from data_end >= data + 8
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r3 >= r4 goto ok
r0 = 0
exit
ok: r0 = *(u64 *)(r2 + 0)
r0 = 0
exit

=== range from data_end < data + 8 fall-through
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r3 < r4 goto bad
r0 = *(u64 *)(r2 + 0)
bad: r0 = 0
exit

=== range on the wrong side of data_end < data + 8
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r3 < r4 goto bad
r0 = 0
exit
bad: r0 = *(u64 *)(r2 + 0)  ; error: invalid access to packet, off=0 size=8, R2(id=0,off=0,r=0)
r0 = 0
exit

=== range from data + 8 > data_end with a 4-byte read at offset 4
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 > r3 goto bad
r0 = *(u32 *)(r2 + 4)
bad: r0 = 0
exit

=== read one byte past the range
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 > r3 goto bad
r0 = *(u8 *)(r2 + 8)  ; error: invalid access to packet, off=8 size=1, R2(id=0,off=8,r=8)
bad: r0 = 0
exit

=== range reaches a copy of data
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r5 = r2
r4 = r2
r4 += 8
if r4 > r3 goto bad
r0 = *(u64 *)(r5 + 0)
bad: r0 = 0
exit

=== range reaches the checked pointer itself
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 > r3 goto bad
r0 = *(u32 *)(r4 - 4)
bad: r0 = 0
exit

=== data_meta checked against data
; accept
r2 = *(u32 *)(r1 + 8)
r3 = *(u32 *)(r1 + 0)
r4 = r2
r4 += 4
if r4 > r3 goto bad
r0 = *(u32 *)(r2 + 0)
bad: r0 = 0
exit

=== data_meta read without a check
r2 = *(u32 *)(r1 + 8)
r0 = *(u32 *)(r2 + 0)  ; error: invalid access to packet, off=0 size=4, R2(id=0,off=0,r=0)
r0 = 0
exit

=== data_meta checked against data_end
r2 = *(u32 *)(r1 + 8)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 4
if r4 > r3 goto bad
r0 = *(u32 *)(r2 + 0)  ; error: invalid access to packet, off=0 size=4, R2(id=0,off=0,r=0)
bad: r0 = 0
exit

=== packet pointer compared with a 32-bit jump
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if w4 > w3 goto bad
r0 = *(u64 *)(r2 + 0)  ; error: invalid access to packet, off=0 size=8, R2(id=0,off=0,r=0)
bad: r0 = 0
exit

=== packet pointer plus an unknown scalar
r6 = r1
call 7
r2 = *(u32 *)(r6 + 0)
r2 += r0  ; error: math between pkt pointer and register with unbounded min value is not allowed
r0 = 0
exit

=== packet pointer plus a bounded scalar, then checked
; accept
r6 = r1
call 7
r0 &= 0xff
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r2 += r0
r4 = r2
r4 += 4
if r4 > r3 goto bad
r0 = *(u32 *)(r2 + 0)
bad: r0 = 0
exit

=== write to the packet after adjust_head
; accept
r6 = r1
r2 = 4
call 44
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r4 = r2
r4 += 4
if r4 > r3 goto bad
r1 = 0
*(u32 *)(r2 + 0) = r1
bad: r0 = 0
exit

=== old packet pointer after adjust_tail
; (bpf_xdp_adjust_meta would do, but some kernel builds refuse it in XDP programs)
r6 = r1
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r4 = r2
r4 += 4
if r4 > r3 goto bad
r1 = r6
r7 = r2
r2 = -4
call 65
r0 = *(u32 *)(r7 + 0)  ; error: R7 invalid mem access 'scalar'
bad: r0 = 0
exit

=== data_end plus a constant
r3 = *(u32 *)(r1 + 4)
r3 += 1  ; error: R3 pointer arithmetic on pkt_end prohibited
r0 = 0
exit

=== packet pointer subtracted from data_end
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r3 -= r2
r0 = r3
exit

=== packet pointer passed to a helper as memory
; accept
; map: array key=4 value=16 entries=1
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 4
if r4 > r3 goto bad
ld_pseudo r1, 0x5, 0x0
call 1
bad: r0 = 0
exit

=== tc reads the packet after a check
; accept
; prog: sched_cls
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 14
if r4 > r3 goto bad
r0 = *(u16 *)(r2 + 12)
bad: r0 = 0
exit

=== tc writes the packet after a check
; accept
; prog: sched_cls
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 14
if r4 > r3 goto bad
r1 = 0
*(u16 *)(r2 + 12) = r1
bad: r0 = 0
exit

=== cgroup_skb cannot write the packet
; prog: cgroup_skb
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 14
if r4 > r3 goto bad
r1 = 0
*(u16 *)(r2 + 12) = r1  ; error: cannot write into packet
bad: r0 = 1
exit

=== tc packet pointer invalidated by skb_pull_data
; prog: sched_cls
r6 = r1
r2 = *(u32 *)(r6 + 76)
r3 = *(u32 *)(r6 + 80)
r4 = r2
r4 += 14
if r4 > r3 goto bad
r7 = r2
r1 = r6
r2 = 14
call 39
r0 = *(u16 *)(r7 + 12)  ; error: R7 invalid mem access 'scalar'
bad: r0 = 0
exit

=== range larger than 0xffff
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 0x10000
if r4 > r3 goto bad
r0 = *(u8 *)(r2 + 0)  ; error: invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)
bad: r0 = 0
exit
