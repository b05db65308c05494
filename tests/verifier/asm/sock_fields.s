; Socket structures through their pointers (check_sock_access): __sk_buff->sk is a
; sock_common or NULL (bound_dev_if, family, addresses, ports, state,
; rx_queue_mapping; not type..priority), bpf_sk_fullsock gives a bpf_sock,
; bpf_tcp_sock a bpf_tcp_sock (4-byte fields, 8-byte byte counters), lookups a
; referenced bpf_sock; narrow loads only where bpf_sock_is_valid_access allows them;
; and the cgroup_sock context, a struct bpf_sock per attach type.
; prog: sched_cls

=== skb->sk without a NULL check
r2 = *(u64 *)(r1 + 168)
r3 = *(u32 *)(r2 + 4)  ; error: R2 invalid mem access 'sock_common_or_null'
r0 = 0
exit

=== skb->sk: family, bound_dev_if, state, rx_queue_mapping
; accept
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 4)
r3 = *(u32 *)(r2 + 0)
r3 = *(u32 *)(r2 + 72)
r3 = *(u32 *)(r2 + 76)
out: r0 = 0
exit

=== skb->sk: addresses and ports, narrowly
; accept
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u8 *)(r2 + 25)
r3 = *(u16 *)(r2 + 30)
r3 = *(u32 *)(r2 + 44)
r3 = *(u16 *)(r2 + 48)
r3 = *(u8 *)(r2 + 49)
r3 = *(u8 *)(r2 + 71)
out: r0 = 0
exit

=== skb->sk: type is a full socket field
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 8)  ; error: R2 invalid sock_common access off=8 size=4
out: r0 = 0
exit

=== skb->sk: priority is a full socket field
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 20)  ; error: R2 invalid sock_common access off=20 size=4
out: r0 = 0
exit

=== skb->sk: 8-byte load
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u64 *)(r2 + 0)  ; error: R2 invalid sock_common access off=0 size=8
out: r0 = 0
exit

=== skb->sk: past the end of bpf_sock
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 80)  ; error: R2 invalid sock_common access off=80 size=4
out: r0 = 0
exit

=== skb->sk: store
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = 0
*(u32 *)(r2 + 0) = r3  ; error: R2 cannot write into sock_common
out: r0 = 0
exit

=== skb->sk: read as 4 bytes from the context
r2 = *(u32 *)(r1 + 168)  ; error: invalid bpf_context access off=168 size=4
r0 = 0
exit

=== sk_fullsock without checking skb->sk
r1 = *(u64 *)(r1 + 168)
call 95  ; error: R1 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock
r0 = 0
exit

=== sk_fullsock result without a NULL check
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 95
r2 = *(u32 *)(r0 + 8)  ; error: R0 invalid mem access 'sock_or_null'
out: r0 = 0
exit

=== sk_fullsock: type, protocol, mark, priority, narrow family
; accept
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 95
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 8)
r2 = *(u32 *)(r0 + 12)
r2 = *(u32 *)(r0 + 16)
r2 = *(u32 *)(r0 + 20)
r2 = *(u16 *)(r0 + 4)
r2 = *(u8 *)(r0 + 12)
out: r0 = 0
exit

=== sk_fullsock: narrow load inside family
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 95
if r0 == 0 goto out
r2 = *(u8 *)(r0 + 5)  ; error: R0 invalid sock access off=5 size=1
out: r0 = 0
exit

=== sk_fullsock: narrow load of mark
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 95
if r0 == 0 goto out
r2 = *(u16 *)(r0 + 16)  ; error: R0 invalid sock access off=16 size=2
out: r0 = 0
exit

=== sk_fullsock: padding after dst_port
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 95
if r0 == 0 goto out
r2 = *(u16 *)(r0 + 50)  ; error: R0 invalid sock access off=50 size=2
out: r0 = 0
exit

=== sk_fullsock: misaligned dst_port
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 95
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 49)  ; error: R0 invalid sock access off=49 size=4
out: r0 = 0
exit

=== sk_fullsock of a scalar
r1 = 0
call 95  ; error: R1 type=scalar expected=sock_common, sock, tcp_sock, xdp_sock
r0 = 0
exit

=== tcp_sock: snd_cwnd, bytes_acked, icsk_retransmits
; accept
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 96
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 0)
r2 = *(u64 *)(r0 + 88)
r2 = *(u32 *)(r0 + 108)
out: r0 = 0
exit

=== tcp_sock: narrow load
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 96
if r0 == 0 goto out
r2 = *(u16 *)(r0 + 0)  ; error: R0 invalid tcp_sock access off=0 size=2
out: r0 = 0
exit

=== tcp_sock: bytes_received as 4 bytes
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 96
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 80)  ; error: R0 invalid tcp_sock access off=80 size=4
out: r0 = 0
exit

=== tcp_sock: past icsk_retransmits
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 96
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 112)  ; error: R0 invalid tcp_sock access off=112 size=4
out: r0 = 0
exit

=== tcp_sock of a full socket
; accept
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 95
if r0 == 0 goto out
r1 = r0
call 96
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 4)
out: r0 = 0
exit

=== sk_release of skb->sk
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 86  ; error: R1 must be referenced when passed to release function
out: r0 = 0
exit

=== sk_lookup_tcp result: fields, then released
; accept
r2 = r10
r2 += -16
r3 = 0
*(u64 *)(r2 + 0) = r3
*(u32 *)(r2 + 8) = r3
r3 = 12
r4 = 0
r5 = 0
call 84
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 16)
r2 = *(u8 *)(r0 + 72)
r1 = r0
call 86
out: r0 = 0
exit

