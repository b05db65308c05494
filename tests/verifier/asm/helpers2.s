; Helper arguments against prototypes: map key/value sizes, memory + size pairs,
; constant and zero sizes, uninitialized output buffers, register clobbering.
; prog: kprobe
; map: hash key=8 value=16 entries=4

=== lookup with an 8-byte key on the stack
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
r0 = 0
exit

=== lookup with a key that runs past the stack
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1  ; error: invalid read from stack R2 off=-4 size=8
r0 = 0
exit

=== delete with a key from a map value
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r2 = r0
ld_pseudo r1, 0x5, 0x0
call 3
out: r0 = 0
exit

=== update with a value from the stack of the right size
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 24) = r1
r2 = r10
r2 += -8
r3 = r10
r3 += -24
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2
r0 = 0
exit

=== update with a value that runs past the stack
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
r3 = r10
r3 += -8
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2  ; error: invalid read from stack R3 off=-8 size=16
r0 = 0
exit

=== update flags in a register
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 24) = r1
r2 = r10
r2 += -8
r3 = r10
r3 += -24
call 7
r4 = r0
ld_pseudo r1, 0x5, 0x0
r2 = r10
r2 += -8
r3 = r10
r3 += -24
call 2
r0 = 0
exit

=== probe_read_kernel into uninitialized stack
; accept
r1 = r10
r1 += -32
r2 = 32
r3 = 0
call 113
r0 = *(u64 *)(r10 - 8)
exit

=== probe_read_kernel with size zero
; accept
r1 = r10
r1 += -8
r2 = 0
r3 = 0
call 113
r0 = 0
exit

=== probe_read_kernel with a null buffer and size zero
r1 = 0
r2 = 0
r3 = 0
call 113  ; error: R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
r0 = 0
exit

=== probe_read_kernel with a null buffer and size eight
r1 = 0
r2 = 8
r3 = 0
call 113  ; error: R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
r0 = 0
exit

=== probe_read_kernel size from a masked register
; accept
call 7
r2 = r0
r2 &= 31
r1 = r10
r1 += -32
r3 = 0
call 113
r0 = 0
exit

=== probe_read_kernel size may exceed the buffer
call 7
r2 = r0
r2 &= 63
r1 = r10
r1 += -32
r3 = 0
call 113  ; error: invalid write to stack R1 off=-32 size=63
r0 = 0
exit

=== probe_read_kernel into a map value
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = r0
r2 = 16
r3 = 0
call 113
out: r0 = 0
exit

=== probe_read_kernel past a map value
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = r0
r1 += 8
r2 = 16
r3 = 0
call 113  ; error: invalid access to map value, value_size=16 off=8 size=16
out: r0 = 0
exit

=== probe_read_kernel into the context
r2 = 8
r3 = 0
call 113  ; error: R1 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
r0 = 0
exit

=== get_current_comm into a stack buffer
; accept
r1 = r10
r1 += -16
r2 = 16
call 16
r0 = 0
exit

=== get_current_comm with a pointer as the size
r1 = r10
r1 += -16
r2 = r10
call 16  ; error: R2 type=fp expected=scalar
r0 = 0
exit

=== trace_printk of an initialized format
; accept
r1 = 0x0a6425 ll
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += -8
r2 = 8
r3 = 5
call 6
r0 = 0
exit

=== helper result is an unknown scalar
call 14
r1 = r10
r1 += r0  ; error: math between fp pointer and register with unbounded min value is not allowed
r0 = 0
exit

=== get_smp_processor_id has a bounded result
; accept
r6 = r1
call 8
r0 = 0
exit

=== ringbuf_reserve flags in a register
; accept
; map: ringbuf key=0 value=0 entries=4096
call 7
r3 = r0
ld_pseudo r1, 0x5, 0x1
r2 = 8
call 131
if r0 == 0 goto out
r1 = r0
r2 = 0
call 133
out: r0 = 0
exit

=== ringbuf_reserve with a negative size
; accept
; map: ringbuf key=0 value=0 entries=4096
ld_pseudo r1, 0x5, 0x1
r2 = -8
r3 = 0
call 131
if r0 == 0 goto out
r1 = r0
r2 = 0
call 133
out: r0 = 0
exit

=== ringbuf_reserve with size zero
; accept
; map: ringbuf key=0 value=0 entries=4096
ld_pseudo r1, 0x5, 0x1
r2 = 0
r3 = 0
call 131
if r0 == 0 goto out
r1 = r0
r2 = 0
call 133
out: r0 = 0
exit

=== perf_event_output from the stack
; accept
; map: perf_event_array key=4 value=4 entries=2
r2 = 0
*(u64 *)(r10 - 8) = r2
ld_pseudo r2, 0x5, 0x1
r3 = 0xffffffff ll
r4 = r10
r4 += -8
r5 = 8
call 25
r0 = 0
exit

=== perf_event_output with an array map
; map: array key=4 value=4 entries=2
r2 = 0
*(u64 *)(r10 - 8) = r2
ld_pseudo r2, 0x5, 0x1
r3 = 0
r4 = r10
r4 += -8
r5 = 8
call 25  ; error: cannot pass map_type 2 into func bpf_perf_event_output#25
r0 = 0
exit

=== map lookup with a map value pointer as the map
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = r0
r2 = r10
r2 += -8
call 1  ; error: R1 type=map_value expected=map_ptr
out: r0 = 0
exit
