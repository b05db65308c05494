; Stack slots: spill and fill of scalars and pointers, misc, zero and invalid bytes,
; bounds of fixed and variable offsets.
; prog: socket_filter
; map: array key=4 value=16 entries=1

=== spilled constant fills back as the constant
; accept
r1 = 15
*(u64 *)(r10 - 8) = r1
r2 = *(u64 *)(r10 - 8)
r3 = r10
r3 += -16
r3 += r2
*(u8 *)(r3 + 0) = 1
r0 = 0
exit

=== spilled constant too large for the window
r1 = 16
*(u64 *)(r10 - 8) = r1
r2 = *(u64 *)(r10 - 8)
r3 = r10
r3 += -16
r3 += r2
*(u8 *)(r3 + 0) = 1  ; error: invalid write to stack R3 off=0 size=1
r0 = 0
exit

=== 32-bit spill of a 32-bit value keeps it
; accept
w1 = 7
*(u32 *)(r10 - 8) = r1
r2 = *(u32 *)(r10 - 8)
r3 = r10
r3 += -16
r3 += r2
*(u8 *)(r3 + 0) = 1
r0 = 0
exit

=== narrow fill of a spilled constant
; accept
r1 = 0x0102030405060708 ll
*(u64 *)(r10 - 8) = r1
r2 = *(u8 *)(r10 - 8)
r3 = r10
r3 += -16
r3 += r2
*(u8 *)(r3 + 0) = 1
r0 = 0
exit

=== spilled ctx pointer fills back as ctx
; accept
*(u64 *)(r10 - 8) = r1
r6 = *(u64 *)(r10 - 8)
r0 = *(u32 *)(r6 + 0)
exit

=== ctx pointer spilled at an odd offset
*(u64 *)(r10 - 12) = r1  ; error: misaligned stack access off 0+0+-12 size 8
r0 = 0
exit

=== part of a spilled pointer read back
*(u64 *)(r10 - 8) = r1
r6 = *(u32 *)(r10 - 8)  ; error: invalid size of register fill
r0 = 0
exit

=== byte store over a spilled pointer makes it data
*(u64 *)(r10 - 8) = r1
*(u8 *)(r10 - 8) = 0
r6 = *(u64 *)(r10 - 8)
r0 = *(u32 *)(r6 + 0)  ; error: R6 invalid mem access 'scalar'
exit

=== spilled map value pointer keeps its bounds
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
*(u64 *)(r10 - 16) = r0
r1 = *(u64 *)(r10 - 16)
r0 = *(u64 *)(r1 + 8)
out: r0 = 0
exit

=== spilled map value pointer read past the value
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
*(u64 *)(r10 - 16) = r0
r1 = *(u64 *)(r10 - 16)
r0 = *(u64 *)(r1 + 9)  ; error: invalid access to map value, value_size=16 off=9 size=8
out: r0 = 0
exit

=== null check reaches a spilled copy
; accept
; map: hash key=4 value=16 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1
*(u64 *)(r10 - 16) = r0
if r0 == 0 goto out
r1 = *(u64 *)(r10 - 16)
r0 = *(u64 *)(r1 + 0)
out: r0 = 0
exit

=== spilled maybe-null pointer filled without a check
; map: hash key=4 value=16 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x1
call 1
*(u64 *)(r10 - 16) = r0
r1 = *(u64 *)(r10 - 16)
r0 = *(u64 *)(r1 + 0)  ; error: R1 invalid mem access 'map_value_or_null'
r0 = 0
exit

=== stack pointer spilled and filled
; accept
r1 = r10
r1 += -16
*(u64 *)(r10 - 8) = r1
r2 = *(u64 *)(r10 - 8)
r3 = 5
*(u64 *)(r2 + 0) = r3
r0 = *(u64 *)(r10 - 16)
exit

=== frame pointer is not writable
r10 = 0  ; error: frame pointer is read only
r0 = 0
exit

=== lowest stack slot
; accept
r1 = 1
*(u64 *)(r10 - 512) = r1
r0 = *(u64 *)(r10 - 512)
exit

=== read below the stack
r0 = *(u64 *)(r10 - 520)  ; error: invalid read from stack R10 off=-520 size=8
exit

=== read straddling the frame pointer
r0 = *(u64 *)(r10 - 4)  ; error: misaligned stack access off 0+0+-4 size 8
exit

=== variable-offset read of initialized stack
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
call 7
r0 &= 7
r2 = r10
r2 += -16
r2 += r0
r0 = *(u8 *)(r2 + 0)
exit

=== variable-offset read past the frame
call 7
r0 &= 31
r2 = r10
r2 += -16
r2 += r0
r0 = *(u8 *)(r2 + 0)  ; error: invalid variable-offset read from stack R2 var_off=(0x0; 0x1f) off=-16 size=1
exit

=== variable-offset write with unbounded offset
call 7
r2 = r10
r2 += r0  ; error: math between fp pointer and register with unbounded min value is not allowed
*(u8 *)(r2 + 0) = 1
r0 = 0
exit

=== zero stored through a register reads as zero
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = *(u64 *)(r10 - 8)
r3 = r10
r3 += -16
r3 += r2
*(u8 *)(r3 + 0) = 1
r0 = 0
exit

=== misc bytes read as an unknown scalar
call 7
*(u32 *)(r10 - 8) = r0
*(u32 *)(r10 - 4) = r0
r2 = *(u64 *)(r10 - 8)
r3 = r10
r3 += r2  ; error: math between fp pointer and register with unbounded min value is not allowed
r0 = 0
exit

=== atomic add on the stack
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = 1
lock *(u64 *)(r10 - 8) += r2
r0 = *(u64 *)(r10 - 8)
exit

=== atomic add on a spilled pointer
; accept
*(u64 *)(r10 - 8) = r1
r2 = 1
lock *(u64 *)(r10 - 8) += r2
r0 = 0
exit

=== atomic fetch returns the old value
; accept
r1 = 3
*(u64 *)(r10 - 8) = r1
r2 = 1
r2 = atomic_fetch_add((u64 *)(r10 - 8), r2)
r0 = r2
exit

=== unaligned stack pointer read of 8 bytes
r1 = 0
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 8) = r1
r0 = *(u64 *)(r10 - 12)  ; error: misaligned stack access off 0+0+-12 size 8
exit

=== stack pointer with a constant offset past the frame
r2 = r10
r2 += 8
r0 = *(u8 *)(r2 - 4)  ; error: invalid read from stack R2 off=4 size=1
exit

=== a fill wider than a 4-byte spill is not pruned against a whole spill
; flags: test_state_freq
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r7 = r0
call 7
r9 = r0
if r0 == 5 goto narrow
r6 = 0
*(u64 *)(r10 - 16) = r6
goto q
narrow: *(u32 *)(r10 - 12) = r9
r6 = 0
*(u32 *)(r10 - 16) = r6
q: r1 = *(u64 *)(r10 - 16)
r7 += r1  ; error: math between map_value pointer and register with unbounded min value is not allowed
r0 = *(u8 *)(r7 + 0)
out: r0 = 0
exit

=== 4-byte spills of different scalars that decide nothing
; accept
; flags: test_state_freq
call 7
r9 = r0
if r0 == 5 goto other
r6 = 0
*(u32 *)(r10 - 16) = r6
goto q
other: r6 = 100
*(u32 *)(r10 - 16) = r6
q: r0 = *(u32 *)(r10 - 16)
r0 = 0
exit
