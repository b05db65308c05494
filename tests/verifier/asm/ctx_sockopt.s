; cgroup_sockopt context (struct bpf_sockopt, cg_sockopt_is_valid_access): sk is a
; socket, optval/optval_end bound a packet-like buffer the program may read and write,
; retval belongs to getsockopt (attach 21), level/optname are written by setsockopt
; (attach 22) only, optlen by both; every other field is read as 4 bytes.
; prog: cgroup_sockopt

=== getsockopt reads level, optname, optlen
; accept
; attach: 21
r2 = *(u32 *)(r1 + 24)
r2 = *(u32 *)(r1 + 28)
r2 = *(u32 *)(r1 + 32)
r0 = 1
exit

=== getsockopt reads and writes retval
; accept
; attach: 21
r2 = *(u32 *)(r1 + 36)
r2 = 0
*(u32 *)(r1 + 36) = r2
r0 = 1
exit

=== setsockopt reads retval
; attach: 22
r2 = *(u32 *)(r1 + 36)  ; error: invalid bpf_context access off=36 size=4
r0 = 1
exit

=== setsockopt writes retval
; attach: 22
r2 = 0
*(u32 *)(r1 + 36) = r2  ; error: invalid bpf_context access off=36 size=4
r0 = 1
exit

=== setsockopt writes level and optname
; accept
; attach: 22
r2 = 6
*(u32 *)(r1 + 24) = r2
*(u32 *)(r1 + 28) = r2
r0 = 1
exit

=== getsockopt writes optname
; attach: 21
r2 = 6
*(u32 *)(r1 + 28) = r2  ; error: invalid bpf_context access off=28 size=4
r0 = 1
exit

=== both write optlen
; accept
; attach: 22
r2 = 4
*(u32 *)(r1 + 32) = r2
r0 = 1
exit

=== optlen written as 8 bytes
; attach: 21
r2 = 4
*(u64 *)(r1 + 32) = r2  ; error: invalid bpf_context access off=32 size=8
r0 = 1
exit

=== narrow read of level
; attach: 21
r2 = *(u16 *)(r1 + 24)  ; error: invalid bpf_context access off=24 size=2
r0 = 1
exit

=== misaligned read of optname
; attach: 21
r2 = *(u32 *)(r1 + 26)  ; error: invalid bpf_context access off=26 size=4
r0 = 1
exit

=== read past the end
; attach: 21
r2 = *(u32 *)(r1 + 40)  ; error: invalid bpf_context access off=40 size=4
r0 = 1
exit

=== sk read as 4 bytes
; attach: 22
r2 = *(u32 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=4
r0 = 1
exit

=== sk written
; attach: 22
r2 = 0
*(u64 *)(r1 + 0) = r2  ; error: invalid bpf_context access off=0 size=8
r0 = 1
exit

=== sk is a socket: family and state without a NULL check
; accept
; attach: 22
r2 = *(u64 *)(r1 + 0)
r3 = *(u32 *)(r2 + 4)
r3 = *(u8 *)(r2 + 72)
r0 = 1
exit

=== sk is read-only
; attach: 22
r2 = *(u64 *)(r1 + 0)
r3 = 1
*(u32 *)(r2 + 16) = r3  ; error: R2 cannot write into sock
r0 = 1
exit

=== optval read as 4 bytes
; attach: 21
r2 = *(u32 *)(r1 + 8)  ; error: invalid bpf_context access off=8 size=4
r0 = 1
exit

=== optval_end written
; attach: 21
r2 = 0
*(u64 *)(r1 + 16) = r2  ; error: invalid bpf_context access off=16 size=8
r0 = 1
exit

=== optval read and written after the bounds check
; accept
; attach: 21
r2 = *(u64 *)(r1 + 8)
r3 = *(u64 *)(r1 + 16)
r4 = r2
r4 += 4
if r4 > r3 goto out
r5 = *(u32 *)(r2 + 0)
r5 += 1
*(u32 *)(r2 + 0) = r5
out: r0 = 1
exit

=== optval read without a bounds check
; attach: 22
r2 = *(u64 *)(r1 + 8)
r3 = *(u8 *)(r2 + 0)  ; error: invalid access to packet
r0 = 1
exit

=== optval read past the checked range
; attach: 22
r2 = *(u64 *)(r1 + 8)
r3 = *(u64 *)(r1 + 16)
r4 = r2
r4 += 2
if r4 > r3 goto out
r5 = *(u32 *)(r2 + 0)  ; error: invalid access to packet
out: r0 = 1
exit

=== high half of sk
; attach: 21
r2 = *(u32 *)(r1 + 4)  ; error: invalid bpf_context access off=4 size=4
r0 = 1
exit

=== high half of optval_end
; attach: 22
r2 = *(u32 *)(r1 + 20)  ; error: invalid bpf_context access off=20 size=4
r0 = 1
exit

=== optval compared with optval_end, nothing read
; accept
; attach: 22
r2 = *(u64 *)(r1 + 8)
r3 = *(u64 *)(r1 + 16)
if r2 > r3 goto out
r2 = 0
out: r0 = 1
exit
