; More unprivileged rules, each loaded into the kernel by an unprivileged caller
; (kernel_corpus.rs): pointer leaks into maps, helpers, the context and the return
; value, pointer comparisons, helpers and context fields kept for CAP_BPF/CAP_PERFMON.
; prog: socket_filter
; map: array key=4 value=16 entries=1

=== pointer compared with a scalar
; unprivileged
r1 = r10
if r1 > 5 goto +1  ; error: R1 pointer comparison prohibited
r0 = 0
exit

=== two pointers compared for equality
; unprivileged
r1 = r10
r1 += -8
if r1 == r10 goto +1  ; error: R10 pointer comparison prohibited
r0 = 0
exit

=== null check of a map value is allowed
; unprivileged
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +2
r1 = *(u64 *)(r0 + 0)
*(u64 *)(r0 + 8) = r1
r0 = 0
exit

=== pointer passed to a helper as a flag
; unprivileged
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u64 *)(r10 - 24) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -24
r4 = r10
ld_pseudo r1, 0x5, 0x0
call 2  ; error: R4 leaks addr into helper function
r0 = 0
exit

=== pointer stored into the context
; unprivileged
r2 = r10
*(u32 *)(r1 + 48) = r2  ; error: R2 leaks addr into ctx
r0 = 0
exit

=== spilled pointer as a helper's map key
; unprivileged
*(u64 *)(r10 - 8) = r10
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1  ; error: invalid read from stack R2 off -8+0 size 4
r0 = 0
exit

=== spilled pointer partly overwritten
; unprivileged
*(u64 *)(r10 - 8) = r10
*(u32 *)(r10 - 8) = 0  ; error: attempt to corrupt spilled pointer on stack
r0 = 0
exit

=== map value pointer returned
; unprivileged
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
exit  ; error: R0 leaks addr as return value

=== context pointer returned
; unprivileged
r0 = r1
exit  ; error: R0 leaks addr as return value

=== infinite loop is a back-edge
; unprivileged
r0 = 0
l: goto l  ; error: back-edge from insn 1 to 1
exit

=== trace_printk needs CAP_PERFMON
; unprivileged
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += -8
r2 = 8
call 6  ; error: program of this type cannot use helper bpf_trace_printk#6
r0 = 0
exit

=== probe_read is not for socket filters
; unprivileged
r1 = r10
r1 += -8
r2 = 8
r3 = 0
call 4  ; error: program of this type cannot use helper bpf_probe_read#4
r0 = 0
exit

=== base helpers are open to unprivileged callers
; unprivileged
; accept
call 5
r6 = r0
call 7
r0 += r6
r0 &= 1
exit

=== variable offset added to a stack pointer
; unprivileged
r1 = 0
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 8) = r1
call 7
r0 &= 4
r2 = r10
r2 += -12
r2 += r0  ; error: R2 variable stack access prohibited for !root, var_off=(0x0; 0x4) off=-12
ld_pseudo r1, 0x5, 0x0
call 1
r0 = 0
exit

=== cgroup_skb program unprivileged
; unprivileged
; accept
; prog: cgroup_skb
r0 = *(u32 *)(r1 + 0)
r0 = 1
exit

=== cgroup_skb packet pointers need CAP_BPF
; unprivileged
; prog: cgroup_skb
r2 = *(u32 *)(r1 + 76)  ; error: invalid bpf_context access off=76 size=4
r0 = 1
exit

=== stack pointer moved out of the stack
; unprivileged
r1 = r10
r1 += 8  ; error: R1 stack pointer arithmetic goes out of range, prohibited for !root; off=8
r0 = 0
exit

=== map value pointer moved past the value
; unprivileged
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +1
r0 += 16  ; error: R0 pointer arithmetic of map value goes out of range, prohibited for !root
r0 = 0
exit

=== map value pointer moved to its last byte
; unprivileged
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +2
r0 += 15
r1 = *(u8 *)(r0 + 0)
r0 = 0
exit

=== stack read below what was written
; unprivileged
r1 = 0
*(u64 *)(r10 - 8) = r1
r0 = *(u64 *)(r10 - 16)  ; error: invalid read from stack R10 off=-16 size=8
exit

=== stack written then read through a moved pointer
; unprivileged
; accept
r1 = 7
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -16
r0 = *(u64 *)(r2 + 0)
exit

=== a byte swap of a pointer, unprivileged
; unprivileged
r9 = r10
r9 = le16 r9  ; error: R9 pointer arithmetic prohibited
r0 = 0
exit

=== a negated pointer, unprivileged
; unprivileged
r9 = r10
r9 = -r9  ; error: R9 pointer arithmetic prohibited
r0 = 0
exit

=== a pointer negated in 32 bits, unprivileged
; unprivileged
r9 = r10
w9 = -w9  ; error: R9 pointer arithmetic prohibited
r0 = 0
exit

=== a negated pointer, privileged, is an unknown scalar
; accept
r9 = r10
r9 = -r9
r0 = 0
exit
