; Stack alignment (always strict, check_generic_ptr_alignment): a variable offset is
; aligned only when its low bits are known; helper arguments that must be aligned
; (MEM_ALIGNED, the former ARG_PTR_TO_LONG) are checked the same way.
; prog: socket_filter

=== variable stack offset with unknown low bits
call 7
r0 &= 4
r2 = r10
r2 += -16
r2 += r0
r1 = 0
*(u64 *)(r2 + 0) = r1  ; error: misaligned stack access off (0x0; 0x4)+-16+0 size 8
r0 = 0
exit

=== variable stack offset with known low bits
; accept
call 7
r0 &= 8
r2 = r10
r2 += -16
r2 += r0
r1 = 0
*(u64 *)(r2 + 0) = r1
r0 = 0
exit

=== variable stack offset, 4-byte store at a 4-aligned variable offset
; accept
call 7
r0 &= 12
r2 = r10
r2 += -16
r2 += r0
r1 = 0
*(u32 *)(r2 + 0) = r1
r0 = 0
exit

=== variable stack offset, byte stores are never misaligned
; accept
call 7
r0 &= 7
r2 = r10
r2 += -16
r2 += r0
r1 = 0
*(u8 *)(r2 + 0) = r1
r0 = 0
exit

=== variable stack offset plus a misaligned constant
call 7
r0 &= 8
r2 = r10
r2 += -16
r2 += r0
r1 = 0
*(u32 *)(r2 + 2) = r1  ; error: misaligned stack access off (0x0; 0x8)+-16+2 size 4
r0 = 0
exit

=== bpf_strtol result on a misaligned stack slot
; prog: cgroup_sysctl
; attach: 18
r1 = 0x31
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += -8
r2 = 2
r3 = 0
r4 = r10
r4 += -20
call 105  ; error: misaligned stack access off 0+-20+0 size 8
r0 = 1
exit

=== bpf_strtol result on an aligned stack slot
; accept
; prog: cgroup_sysctl
; attach: 18
r1 = 0x31
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += -8
r2 = 2
r3 = 0
r4 = r10
r4 += -24
call 105
r0 = 1
exit

=== bpf_strtol result in a misaligned map value
; prog: cgroup_sysctl
; attach: 18
; map: array key=4 value=16 entries=1
r1 = 0x31
*(u64 *)(r10 - 8) = r1
ld_pseudo r4, 0x6, 0x0, 0x4
r1 = r10
r1 += -8
r2 = 2
r3 = 0
call 105  ; error: misaligned value access off 0+4+0 size 8
r0 = 1
exit
