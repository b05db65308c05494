; Lifecycles (issue 12, class 10): a spin lock released through the pointer it was
; taken with, references that release functions need, packet pointers a tail call
; invalidates, data_meta ranges. (References from sockmap/sockhash lookups: map_compat.s.)
; prog: sched_cls

=== unlock through a pointer from a second lookup of the same element
; map: hash key=4 value=8 entries=1 spinlock=0
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r7 = r0
r1 = r6
call 93
r1 = r7
call 94  ; error: bpf_spin_unlock of different lock
out: r0 = 0
exit

=== unlock through a copy made before the NULL check
; accept
; map: hash key=4 value=8 entries=1 spinlock=0
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r7 = r0
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
r1 = r7
call 94
out: r0 = 0
exit

=== unlock through a pointer spilled and filled under the lock
; accept
; map: hash key=4 value=8 entries=1 spinlock=0
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
*(u64 *)(r10 - 16) = r0
r1 = r0
call 93
r1 = *(u64 *)(r10 - 16)
call 94
out: r0 = 0
exit

=== unlock with two array lookups of a constant key
; map: array key=4 value=8 entries=1 spinlock=0
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r6 = r0
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r7 = r0
r1 = r6
call 93
r1 = r7
call 94  ; error: bpf_spin_unlock of different lock
r0 = 0
exit

=== sk_release of skb->sk, which is not a reference
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r1 = r2
call 86  ; error: must be referenced when passed to release function
out: r0 = 0
exit

=== sk_release of sk_fullsock(skb->sk)
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r1 = r2
call 95
if r0 == 0 goto out
r1 = r0
call 86  ; error: must be referenced when passed to release function
out: r0 = 0
exit

=== sk_release of sk_fullsock of a looked-up socket releases the lookup
; accept
r6 = r1
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -16
r1 = r6
r3 = 12
r4 = -1
r5 = 0
call 84
if r0 == 0 goto out
r7 = r0
r1 = r0
call 95
if r0 == 0 goto release
r1 = r0
call 86
r0 = 0
exit
release: r1 = r7
call 86
out: r0 = 0
exit

=== socket used after the release of its sk_fullsock
r6 = r1
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -16
r1 = r6
r3 = 12
r4 = -1
r5 = 0
call 84
if r0 == 0 goto out
r7 = r0
r1 = r0
call 95
if r0 == 0 goto release
r1 = r0
call 86
r0 = *(u32 *)(r7 + 4)  ; error: R7 invalid mem access 'scalar'
r0 = 0
exit
release: r1 = r7
call 86
out: r0 = 0
exit

=== packet pointer used after a tail call in the main program
; accept
; map: prog_array key=4 value=4 entries=1
r6 = r1
r7 = *(u32 *)(r6 + 76)
r8 = *(u32 *)(r6 + 80)
r2 = r7
r2 += 8
if r2 > r8 goto out
r1 = r6
ld_pseudo r2, 0x5, 0x0
r3 = 0
call 12
r0 = *(u8 *)(r7 + 0)
out: r0 = 0
exit

=== packet pointers reloaded after a tail call
; accept
; map: prog_array key=4 value=4 entries=1
r6 = r1
r1 = r6
ld_pseudo r2, 0x5, 0x0
r3 = 0
call 12
r7 = *(u32 *)(r6 + 76)
r8 = *(u32 *)(r6 + 80)
r2 = r7
r2 += 8
if r2 > r8 goto out
r0 = *(u8 *)(r7 + 0)
out: r0 = 0
exit

=== data_meta read within the range checked against data
; accept
r2 = *(u32 *)(r1 + 140)
r3 = *(u32 *)(r1 + 76)
r4 = r2
r4 += 8
if r4 > r3 goto out
r0 = *(u32 *)(r2 + 4)
out: r0 = 0
exit

=== data_meta read past the range checked against data
r2 = *(u32 *)(r1 + 140)
r3 = *(u32 *)(r1 + 76)
r4 = r2
r4 += 8
if r4 > r3 goto out
r0 = *(u32 *)(r2 + 6)  ; error: invalid access to packet, off=6 size=4, R2(id=0,off=6,r=8)
out: r0 = 0
exit

=== data_meta pointer used after xdp_adjust_head
; prog: xdp
r6 = r1
r7 = *(u32 *)(r6 + 8)
r3 = *(u32 *)(r6 + 0)
r4 = r7
r4 += 8
if r4 > r3 goto out
r1 = r6
r2 = 4
call 44
r0 = *(u32 *)(r7 + 0)  ; error: invalid mem access 'scalar'
out: r0 = 2
exit

=== data_meta range does not reach the packet data
; prog: xdp
r2 = *(u32 *)(r1 + 8)
r3 = *(u32 *)(r1 + 0)
r4 = r2
r4 += 8
if r4 > r3 goto out
r0 = *(u32 *)(r3 + 0)  ; error: invalid access to packet
out: r0 = 2
exit

=== data_meta write in xdp
; accept
; prog: xdp
r2 = *(u32 *)(r1 + 8)
r3 = *(u32 *)(r1 + 0)
r4 = r2
r4 += 4
if r4 > r3 goto out
r5 = 7
*(u32 *)(r2 + 0) = r5
out: r0 = 2
exit

=== data_meta in a cgroup_skb program
; prog: cgroup_skb
r2 = *(u32 *)(r1 + 140)  ; error: invalid bpf_context access off=140 size=4
r0 = 1
exit
