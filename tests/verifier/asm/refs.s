; Reference tracking: a ring-buffer record from bpf_ringbuf_reserve must be submitted
; or discarded on every path, exactly once, unmodified.
; prog: kprobe
; map: ringbuf key=0 value=0 entries=4096

=== reserve, write and submit
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r1 = 1
*(u64 *)(r0 + 0) = r1
r1 = r0
r2 = 0
call 132
out: r0 = 0
exit

=== submit through a copy
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
r6 = r0
if r6 == 0 goto out
r1 = r6
r2 = 0
call 132
out: r0 = 0
exit

=== null check on the copy, submit of the original
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
r6 = r0
if r6 == 0 goto out
r1 = r0
r2 = 0
call 132
out: r0 = 0
exit

=== submit on one branch, discard on the other
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r6 = r0
call 7
r1 = r6
r2 = 0
if r0 > 5 goto disc
call 132
goto out
disc: call 133
out: r0 = 0
exit

=== double submit
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r6 = r0
r1 = r6
r2 = 0
call 132
r1 = r6
r2 = 0
call 132  ; error: R1 type=scalar expected=ringbuf_mem
out: r0 = 0
exit

=== submit of a moved record pointer
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto out
r0 += 8
r1 = r0
r2 = 0
call 132  ; error: R1 must have zero offset when passed to release func or trusted arg to kfunc
out: r0 = 0
exit

=== leak when the record is only null-checked
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r0 = 0
out: exit  ; error: Unreleased reference id=2 alloc_insn=4

=== leak of the null record is fine
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 != 0 goto sub
r0 = 0
exit
sub: r1 = r0
r2 = 0
call 133
r0 = 0
exit

=== two records both submitted
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
r6 = r0
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
r7 = r0
if r6 == 0 goto a
r1 = r6
r2 = 0
call 132
a: if r7 == 0 goto out
r1 = r7
r2 = 0
call 132
out: r0 = 0
exit

=== two records, one leaked
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
r6 = r0
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
r7 = r0
if r6 == 0 goto a
r1 = r6
r2 = 0
call 132
a: r0 = 0
exit  ; error: Unreleased reference id=4 alloc_insn=10

=== read of the record after discard
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r6 = r0
r1 = r0
r2 = 0
call 133
r0 = *(u64 *)(r6 + 0)  ; error: R6 invalid mem access 'scalar'
out: r0 = 0
exit

=== record read within its size
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto out
r6 = *(u64 *)(r0 + 8)
r1 = r0
r2 = 0
call 132
out: r0 = 0
exit

=== record read at a negative offset
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto out
r6 = *(u64 *)(r0 - 8)  ; error: invalid access to memory, mem_size=16 off=-8 size=8
r1 = r0
r2 = 0
call 132
out: r0 = 0
exit

=== record with a variable index
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 15
r1 = r6
r1 += r0
*(u8 *)(r1 + 0) = 1
r1 = r6
r2 = 0
call 132
out: r0 = 0
exit

=== record as a helper's memory argument
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto out
r6 = r0
r1 = r0
r2 = 16
r3 = 0
call 113
r1 = r6
r2 = 0
call 132
out: r0 = 0
exit

=== record too small for the helper's size
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r6 = r0
r1 = r0
r2 = 16
r3 = 0
call 113  ; error: invalid access to memory, mem_size=8 off=0 size=16
r1 = r6
r2 = 0
call 132
out: r0 = 0
exit

=== reserve from a map that is not a ring buffer
; map: array key=4 value=8 entries=1
ld_pseudo r1, 0x5, 0x1
r2 = 8
r3 = 0
call 131  ; error: cannot pass map_type 2 into func bpf_ringbuf_reserve#131
r0 = 0
exit

=== reserve with a size too large for the ring
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8192
r3 = 0
call 131
if r0 == 0 goto out
r1 = r0
r2 = 0
call 133
out: r0 = 0
exit

=== ringbuf_output from the stack
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
r2 = r10
r2 += -8
r3 = 8
r4 = 0
call 130
r0 = 0
exit

=== ringbuf_output past the stack buffer
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
r2 = r10
r2 += -8
r3 = 16
r4 = 0
call 130  ; error: invalid read from stack R2 off=-8 size=16
r0 = 0
exit

=== record pointer spilled to the stack and submitted
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
*(u64 *)(r10 - 8) = r0
r1 = *(u64 *)(r10 - 8)
r2 = 0
call 132
out: r0 = 0
exit

=== leak inside a subprogram
call f
r0 = 0
exit  ; error: Unreleased reference id=2 alloc_insn=7
f: ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
r0 = 0
exit

=== record released by a subprogram
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r1 = r0
call f
out: r0 = 0
exit
f: r2 = 0
call 132
r0 = 0
exit

=== record submitted after a loop
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r6 = r0
r7 = 0
l: r7 += 1
if r7 < 4 goto l
r1 = r6
r2 = 0
call 132
out: r0 = 0
exit

=== tail call with a record held
; map: prog_array key=4 value=4 entries=4
r6 = r1
ld_pseudo r1, 0x5, 0x0
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r7 = r0
r1 = r6
ld_pseudo r2, 0x5, 0x1
r3 = 0
call 12  ; error: Unreleased reference id=2 alloc_insn=5
r1 = r7
r2 = 0
call 133
out: r0 = 0
exit
