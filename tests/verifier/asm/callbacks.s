; Callbacks: bpf_loop and bpf_for_each_map_elem, callback arguments and return values.
; prog: socket_filter
; map: array key=4 value=16 entries=4

=== bpf_loop callback returns 0
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

=== bpf_loop callback returns 1
; accept
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = 1
exit

=== bpf_loop callback returns -1
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = -1
exit  ; error: At callback return the register R0 has smin=-1 smax=-1 should have been in [0, 1]

=== bpf_loop callback returns an unknown value
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
call 7
exit  ; error: At callback return the register R0 has unknown scalar value should have been in [0, 1]

=== bpf_loop callback returns a masked value
; accept
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
call 7
r0 &= 1
exit

=== bpf_loop callback without r0
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
exit  ; error: R0 not a scalar value

=== bpf_loop callback uses its index
; accept
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = r1
r0 &= 1
exit

=== bpf_loop callback returns its index
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = r1
exit  ; error: At callback return the register R0 has unknown scalar value should have been in [0, 1]

=== bpf_loop callback reads a third argument
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = r3  ; error: R3 !read_ok
exit

=== bpf_loop callback context is a scalar
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = *(u64 *)(r2 + 0)  ; error: R2 invalid mem access 'scalar'
r0 = 0
exit

=== bpf_loop callback writes the caller's stack
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = 10
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 181
r0 = 0
exit
r1 = 1
*(u64 *)(r2 + 0) = r1
r0 = 0
exit

=== bpf_loop callback writes past the caller's slot
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = 10
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 181
r0 = 0
exit
r1 = 1
*(u64 *)(r2 + 8) = r1  ; error: invalid write to stack R2 off=0 size=8
r0 = 0
exit

=== bpf_loop callback calls a helper
; accept
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
call 7
r0 = 0
exit

=== bpf_loop callback with a bounded loop
; accept
r1 = 10
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = 0
l: r0 += 1
if r0 < 5 goto l
r0 = 0
exit

=== for_each_map_elem callback reads the value
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 164
r0 = 0
exit
r0 = *(u64 *)(r3 + 8)
r0 = 0
exit

=== for_each_map_elem callback reads past the value
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 164
r0 = 0
exit
r0 = *(u64 *)(r3 + 16)  ; error: invalid access to map value, value_size=16 off=16 size=8
r0 = 0
exit

=== for_each_map_elem callback reads the key
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 164
r0 = 0
exit
r0 = *(u32 *)(r2 + 0)
r0 = 0
exit

=== for_each_map_elem callback writes the value
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 164
r0 = 0
exit
r1 = 1
*(u64 *)(r3 + 0) = r1
r0 = 0
exit

=== for_each_map_elem callback writes the key
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 164
r0 = 0
exit
r1 = 1
*(u32 *)(r2 + 0) = r1  ; error: write to change key R2 not allowed
r0 = 0
exit

=== for_each_map_elem callback uses the context
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 164
r0 = 0
exit
r0 = *(u64 *)(r4 + 0)
r0 = 0
exit

=== for_each_map_elem callback returns 2
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 164
r0 = 0
exit
r0 = 2
exit  ; error: At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]

=== for_each_map_elem callback uses the map pointer
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
ld_pseudo r1, 0x5, 0x0
ld_pseudo r2, 0x4, 7
r3 = r10
r3 += -8
r4 = 0
call 164
r0 = 0
exit
r6 = r1
r0 = 0
exit

=== callback argument is not a function
r1 = 10
r2 = 0
r3 = 0
r4 = 0
call 181  ; error: R2 type=scalar expected=func
r0 = 0
exit

=== for_each_map_elem on a ring buffer
; map: ringbuf key=0 value=0 entries=4096
ld_pseudo r1, 0x5, 0x1
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 164  ; error: callback function not allowed for map
r0 = 0
exit
r0 = 0
exit

=== bpf_loop with an unknown count
; accept
call 7
r1 = r0
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = 0
exit

=== function pointer dereferenced
ld_pseudo r1, 0x4, 4
r0 = *(u64 *)(r1 + 0)  ; error: R1 invalid mem access 'func'
r0 = 0
exit
r0 = 0
exit

=== function pointer arithmetic
; accept
ld_pseudo r1, 0x4, 4
r1 += 8
r0 = 0
exit
r0 = 0
exit

=== function pointer spilled and passed to bpf_loop
; accept
ld_pseudo r1, 0x4, 9
*(u64 *)(r10 - 8) = r1
r1 = 10
r2 = *(u64 *)(r10 - 8)
r3 = 0
r4 = 0
call 181
r0 = 0
exit
r0 = 0
exit

=== function pointer as a map key
ld_pseudo r2, 0x4, 6
ld_pseudo r1, 0x5, 0x0
call 1  ; error: R2 type=func expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
r0 = 0
exit
r0 = 0
exit

=== callback that starts at main's last instruction
r1 = 10
ld_pseudo r2, 0x4, 5
r3 = 0
r4 = 0
call 181
r0 = 0  ; error: last insn is not an exit or jmp
exit

=== moved function pointer passed to bpf_loop
r1 = 10
ld_pseudo r2, 0x4, 7
r2 += 8
r3 = 0
r4 = 0
call 181  ; error: dereference of modified func ptr R2 off=8 disallowed
r0 = 0
exit
r0 = 0
exit

=== map pointer plus zero
; accept
ld_pseudo r1, 0x5, 0x0
r1 += 0
r2 = r10
r2 += -8
r3 = 0
*(u64 *)(r10 - 8) = r3
call 1
r0 = 0
exit
