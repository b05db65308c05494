; sk_lookup context (struct bpf_sk_lookup, sk_lookup_is_valid_access): read-only;
; sk a socket or NULL (8 bytes); narrow loads of family, protocol, addresses,
; local_port, ingress_ifindex; remote_port a 16-bit field that may be read as 4
; bytes, then 2 bytes of readable zero padding.
; prog: sk_lookup

=== reads family, protocol, remote_ip4, local_port, ingress_ifindex
; accept
; attach: 36
r2 = *(u32 *)(r1 + 8)
r2 = *(u32 *)(r1 + 12)
r2 = *(u32 *)(r1 + 16)
r2 = *(u32 *)(r1 + 60)
r2 = *(u32 *)(r1 + 64)
r0 = 1
exit

=== narrow reads of family, local_ip6 and local_port
; accept
; attach: 36
r2 = *(u8 *)(r1 + 8)
r2 = *(u16 *)(r1 + 10)
r2 = *(u8 *)(r1 + 47)
r2 = *(u16 *)(r1 + 62)
r0 = 1
exit

=== remote_port as 4 bytes, 2 bytes, and its padding
; accept
; attach: 36
r2 = *(u32 *)(r1 + 36)
r2 = *(u16 *)(r1 + 36)
r2 = *(u8 *)(r1 + 37)
r2 = *(u16 *)(r1 + 38)
r0 = 1
exit

=== remote_port padding as 4 bytes
; attach: 36
r2 = *(u32 *)(r1 + 38)  ; error: invalid bpf_context access off=38 size=4
r0 = 1
exit

=== reads past ingress_ifindex
; attach: 36
r2 = *(u32 *)(r1 + 68)  ; error: invalid bpf_context access off=68 size=4
r0 = 1
exit

=== writes family
; attach: 36
r2 = 2
*(u32 *)(r1 + 8) = r2  ; error: invalid bpf_context access off=8 size=4
r0 = 1
exit

=== sk without a NULL check
; attach: 36
r2 = *(u64 *)(r1 + 0)
r3 = *(u32 *)(r2 + 4)  ; error: R2 invalid mem access 'sock_or_null'
r0 = 1
exit

=== sk after a NULL check
; accept
; attach: 36
r2 = *(u64 *)(r1 + 0)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 8)
out: r0 = 1
exit

=== sk read as 4 bytes
; attach: 36
r2 = *(u32 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=4
r0 = 1
exit
