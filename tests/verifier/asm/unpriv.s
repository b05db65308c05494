; Unprivileged mode: the kernel's rules for callers without CAP_BPF (no back-edges, no
; pointer leaks or comparisons, no uninitialized stack reads). kernel_corpus.rs loads
; these as uid 65534 to compare (see also unpriv2.s).
; prog: socket_filter
; map: array key=4 value=16 entries=1

=== bounded loop is a back-edge
; unprivileged
r0 = 0
l: r0 += 1
if r0 < 10 goto l  ; error: back-edge from insn 2 to 1
r0 = 0
exit

=== pointer returned to user space
; unprivileged
r0 = r10
exit  ; error: R0 leaks addr as return value

=== pointer minus pointer
; unprivileged
r1 = r10
r2 = r10
r1 -= r2  ; error: R1 pointer -= pointer prohibited
r0 = 0
exit

=== pointer stored into a map value
; unprivileged
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
*(u64 *)(r0 + 0) = r10  ; error: R10 leaks addr into map
out: r0 = 0
exit

=== 32-bit move of a pointer
; unprivileged
w1 = w10  ; error: R10 partial copy of pointer
r0 = 0
exit

=== scalar programs are fine
; unprivileged
; accept
r0 = 1
r0 += 2
exit

=== initialized stack read
; unprivileged
; accept
r1 = 0
*(u64 *)(r10 - 8) = r1
r0 = *(u64 *)(r10 - 8)
exit
