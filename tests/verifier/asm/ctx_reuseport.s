; sk_reuseport context (struct sk_reuseport_md, sk_reuseport_is_valid_access):
; read-only; data/data_end 8-byte packet pointers, len/ip_protocol/bind_inany narrow,
; eth_protocol at least 2 bytes, hash exactly 4 bytes, sk a socket, migrating_sk a
; sock_common or NULL, the padding after hash unreadable.
; prog: sk_reuseport

=== reads len, eth_protocol, ip_protocol, bind_inany, hash
; accept
r2 = *(u32 *)(r1 + 16)
r2 = *(u32 *)(r1 + 20)
r2 = *(u32 *)(r1 + 24)
r2 = *(u32 *)(r1 + 28)
r2 = *(u32 *)(r1 + 32)
r0 = 1
exit

=== narrow reads of len, ip_protocol, bind_inany
; accept
r2 = *(u8 *)(r1 + 16)
r2 = *(u16 *)(r1 + 18)
r2 = *(u8 *)(r1 + 24)
r2 = *(u8 *)(r1 + 31)
r0 = 1
exit

=== eth_protocol read as 2 bytes
; accept
r2 = *(u16 *)(r1 + 20)
r2 = *(u16 *)(r1 + 22)
r0 = 1
exit

=== eth_protocol read as 1 byte
r2 = *(u8 *)(r1 + 20)  ; error: invalid bpf_context access off=20 size=1
r0 = 1
exit

=== narrow read of hash
r2 = *(u16 *)(r1 + 32)  ; error: invalid bpf_context access off=32 size=2
r0 = 1
exit

=== padding after hash
r2 = *(u32 *)(r1 + 36)  ; error: invalid bpf_context access off=36 size=4
r0 = 1
exit

=== writes hash
r2 = 1
*(u32 *)(r1 + 32) = r2  ; error: invalid bpf_context access off=32 size=4
r0 = 1
exit

=== data read as 4 bytes
r2 = *(u32 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=4
r0 = 1
exit

=== high half of data
r2 = *(u32 *)(r1 + 4)  ; error: invalid bpf_context access off=4 size=4
r0 = 1
exit

=== packet read after the bounds check
; accept
r2 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
r4 = r2
r4 += 14
if r4 > r3 goto out
r5 = *(u16 *)(r2 + 12)
out: r0 = 1
exit

=== packet written after the bounds check
r2 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
r4 = r2
r4 += 14
if r4 > r3 goto out
r5 = 0
*(u16 *)(r2 + 12) = r5  ; error: cannot write into packet
out: r0 = 1
exit

=== sk is a socket
; accept
r2 = *(u64 *)(r1 + 40)
r3 = *(u32 *)(r2 + 12)
r3 = *(u32 *)(r2 + 44)
r0 = 1
exit

=== migrating_sk without a NULL check
r2 = *(u64 *)(r1 + 48)
r3 = *(u32 *)(r2 + 4)  ; error: R2 invalid mem access 'sock_common_or_null'
r0 = 1
exit

=== migrating_sk after a NULL check: a sock_common
; accept
r2 = *(u64 *)(r1 + 48)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 4)
r3 = *(u32 *)(r2 + 72)
out: r0 = 1
exit

=== migrating_sk is no full socket
r2 = *(u64 *)(r1 + 48)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 12)  ; error: R2 invalid sock_common access off=12 size=4
out: r0 = 1
exit

=== migrating_sk read as 4 bytes
r2 = *(u32 *)(r1 + 48)  ; error: invalid bpf_context access off=48 size=4
r0 = 1
exit
