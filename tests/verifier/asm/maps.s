; Map pointers, map values, null checks.
; prog: socket_filter
; map: array key=4 value=16 entries=4

=== lookup with null check
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +1
r0 = *(u64 *)(r0 + 8)
r0 = 0
exit

=== lookup without null check
; map: hash key=4 value=16 entries=4
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1
r0 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'map_value_or_null'
r0 = 0
exit

=== null check through a copy
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r6 = r0
if r0 == 0 goto +1
r1 = *(u64 *)(r6 + 0)
r0 = 0
exit

=== null check inverted
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 != 0 goto +2
r0 = 0
exit
*(u64 *)(r0 + 8) = 1
r0 = 0
exit

=== arithmetic on maybe-null pointer
; map: hash key=4 value=16 entries=4
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1
r0 += 8  ; error: R0 pointer arithmetic on map_value_or_null prohibited, null-check it first
r0 = 0
exit

=== read past the value
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +1
r0 = *(u64 *)(r0 + 12)  ; error: invalid access to map value, value_size=16 off=12 size=8
r0 = 0
exit

=== negative offset into the value
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +1
r0 = *(u32 *)(r0 - 4)  ; error: invalid access to map value, value_size=16 off=-4 size=4
r0 = 0
exit

=== bounded variable index
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +5
r6 = r0
call 7
r0 &= 15
r6 += r0
r0 = *(u8 *)(r6 + 0)
r0 = 0
exit

=== variable index one too large
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +6
r6 = r0
call 7
if r0 > 14 goto +3
r6 += r0
r0 = *(u16 *)(r6 + 1)  ; error: R6 max value is outside of the allowed memory range
exit
r0 = 0
exit

=== index checked with a signed compare only
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +6
r6 = r0
call 7
if r0 s> 8 goto +3
r6 += r0  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r6 + 0)
exit
r0 = 0
exit

=== key pointer uninitialized
; unprivileged
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1  ; error: invalid read from stack R2 off=-4 size=4
r0 = 0
exit

=== key is not a pointer
r2 = 0
ld_pseudo r1, 0x5, 0x0
call 1  ; error: R2 type=scalar expected=fp
r0 = 0
exit

=== first argument is not a map
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = 0
call 1  ; error: R1 type=scalar expected=map_ptr
r0 = 0
exit

=== update with value on the stack
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u64 *)(r10 - 24) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -24
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2
r0 = 0
exit

=== update with a value too short
; unprivileged
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -16
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2  ; error: invalid read from stack R3 off -16+8 size 16
r0 = 0
exit

=== global data pointer
; accept
; map: array key=4 value=8 entries=1
ld_pseudo r1, 0x6, 0x1, 0x4
r0 = *(u32 *)(r1 + 0)
exit

=== direct value address of a multi-element array
ld_pseudo r1, 0x6, 0x0, 0x4  ; error: invalid access to map value pointer, value_size=16 off=4
r0 = *(u32 *)(r1 + 0)
exit

=== direct value address of a hash map
; map: hash key=4 value=16 entries=4
ld_pseudo r1, 0x6, 0x1, 0x0  ; error: no direct value access support for this map type
r0 = 0
exit

=== read-only map write
; map: array key=4 value=8 entries=1 frozen
ld_pseudo r1, 0x6, 0x1, 0x0
r2 = 1
*(u32 *)(r1 + 0) = r2  ; error: write into map forbidden
r0 = 0
exit

=== invalid map index
ld_pseudo r1, 0x5, 0x7  ; error: is not pointing to valid bpf_map
r0 = 0
exit

=== ring buffer map passed to map_lookup_elem
; map: ringbuf key=0 value=0 entries=4096
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1  ; error: invalid zero-sized read
r0 = 0
exit

=== index with a negative minimum
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +5
r6 = r0
call 7
r0 s>>= 60
r6 += r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 min value is negative, either use unsigned index or do a if (index >=0) check.
r0 = 0
exit

=== array lookup with a constant in-range key cannot fail
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r0 = *(u64 *)(r0 + 0)
r0 = 0
exit

=== array lookup with an out-of-range key may fail
r1 = 4
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r0 = *(u64 *)(r0 + 0)  ; error: R0 invalid mem access 'map_value_or_null'
r0 = 0
exit

=== map fd in code no path reaches
; map: hash key=4 value=16 entries=4
r1 = 0
if r1 != 0 goto +3
r0 = 0
exit
ld_pseudo r1, 0x5, 0x9  ; error: is not pointing to valid bpf_map
r0 = 0
exit

=== direct value address out of range in code no path reaches
; map: array key=4 value=8 entries=1
r1 = 0
if r1 != 0 goto +3
r0 = 0
exit
ld_pseudo r1, 0x6, 0x1, 0x8  ; error: invalid access to map value pointer, value_size=8 off=8
r0 = 0
exit

=== direct value address into a hash map in code no path reaches
; map: hash key=4 value=8 entries=1
r1 = 0
if r1 != 0 goto +3
r0 = 0
exit
ld_pseudo r1, 0x6, 0x1, 0x0  ; error: no direct value access support for this map type
r0 = 0
exit