=== sk_lookup_tcp result: store into it
r2 = r10
r2 += -16
r3 = 0
*(u64 *)(r2 + 0) = r3
*(u32 *)(r2 + 8) = r3
r3 = 12
r4 = 0
r5 = 0
call 84
if r0 == 0 goto out
r6 = r0
r2 = 0
*(u32 *)(r6 + 16) = r2  ; error: R6 cannot write into sock
r1 = r6
call 86
out: r0 = 0
exit

=== skc_lookup_tcp result is a sock_common
r2 = r10
r2 += -16
r3 = 0
*(u64 *)(r2 + 0) = r3
*(u32 *)(r2 + 8) = r3
r3 = 12
r4 = 0
r5 = 0
call 99
if r0 == 0 goto out
r6 = r0
r2 = *(u32 *)(r6 + 12)  ; error: R6 invalid sock_common access off=12 size=4
r1 = r6
call 86
out: r0 = 0
exit

=== atomic add into a socket
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
r2 = 1
lock *(u32 *)(r1 + 0) += r2  ; error: BPF_ATOMIC stores into R1 sock_common is not allowed
out: r0 = 0
exit

=== cgroup_skb reads skb->sk state
; accept
; prog: cgroup_skb
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 72)
out: r0 = 1
exit

=== cgroup_sock without an attach type: bound_dev_if written
; accept
; prog: cgroup_sock
r2 = 1
*(u32 *)(r1 + 0) = r2
r0 = 1
exit

=== cgroup_sock create: mark and priority written
; accept
; prog: cgroup_sock
; attach: 2
r2 = 1
*(u32 *)(r1 + 16) = r2
*(u32 *)(r1 + 20) = r2
r0 = 1
exit

=== cgroup_sock create: narrow read inside family
; prog: cgroup_sock
; attach: 2
r2 = *(u8 *)(r1 + 5)  ; error: invalid bpf_context access off=5 size=1
r0 = 1
exit

=== cgroup_sock create: narrow read of family and protocol
; accept
; prog: cgroup_sock
; attach: 2
r2 = *(u8 *)(r1 + 4)
r2 = *(u16 *)(r1 + 12)
r0 = 1
exit

=== cgroup_sock create: family written
; prog: cgroup_sock
; attach: 2
r2 = 2
*(u32 *)(r1 + 4) = r2  ; error: invalid bpf_context access off=4 size=4
r0 = 1
exit

=== cgroup_sock post_bind4: mark
; prog: cgroup_sock
; attach: 12
r2 = *(u32 *)(r1 + 16)  ; error: invalid bpf_context access off=16 size=4
r0 = 1
exit

=== cgroup_sock post_bind4: src_ip4 narrowly and src_port
; accept
; prog: cgroup_sock
; attach: 12
r2 = *(u8 *)(r1 + 27)
r2 = *(u32 *)(r1 + 44)
r0 = 1
exit

=== cgroup_sock post_bind4: src_ip6
; prog: cgroup_sock
; attach: 12
r2 = *(u32 *)(r1 + 28)  ; error: invalid bpf_context access off=28 size=4
r0 = 1
exit

=== cgroup_sock post_bind6: src_port written
; prog: cgroup_sock
; attach: 13
r2 = 1
*(u32 *)(r1 + 44) = r2  ; error: invalid bpf_context access off=44 size=4
r0 = 1
exit

=== cgroup_sock release: dst_port padding
; prog: cgroup_sock
; attach: 34
r2 = *(u8 *)(r1 + 51)  ; error: invalid bpf_context access off=51 size=1
r0 = 1
exit

=== tcp_sock: upper half of bytes_received, which the kernel cannot convert
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 96
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 84)  ; error: verifier bug: error during ctx access conversion (0)
out: r0 = 0
exit

=== tcp_sock: upper half of bytes_received as 2 bytes
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 96
if r0 == 0 goto out
r2 = *(u16 *)(r0 + 84)  ; error: R0 invalid tcp_sock access off=84 size=2
out: r0 = 0
exit

=== get_listener_sock of skb->sk is a full socket or NULL
; accept
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 98
if r0 == 0 goto out
r2 = *(u32 *)(r0 + 8)
out: r0 = 0
exit

=== sk_fullsock of a sk_fullsock result without its NULL check
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 95
r1 = r0
call 95  ; error: R1 type=sock_or_null expected=sock_common, sock, tcp_sock, xdp_sock
out: r0 = 0
exit

=== skb->sk spilled and filled, NULL-checked through the copy
; accept
r2 = *(u64 *)(r1 + 168)
*(u64 *)(r10 - 8) = r2
r3 = *(u64 *)(r10 - 8)
if r3 == 0 goto out
r4 = *(u32 *)(r3 + 4)
out: r0 = 0
exit

=== skb->sk NULL-checked: the filled copy and the spilled slot share the check
; accept
r2 = *(u64 *)(r1 + 168)
*(u64 *)(r10 - 8) = r2
r3 = *(u64 *)(r10 - 8)
if r2 == 0 goto out
r4 = *(u32 *)(r3 + 4)
r5 = *(u64 *)(r10 - 8)
r4 = *(u32 *)(r5 + 4)
out: r0 = 0
exit

=== immediate store into a socket
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
*(u32 *)(r2 + 0) = 1  ; error: R2 cannot write into sock_common
out: r0 = 0
exit

=== tc may return a socket pointer
; accept
r0 = *(u64 *)(r1 + 168)
if r0 == 0 goto out
exit
out: r0 = 0
exit

=== cgroup_skb may not return a socket pointer
; prog: cgroup_skb
r0 = *(u64 *)(r1 + 168)
if r0 == 0 goto out
exit  ; error: At program exit the register R0 is not a known value (sock_common)
out: r0 = 0
exit
