; sock_ops context (struct bpf_sock_ops, sock_ops_is_valid_access): 4-byte fields,
; reply and sk_txhash the only writable ones, bytes_received/bytes_acked and
; skb_hwtstamp 8 bytes, sk a socket or NULL, skb_data/skb_data_end packet pointers
; (read-only), narrow loads of skb_tcp_flags only.
; prog: sock_ops

=== reads op, family, remote_port, state, snd_cwnd, skb_len
; accept
r2 = *(u32 *)(r1 + 0)
r2 = *(u32 *)(r1 + 20)
r2 = *(u32 *)(r1 + 64)
r2 = *(u32 *)(r1 + 88)
r2 = *(u32 *)(r1 + 76)
r2 = *(u32 *)(r1 + 208)
r0 = 1
exit

=== narrow read of op
r2 = *(u8 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=1
r0 = 1
exit

=== narrow read of remote_ip4
r2 = *(u16 *)(r1 + 24)  ; error: invalid bpf_context access off=24 size=2
r0 = 1
exit

=== narrow reads of skb_tcp_flags
; accept
r2 = *(u8 *)(r1 + 212)
r2 = *(u16 *)(r1 + 212)
r0 = 1
exit

=== narrow read of skb_tcp_flags at its second byte
r2 = *(u8 *)(r1 + 213)  ; error: invalid bpf_context access off=213 size=1
r0 = 1
exit

=== writes reply and sk_txhash
; accept
r2 = 1
*(u32 *)(r1 + 4) = r2
*(u32 *)(r1 + 164) = r2
r0 = 1
exit

=== writes replylong[1]
r2 = 1
*(u32 *)(r1 + 8) = r2  ; error: invalid bpf_context access off=8 size=4
r0 = 1
exit

=== writes op
r2 = 1
*(u32 *)(r1 + 0) = r2  ; error: invalid bpf_context access off=0 size=4
r0 = 1
exit

=== writes reply as 8 bytes
r2 = 1
*(u64 *)(r1 + 8) = r2  ; error: invalid bpf_context access off=8 size=8
r0 = 1
exit

=== reads bytes_received and bytes_acked as 8 bytes
; accept
r2 = *(u64 *)(r1 + 168)
r2 = *(u64 *)(r1 + 176)
r0 = 1
exit

=== reads bytes_acked as 4 bytes
r2 = *(u32 *)(r1 + 176)  ; error: invalid bpf_context access off=176 size=4
r0 = 1
exit

=== reads skb_hwtstamp
; accept
r2 = *(u64 *)(r1 + 216)
r0 = 1
exit

=== reads skb_hwtstamp as 4 bytes
r2 = *(u32 *)(r1 + 216)  ; error: invalid bpf_context access off=216 size=4
r0 = 1
exit

=== reads snd_cwnd as 8 bytes
r2 = *(u64 *)(r1 + 72)  ; error: invalid bpf_context access off=72 size=8
r0 = 1
exit

=== reads past the end
r2 = *(u32 *)(r1 + 224)  ; error: invalid bpf_context access off=224 size=4
r0 = 1
exit

=== sk without a NULL check
r2 = *(u64 *)(r1 + 184)
r3 = *(u32 *)(r2 + 4)  ; error: R2 invalid mem access 'sock_or_null'
r0 = 1
exit

=== sk after a NULL check
; accept
r2 = *(u64 *)(r1 + 184)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 4)
r3 = *(u32 *)(r2 + 12)
out: r0 = 1
exit

=== sk read as 4 bytes
r2 = *(u32 *)(r1 + 184)  ; error: invalid bpf_context access off=184 size=4
r0 = 1
exit

=== sk pointer arithmetic
r2 = *(u64 *)(r1 + 184)
if r2 == 0 goto out
r2 += 4  ; error: R2 pointer arithmetic on sock prohibited
out: r0 = 1
exit

=== skb_data read after the bounds check
; accept
r2 = *(u64 *)(r1 + 192)
r3 = *(u64 *)(r1 + 200)
r4 = r2
r4 += 20
if r4 > r3 goto out
r5 = *(u8 *)(r2 + 13)
out: r0 = 1
exit

=== skb_data written after the bounds check
r2 = *(u64 *)(r1 + 192)
r3 = *(u64 *)(r1 + 200)
r4 = r2
r4 += 20
if r4 > r3 goto out
r5 = 0
*(u8 *)(r2 + 13) = r5  ; error: cannot write into packet
out: r0 = 1
exit

=== skb_data read as 4 bytes
r2 = *(u32 *)(r1 + 192)  ; error: invalid bpf_context access off=192 size=4
r0 = 1
exit

=== skb_data_end is no packet
r3 = *(u64 *)(r1 + 200)
r4 = *(u8 *)(r3 + 0)  ; error: R3 invalid mem access 'pkt_end'
r0 = 1
exit

=== writes reply with an immediate store
; accept
*(u32 *)(r1 + 4) = 1
r0 = 1
exit

=== writes family with an immediate store
*(u32 *)(r1 + 20) = 2  ; error: invalid bpf_context access off=20 size=4
r0 = 1
exit
