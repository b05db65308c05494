; netfilter context (struct bpf_nf_ctx, nf_is_valid_access): two 8-byte trusted
; kernel pointers, state (0) and skb (8), read-only.
; prog: netfilter

=== reads state and skb
; accept
; attach: 45
r2 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
r0 = 1
exit

=== reads skb as 4 bytes
; attach: 45
r2 = *(u32 *)(r1 + 8)  ; error: invalid bpf_context access off=8 size=4
r0 = 1
exit

=== reads the high half of state
; attach: 45
r2 = *(u32 *)(r1 + 4)  ; error: invalid bpf_context access off=4 size=4
r0 = 1
exit

=== reads past the end
; attach: 45
r2 = *(u64 *)(r1 + 16)  ; error: invalid bpf_context access off=16 size=8
r0 = 1
exit

=== writes skb
; attach: 45
r2 = 0
*(u64 *)(r1 + 8) = r2  ; error: invalid bpf_context access off=8 size=8
r0 = 1
exit

=== skb is trusted: its length read without a NULL check
; accept
; btf
; attach: 45
r2 = *(u64 *)(r1 + 8)
r3 = *(u32 *)(r2 + 112)
r0 = 1
exit

=== skb is read-only
; btf
; attach: 45
r2 = *(u64 *)(r1 + 8)
r3 = 0
*(u32 *)(r2 + 112) = r3  ; error: only read is supported
r0 = 1
exit
