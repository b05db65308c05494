; Stack accesses: bounds, initialization, spill and fill.
; prog: socket_filter

=== write and read back
; accept
r1 = 42
*(u64 *)(r10 - 8) = r1
r0 = *(u64 *)(r10 - 8)
exit

=== read of uninitialized stack
; unprivileged
r0 = *(u64 *)(r10 - 8)  ; error: invalid read from stack R10 off=-8 size=8
exit

=== partially initialized read
; unprivileged
r1 = 1
*(u32 *)(r10 - 8) = r1
r0 = *(u64 *)(r10 - 8)  ; error: invalid read from stack off -8+4 size 8
exit

=== write below the stack
r1 = 0
*(u64 *)(r10 - 520) = r1  ; error: invalid write to stack R10 off=-520 size=8
r0 = 0
exit

=== write above the frame pointer
r1 = 0
*(u64 *)(r10 + 0) = r1  ; error: invalid write to stack R10 off=0 size=8
r0 = 0
exit

=== misaligned stack access
r1 = 0
*(u32 *)(r10 - 6) = r1  ; error: misaligned stack access
r0 = 0
exit

=== spill and fill a pointer keeps its type
; accept
*(u64 *)(r10 - 8) = r1
r2 = *(u64 *)(r10 - 8)
r0 = *(u32 *)(r2 + 0)
exit

=== narrow store of immediate then narrow read
; accept
*(u8 *)(r10 - 1) = 7
r0 = *(u8 *)(r10 - 1)
exit

=== zero store reads back as constant zero
; accept
*(u32 *)(r10 - 4) = 0
r0 = *(u32 *)(r10 - 4)
if r0 != 0 goto +1
exit
r1 = *(u64 *)(r10 - 16)
exit

=== stack pointer through a register
; accept
r2 = r10
r2 += -16
r1 = 3
*(u64 *)(r2 + 8) = r1
r0 = *(u64 *)(r10 - 8)
exit

=== spilled scalar keeps its bounds
; accept
call 7
r0 &= 7
*(u64 *)(r10 - 8) = r0
r1 = *(u64 *)(r10 - 8)
r2 = r10
r2 += -16
r2 += r1
*(u8 *)(r2 + 0) = 1
r0 = 0
exit

=== variable stack offset beyond the frame
call 7
r0 &= 15
r2 = r10
r2 += -8
r2 += r0
*(u8 *)(r2 + 0) = 1  ; error: invalid variable-offset write to stack R2
r0 = 0
exit

=== privileged programs may read uninitialized stack
; accept
r0 = *(u64 *)(r10 - 8)
r0 = 0
exit
