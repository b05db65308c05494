; Map access flags: BPF_F_RDONLY_PROG (`rdonly_prog`) and BPF_F_WRONLY_PROG
; (`wronly_prog`) limit what programs may do with a map's values, through direct
; loads and stores, atomics, helpers given value memory, and helpers that change the
; map (check_map_access_type, record_func_map).
; prog: socket_filter

=== read-only map: loads are fine
; accept
; map: array key=4 value=8 entries=1 rdonly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +1
r0 = *(u32 *)(r0 + 4)
r0 = 0
exit

=== read-only map: a store into the value
; map: array key=4 value=8 entries=1 rdonly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +3
r0 += 4
r1 = 7
*(u16 *)(r0 + 2) = r1  ; error: write into map forbidden, value_size=8 off=6 size=2
r0 = 0
exit

=== read-only map: an immediate store through a direct value pointer
; map: array key=4 value=8 entries=1 rdonly_prog
ld_pseudo r1, 0x6, 0x0, 0x0
*(u64 *)(r1 + 0) = 1  ; error: write into map forbidden, value_size=8 off=0 size=8
r0 = 0
exit

=== read-only map: an atomic add
; map: hash key=4 value=8 entries=4 rdonly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +2
r1 = 1
lock *(u64 *)(r0 + 0) += r1  ; error: write into map forbidden, value_size=8 off=0 size=8
r0 = 0
exit

=== read-only map: bpf_map_update_elem
; map: hash key=4 value=8 entries=4 rdonly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -16
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2  ; error: write into map forbidden
r0 = 0
exit

=== read-only map: bpf_map_delete_elem
; map: hash key=4 value=8 entries=4 rdonly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 3  ; error: write into map forbidden
r0 = 0
exit

=== read-only map: a helper writes into the value
; map: array key=4 value=8 entries=1 rdonly_prog
r6 = r1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +5
r1 = r6
r2 = 0
r3 = r0
r4 = 4
call 26  ; error: write into map forbidden, value_size=8 off=0 size=4
r0 = 0
exit

=== read-only map: its value as a helper's source is fine
; accept
; map: array key=4 value=8 entries=1 rdonly_prog
; map: hash key=4 value=8 entries=4
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +6
r3 = r0
r2 = r10
r2 += -4
r4 = 0
ld_pseudo r1, 0x5, 0x1
call 2
r0 = 0
exit

=== write-only map: stores are fine
; accept
; map: array key=4 value=8 entries=1 wronly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +2
r1 = 3
*(u64 *)(r0 + 0) = r1
r0 = 0
exit

=== write-only map: a load from the value
; map: array key=4 value=8 entries=1 wronly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +1
r0 = *(u8 *)(r0 + 5)  ; error: read from map forbidden, value_size=8 off=5 size=1
r0 = 0
exit

=== write-only map: an atomic fetch-add reads
; map: array key=4 value=8 entries=1 wronly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +2
r1 = 1
r1 = atomic_fetch_add((u64 *)(r0 + 0), r1)  ; error: read from map forbidden, value_size=8 off=0 size=8
r0 = 0
exit

=== write-only map: its value as a helper's source
; map: array key=4 value=8 entries=1 wronly_prog
; map: hash key=4 value=8 entries=4
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +6
r3 = r0
r2 = r10
r2 += -4
r4 = 0
ld_pseudo r1, 0x5, 0x1
call 2  ; error: read from map forbidden, value_size=8 off=0 size=8
r0 = 0
exit

=== write-only map: a helper may write into the value
; accept
; map: array key=4 value=8 entries=1 wronly_prog
r6 = r1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +5
r1 = r6
r2 = 0
r3 = r0
r4 = 8
call 26
r0 = 0
exit

=== write-only map: update and delete are fine
; accept
; map: hash key=4 value=8 entries=4 wronly_prog
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -16
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 3
r0 = 0
exit
