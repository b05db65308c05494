; bpf_spin_lock / bpf_spin_unlock. The kernel finds the lock in the map's BTF (the
; `spinlock=N` map field; bpfbox takes the offset from MapInfo::spin_lock_off).
; prog: sched_cls
; map: array key=4 value=8 entries=1 spinlock=0

=== lock, write, unlock
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
r1 = 1
*(u32 *)(r6 + 4) = r1
r1 = r6
call 94
out: r0 = 0
exit

=== lock twice
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
r1 = r6
call 93  ; error: function calls are not allowed while holding a lock
r1 = r6
call 94
out: r0 = 0
exit

=== unlock without a lock
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 94  ; error: bpf_spin_unlock without taking a lock
out: r0 = 0
exit

=== exit while holding the lock
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
r0 = 0
exit  ; error: BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region
out: r0 = 0
exit

=== helper call while holding the lock
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
call 7  ; error: function calls are not allowed while holding a lock
r1 = r6
call 94
out: r0 = 0
exit

=== unlock on one path only
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
r1 = *(u32 *)(r6 + 4)
if r1 == 0 goto skip
r1 = r6
call 94
skip: r0 = 0
exit  ; error: BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region
out: r0 = 0
exit

=== lock through a copy of the pointer
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r7 = r6
r1 = r7
call 93
r1 = r6
call 94
out: r0 = 0
exit

=== lock at an offset known after masking
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r7 = r0
call 7
r0 &= 0
r7 += r0
r1 = r7
call 93
r1 = r6
call 94
out: r0 = 0
exit

=== lock on a stack pointer
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r10
r1 += -8
call 93  ; error: R1 type=fp expected=map_value, ptr_
out: r0 = 0
exit

=== lock then exit without an unlock (constant-key lookup cannot fail)
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r1 = r0
call 93
r0 = 0
exit  ; error: BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region

=== lock in one element, unlock in another
; map: array key=4 value=8 entries=1 spinlock=0
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
r1 = 0
*(u32 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x1
call 1  ; error: function calls are not allowed while holding a lock
if r0 == 0 goto out2
r1 = r0
call 94
out2: r1 = r6
call 94
out: r0 = 0
exit

=== branches under the lock
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
r1 = *(u32 *)(r6 + 4)
if r1 > 5 goto big
r1 += 1
goto store
big: r1 = 0
store: *(u32 *)(r6 + 4) = r1
r1 = r6
call 94
out: r0 = 0
exit

=== bpf-to-bpf call under the lock
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93
call f
r1 = r6
call 94
out: r0 = 0
exit
f: r0 = 0
exit

=== direct read of the lock word
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r0 = *(u32 *)(r6 + 0)  ; error: bpf_spin_lock cannot be accessed directly by load/store
out: r0 = 0
exit

=== lock at an offset with no lock
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
r1 += 4
call 93  ; error: off 4 doesn't point to 'struct bpf_spin_lock' that is at 0
r1 = r6
r1 += 4
call 94
out: r0 = 0
exit

=== lock in a map without a spin lock
; map: array key=4 value=8 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
call 93  ; error: bpf_spin_lock
r1 = r6
call 94
out: r0 = 0
exit

=== socket filter with a spin-lock map
; prog: socket_filter
ld_pseudo r1, 0x5, 0x0  ; error: socket filter progs cannot use bpf_spin_lock yet
r0 = 0
exit

=== kprobe with a spin-lock map
; prog: kprobe
ld_pseudo r1, 0x5, 0x0  ; error: tracing progs cannot use bpf_spin_lock yet
r0 = 0
exit

=== store into the lock word
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = 0
*(u32 *)(r0 + 0) = r1  ; error: bpf_spin_lock cannot be accessed directly by load/store
out: r0 = 0
exit

=== 8-byte read that covers the lock word
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r0 = *(u64 *)(r0 + 0)  ; error: bpf_spin_lock cannot be accessed directly by load/store
out: r0 = 0
exit

=== read next to the lock word
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r0 = *(u32 *)(r0 + 4)
out: r0 = 0
exit

=== variable-offset read that may touch the lock
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 4
r6 += r0
r0 = *(u32 *)(r6 + 0)  ; error: bpf_spin_lock cannot be accessed directly by load/store
out: r0 = 0
exit

=== helper reads the lock word
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = r0
r2 = 8
r3 = 0
call 113  ; error: bpf_spin_lock cannot be accessed directly by load/store
out: r0 = 0
exit
