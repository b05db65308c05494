; Tail calls: bpf_tail_call(ctx, prog_array, index).
; prog: socket_filter
; map: prog_array key=4 value=4 entries=4
; map: array key=4 value=8 entries=1

=== tail call then fall back
; accept
ld_pseudo r2, 0x5, 0x0
r3 = 1
call 12
r0 = 0
exit

=== tail call with an unknown index
; accept
r6 = r1
call 7
r3 = r0
r1 = r6
ld_pseudo r2, 0x5, 0x0
call 12
r0 = 0
exit

=== tail call through an array map
ld_pseudo r2, 0x5, 0x1
r3 = 0
call 12  ; error: expected prog array map for tail call
r0 = 0
exit

=== tail call without ctx
r1 = 0
ld_pseudo r2, 0x5, 0x0
r3 = 0
call 12  ; error: R1 type=scalar expected=ctx
r0 = 0
exit

=== tail call with a modified ctx
r1 += 8
ld_pseudo r2, 0x5, 0x0
r3 = 0
call 12  ; error: dereference of modified ctx ptr R1 off=8 disallowed
r0 = 0
exit

=== r1-r5 are clobbered after a tail call
ld_pseudo r2, 0x5, 0x0
r3 = 0
call 12
r0 = r3  ; error: R3 !read_ok
exit

=== lookup in a prog array
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1  ; error: cannot pass map_type 3 into func bpf_map_lookup_elem#1
r0 = 0
exit

=== tail call from a subprogram
; accept
call f
r0 = 0
exit
f: ld_pseudo r2, 0x5, 0x0
r3 = 0
call 12
r0 = 0
exit

=== tail call with a pointer as the index
; accept
ld_pseudo r2, 0x5, 0x0
r3 = r10
call 12
r0 = 0
exit

=== update of a prog array from a program
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u32 *)(r10 - 8) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -8
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2  ; error: cannot pass map_type 3 into func bpf_map_update_elem#2
r0 = 0
exit
