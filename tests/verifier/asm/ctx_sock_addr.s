; cgroup_sock_addr context (struct bpf_sock_addr, sock_addr_is_valid_access): the
; addresses of the attach type's family only (bind 8/9, connect 10/11, sendmsg
; 14/15, recvmsg 19/20, getpeername 29/30, getsockname 31/32), msg_src_ip* in
; sendmsg only; narrow reads of addresses and port, 8-byte accesses inside the IPv6
; arrays; user_family/family/type/protocol read-only and 4 bytes; sk a socket.
; prog: cgroup_sock_addr

=== connect4 reads and rewrites user_ip4 and user_port
; accept
; attach: 10
r2 = *(u32 *)(r1 + 4)
r3 = *(u32 *)(r1 + 24)
r2 = 0x0100007f
*(u32 *)(r1 + 4) = r2
r2 = 0x5000
*(u32 *)(r1 + 24) = r2
r0 = 1
exit

=== connect4 narrow reads of user_ip4 and user_port
; accept
; attach: 10
r2 = *(u8 *)(r1 + 4)
r2 = *(u8 *)(r1 + 7)
r2 = *(u16 *)(r1 + 6)
r2 = *(u16 *)(r1 + 26)
r0 = 1
exit

=== connect4 narrow write of user_ip4
; attach: 10
r2 = 1
*(u8 *)(r1 + 4) = r2  ; error: invalid bpf_context access off=4 size=1
r0 = 1
exit

=== connect4 reads user_ip6
; attach: 10
r2 = *(u32 *)(r1 + 8)  ; error: invalid bpf_context access off=8 size=4
r0 = 1
exit

=== connect6 reads user_ip4
; attach: 11
r2 = *(u32 *)(r1 + 4)  ; error: invalid bpf_context access off=4 size=4
r0 = 1
exit

=== connect6 reads user_ip6 by words, halves and bytes
; accept
; attach: 11
r2 = *(u32 *)(r1 + 8)
r2 = *(u32 *)(r1 + 20)
r2 = *(u16 *)(r1 + 18)
r2 = *(u8 *)(r1 + 13)
r0 = 1
exit

=== connect6 reads and writes user_ip6 8 bytes at a time
; accept
; attach: 11
r2 = *(u64 *)(r1 + 8)
r3 = *(u64 *)(r1 + 16)
*(u64 *)(r1 + 8) = r3
*(u64 *)(r1 + 16) = r2
r0 = 1
exit

=== connect6 8-byte read across the end of user_ip6
; attach: 11
r2 = *(u64 *)(r1 + 24)  ; error: invalid bpf_context access off=24 size=8
r0 = 1
exit

=== bind4 narrow write of user_port
; attach: 8
r2 = 80
*(u16 *)(r1 + 24) = r2  ; error: invalid bpf_context access off=24 size=2
r0 = 1
exit

=== sendmsg4 reads and writes msg_src_ip4
; accept
; attach: 14
r2 = *(u32 *)(r1 + 40)
r2 = *(u8 *)(r1 + 41)
r2 = 0
*(u32 *)(r1 + 40) = r2
r0 = 1
exit

=== connect4 reads msg_src_ip4
; attach: 10
r2 = *(u32 *)(r1 + 40)  ; error: invalid bpf_context access off=40 size=4
r0 = 1
exit

=== sendmsg6 reads msg_src_ip6 8 bytes wide at 48
; accept
; attach: 15
r2 = *(u64 *)(r1 + 48)
r2 = *(u32 *)(r1 + 44)
r2 = *(u32 *)(r1 + 56)
r0 = 1
exit

=== sendmsg6 reads msg_src_ip6 8 bytes wide at 56
; attach: 15
r2 = *(u64 *)(r1 + 56)  ; error: invalid bpf_context access off=56 size=8
r0 = 1
exit

=== recvmsg6 reads msg_src_ip6
; attach: 20
r2 = *(u32 *)(r1 + 44)  ; error: invalid bpf_context access off=44 size=4
r0 = 1
exit

=== family, type, protocol and user_family are readable as 4 bytes
; accept
; attach: 31
r2 = *(u32 *)(r1 + 0)
r2 = *(u32 *)(r1 + 28)
r2 = *(u32 *)(r1 + 32)
r2 = *(u32 *)(r1 + 36)
r0 = 1
exit

=== narrow read of family
; attach: 10
r2 = *(u8 *)(r1 + 28)  ; error: invalid bpf_context access off=28 size=1
r0 = 1
exit

=== write of user_family
; attach: 10
r2 = 2
*(u32 *)(r1 + 0) = r2  ; error: invalid bpf_context access off=0 size=4
r0 = 1
exit

=== write of protocol
; attach: 10
r2 = 6
*(u32 *)(r1 + 36) = r2  ; error: invalid bpf_context access off=36 size=4
r0 = 1
exit

=== padding after msg_src_ip6
; attach: 15
r2 = *(u32 *)(r1 + 60)  ; error: invalid bpf_context access off=60 size=4
r0 = 1
exit

=== sk is a full socket
; accept
; attach: 10
r2 = *(u64 *)(r1 + 64)
r3 = *(u32 *)(r2 + 8)
r3 = *(u32 *)(r2 + 16)
r3 = *(u16 *)(r2 + 48)
r0 = 1
exit

=== sk read as 4 bytes
; attach: 10
r2 = *(u32 *)(r1 + 64)  ; error: invalid bpf_context access off=64 size=4
r0 = 1
exit

=== sk written
; attach: 10
r2 = 0
*(u64 *)(r1 + 64) = r2  ; error: invalid bpf_context access off=64 size=8
r0 = 1
exit

=== sk is read 8 bytes at a time only at bound_dev_if
; attach: 10
r2 = *(u64 *)(r1 + 64)
r3 = *(u64 *)(r2 + 0)  ; error: R2 invalid sock access off=0 size=8
r0 = 1
exit

=== getpeername4 reads user_ip4
; accept
; attach: 29
r2 = *(u32 *)(r1 + 4)
r0 = 1
exit

=== getsockname6 reads user_ip4
; attach: 32
r2 = *(u32 *)(r1 + 4)  ; error: invalid bpf_context access off=4 size=4
r0 = 1
exit
