; Helper calls: prototypes, memory + size pairs, references, callbacks.
; prog: kprobe
; map: ringbuf key=0 value=0 entries=4096

=== unknown helper
call 9999  ; error: invalid func unknown#9999
r0 = 0
exit

=== r0 of an integer helper is a scalar
; accept
call 5
r0 &= 1
exit

=== r1-r5 clobbered by a helper
r1 = 1
call 5
r0 = r2  ; error: R2 !read_ok
exit

=== probe_read_kernel into stack buffer
; accept
r1 = r10
r1 += -16
r2 = 16
r3 = 0
call 113
r0 = *(u64 *)(r10 - 16)
r0 = 0
exit

=== probe_read_kernel buffer too small
r1 = r10
r1 += -8
r2 = 16
r3 = 0
call 113  ; error: invalid write to stack R1 off=-8 size=16
r0 = 0
exit

=== size argument unbounded
call 7
w2 = w0
r1 = r10
r1 += -16
r3 = 0
call 113  ; error: R2 unbounded memory access
r0 = 0
exit

=== size argument bounded
; accept
call 7
r2 = r0
r2 &= 15
r1 = r10
r1 += -16
r3 = 0
call 113
r0 = 0
exit

=== size argument may be negative
call 7
r2 = r0
if r2 s> 16 goto +4
r1 = r10
r1 += -16
r3 = 0
call 113  ; error: R2 min value is negative
r0 = 0
exit

=== ringbuf_output of uninitialized buffer
; unprivileged
; prog: socket_filter
ld_pseudo r1, 0x5, 0x0
r2 = r10
r2 += -8
r3 = 8
r4 = 0
call 130  ; error: invalid read from stack R2 off=-8 size=8
r0 = 0
exit

=== trace_printk zero size
r1 = r10
r1 += -8
r2 = 0
call 6  ; error: R2 invalid zero-sized read
r0 = 0
exit

=== ringbuf reserve and submit
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto +5
r1 = 7
*(u64 *)(r0 + 8) = r1
r1 = r0
r2 = 0
call 132
r0 = 0
exit

=== ringbuf reserve and discard
; accept
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto +3
r1 = r0
r2 = 0
call 133
r0 = 0
exit

=== ringbuf record not released
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto +2
r1 = 7
*(u64 *)(r0 + 0) = r1
r0 = 0
exit  ; error: Unreleased reference id=2 alloc_insn=4

=== ringbuf record released on one path only
call 7
r6 = r0
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto +5
if r6 == 0 goto +3
r1 = r0
r2 = 0
call 132
r0 = 0
exit  ; error: Unreleased reference id=3 alloc_insn=6

=== ringbuf record written past its size
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto +5
*(u64 *)(r0 + 12) = 0  ; error: invalid access to memory, mem_size=16 off=12 size=8
r1 = r0
r2 = 0
call 132
r0 = 0
exit

=== ringbuf record used after submit
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
if r0 == 0 goto +6
r6 = r0
r1 = r0
r2 = 0
call 132
r0 = *(u64 *)(r6 + 0)  ; error: R6 invalid mem access 'scalar'
r0 = 0
exit

=== ringbuf reserve with a variable size
call 7
r2 = r0
ld_pseudo r1, 0x5, 0x0
r3 = 0
call 131  ; error: R2 is not a known constant
r0 = 0
exit

=== submit without reserve
r1 = r10
r1 += -8
r2 = 0
call 132  ; error: R1 type=fp expected=ringbuf_mem
r0 = 0
exit

=== submit of a maybe-null record
ld_pseudo r1, 0x5, 0x0
r2 = 16
r3 = 0
call 131
r1 = r0
r2 = 0
call 132  ; error: R1 type=ringbuf_mem_or_null expected=ringbuf_mem
r0 = 0
exit

=== bpf_loop with a callback
; accept
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = 0
exit

=== bpf_loop callback returns out of range
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = 2
exit  ; error: At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]

=== ctx argument must be the original ctx
; prog: xdp
r1 += 8
r2 = 0
call 44  ; error: dereference of modified ctx ptr R1 off=8 disallowed
r0 = 2
exit

=== tail call
; prog: xdp
; map: prog_array key=4 value=4 entries=4
; accept
ld_pseudo r2, 0x5, 0x1
r3 = 1
call 12
r0 = 2
exit
