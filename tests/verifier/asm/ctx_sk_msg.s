; sk_msg and sk_skb contexts: struct sk_msg_md (sk_msg_is_valid_access: read-only,
; data/data_end/sk 8 bytes, the rest exactly 4) and __sk_buff for sk_skb
; (sk_skb_is_valid_access: no mark, tc_classid, data_meta, tstamp, wire_len,
; hwtstamp; only tc_index and priority written).

=== sk_msg reads family, remote_port, size
; accept
; prog: sk_msg
r2 = *(u32 *)(r1 + 16)
r2 = *(u32 *)(r1 + 60)
r2 = *(u32 *)(r1 + 68)
r0 = 1
exit

=== sk_msg narrow read of family
; prog: sk_msg
r2 = *(u16 *)(r1 + 16)  ; error: invalid bpf_context access off=16 size=2
r0 = 1
exit

=== sk_msg writes size
; prog: sk_msg
r2 = 0
*(u32 *)(r1 + 68) = r2  ; error: invalid bpf_context access off=68 size=4
r0 = 1
exit

=== sk_msg data read as 4 bytes
; prog: sk_msg
r2 = *(u32 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=4
r0 = 1
exit

=== sk_msg writes its data after the bounds check
; accept
; prog: sk_msg
r2 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
r4 = r2
r4 += 4
if r4 > r3 goto out
r5 = 0
*(u32 *)(r2 + 0) = r5
out: r0 = 1
exit

=== sk_msg sk is a socket
; accept
; prog: sk_msg
r2 = *(u64 *)(r1 + 72)
r3 = *(u32 *)(r2 + 20)
r0 = 1
exit

=== sk_msg reads past sk
; prog: sk_msg
r2 = *(u32 *)(r1 + 80)  ; error: invalid bpf_context access off=80 size=4
r0 = 1
exit

=== sk_skb writes tc_index and priority
; accept
; prog: sk_skb
r2 = 1
*(u32 *)(r1 + 44) = r2
*(u32 *)(r1 + 32) = r2
r0 = 1
exit

=== sk_skb reads mark
; prog: sk_skb
r2 = *(u32 *)(r1 + 8)  ; error: invalid bpf_context access off=8 size=4
r0 = 1
exit

=== sk_skb writes cb
; prog: sk_skb
r2 = 1
*(u32 *)(r1 + 48) = r2  ; error: invalid bpf_context access off=48 size=4
r0 = 1
exit

=== sk_skb reads family and remote_port
; accept
; prog: sk_skb
r2 = *(u32 *)(r1 + 88)
r2 = *(u32 *)(r1 + 128)
r0 = 1
exit

=== sk_skb reads data_meta
; prog: sk_skb
r2 = *(u32 *)(r1 + 140)  ; error: invalid bpf_context access off=140 size=4
r0 = 1
exit

=== sk_skb reads sk after a NULL check
; accept
; prog: sk_skb
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 44)
out: r0 = 1
exit

=== sk_skb sign-extending load of data_end
; prog: sk_skb
r2 = *(s32 *)(r1 + 80)  ; error: invalid bpf_context access off=80 size=4
r0 = 1
exit
