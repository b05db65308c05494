; Null checks through register ids: copies, spills, comparisons in every form.
; prog: socket_filter
; map: hash key=4 value=16 entries=4
; map: hash key=4 value=16 entries=4

=== check with jne
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 != 0 goto ok
exit
ok: r0 = *(u64 *)(r0 + 0)
r0 = 0
exit

=== use on the null side
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 != 0 goto out
r0 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'scalar'
out: r0 = 0
exit

=== null side is a known zero
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 != 0 goto out
r1 = r10
r1 += r0
r2 = 1
*(u64 *)(r1 - 8) = r2
out: r0 = 0
exit

=== check through a copy made before the check
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r6 = r0
r7 = r0
if r7 == 0 goto out
r0 = *(u64 *)(r6 + 0)
out: r0 = 0
exit

=== copy made after the check
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r0 = *(u64 *)(r6 + 0)
out: r0 = 0
exit

=== two lookups, the other one checked
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r6 = r0
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1
if r0 == 0 goto out
r0 = *(u64 *)(r6 + 0)  ; error: R6 invalid mem access 'map_value_or_null'
out: r0 = 0
exit

=== two lookups, both checked
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r6 = r0
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1
if r0 == 0 goto out
if r6 == 0 goto out
r1 = *(u64 *)(r0 + 0)
r0 = *(u64 *)(r6 + 0)
out: r0 = 0
exit

=== compare with a non-zero constant learns nothing
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 1 goto out
r0 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'map_value_or_null'
out: r0 = 0
exit

=== 32-bit null check
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if w0 == 0 goto out
r0 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'map_value_or_null'
out: r0 = 0
exit

=== check with jgt against zero
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 > 0 goto ok
exit
ok: r0 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'map_value_or_null'
r0 = 0
exit

=== maybe-null pointer compared with a register holding zero
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r1 = 0
if r0 == r1 goto out
r0 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'map_value_or_null'
out: r0 = 0
exit

=== maybe-null pointer stored to a map value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r6 = r0
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1
if r0 == 0 goto out
*(u64 *)(r0 + 0) = r6
out: r0 = 0
exit

=== maybe-null pointer passed as a helper's key
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r2 = r0
ld_pseudo r1, 0x5, 0x1
call 1  ; error: R2 type=map_value_or_null expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
r0 = 0
exit

=== checked value passed as a helper's key
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r2 = r0
ld_pseudo r1, 0x5, 0x1
call 1
out: r0 = 0
exit

=== check survives a helper call in callee-saved registers
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r6 = r0
call 7
if r6 == 0 goto out
r0 = *(u64 *)(r6 + 0)
out: r0 = 0
exit
