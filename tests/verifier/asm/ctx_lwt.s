; lwt_in / lwt_out / lwt_xmit / lwt_seg6local contexts (__sk_buff through
; lwt_is_valid_access): no tc_classid, socket fields, data_meta, tstamp, wire_len or
; hwtstamp; only mark, priority and cb[] written; data/data_end packet pointers,
; written by lwt_xmit only; sk a sock_common or NULL.

=== lwt_in reads len, protocol, mark, ifindex, hash
; accept
; prog: lwt_in
r2 = *(u32 *)(r1 + 0)
r2 = *(u32 *)(r1 + 16)
r2 = *(u32 *)(r1 + 8)
r2 = *(u32 *)(r1 + 40)
r2 = *(u32 *)(r1 + 68)
r0 = 0
exit

=== lwt_out writes mark, priority and cb
; accept
; prog: lwt_out
r2 = 1
*(u32 *)(r1 + 8) = r2
*(u32 *)(r1 + 32) = r2
*(u32 *)(r1 + 48) = r2
*(u64 *)(r1 + 56) = r2
r0 = 0
exit

=== lwt_xmit writes tc_index
; prog: lwt_xmit
r2 = 1
*(u32 *)(r1 + 44) = r2  ; error: invalid bpf_context access off=44 size=4
r0 = 0
exit

=== lwt_in reads tc_classid
; prog: lwt_in
r2 = *(u32 *)(r1 + 72)  ; error: invalid bpf_context access off=72 size=4
r0 = 0
exit

=== lwt_out reads family
; prog: lwt_out
r2 = *(u32 *)(r1 + 88)  ; error: invalid bpf_context access off=88 size=4
r0 = 0
exit

=== lwt_xmit reads remote_port
; prog: lwt_xmit
r2 = *(u32 *)(r1 + 132)  ; error: invalid bpf_context access off=132 size=4
r0 = 0
exit

=== lwt_xmit reads data_meta
; prog: lwt_xmit
r2 = *(u32 *)(r1 + 140)  ; error: invalid bpf_context access off=140 size=4
r0 = 0
exit

=== lwt_in reads tstamp
; prog: lwt_in
r2 = *(u64 *)(r1 + 152)  ; error: invalid bpf_context access off=152 size=8
r0 = 0
exit

=== lwt_out reads wire_len
; prog: lwt_out
r2 = *(u32 *)(r1 + 160)  ; error: invalid bpf_context access off=160 size=4
r0 = 0
exit

=== lwt_xmit reads hwtstamp
; prog: lwt_xmit
r2 = *(u64 *)(r1 + 184)  ; error: invalid bpf_context access off=184 size=8
r0 = 0
exit

=== lwt_in reads gso_segs and gso_size narrowly
; accept
; prog: lwt_in
r2 = *(u16 *)(r1 + 164)
r2 = *(u8 *)(r1 + 176)
r0 = 0
exit

=== lwt_in reads tstamp_type
; prog: lwt_in
r2 = *(u8 *)(r1 + 180)  ; error: invalid bpf_context access off=180 size=1
r0 = 0
exit

=== lwt_out reads the padding before hwtstamp
; prog: lwt_out
r2 = *(u8 *)(r1 + 181)  ; error: invalid bpf_context access off=181 size=1
r0 = 0
exit

=== lwt_in reads the packet after the bounds check
; accept
; prog: lwt_in
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 20
if r4 > r3 goto out
r5 = *(u8 *)(r2 + 9)
out: r0 = 0
exit

=== lwt_in writes the packet
; prog: lwt_in
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 20
if r4 > r3 goto out
r5 = 0
*(u8 *)(r2 + 9) = r5  ; error: cannot write into packet
out: r0 = 0
exit

=== lwt_out writes the packet
; prog: lwt_out
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 20
if r4 > r3 goto out
r5 = 0
*(u8 *)(r2 + 9) = r5  ; error: cannot write into packet
out: r0 = 0
exit

=== lwt_xmit writes the packet
; accept
; prog: lwt_xmit
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 20
if r4 > r3 goto out
r5 = 0
*(u8 *)(r2 + 9) = r5
out: r0 = 0
exit

=== lwt_xmit reads data as 2 bytes
; prog: lwt_xmit
r2 = *(u16 *)(r1 + 76)  ; error: invalid bpf_context access off=76 size=2
r0 = 0
exit

=== lwt_seg6local writes mark
; accept
; prog: lwt_seg6local
r2 = 1
*(u32 *)(r1 + 8) = r2
r0 = 0
exit

=== lwt_seg6local writes queue_mapping
; prog: lwt_seg6local
r2 = 1
*(u32 *)(r1 + 12) = r2  ; error: invalid bpf_context access off=12 size=4
r0 = 0
exit

=== lwt_out reads sk after a NULL check
; accept
; prog: lwt_out
r2 = *(u64 *)(r1 + 168)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 4)
out: r0 = 0
exit

=== lwt_in writes sk
; prog: lwt_in
r2 = 0
*(u64 *)(r1 + 168) = r2  ; error: invalid bpf_context access off=168 size=8
r0 = 0
exit

=== lwt_in sign-extending load of data
; prog: lwt_in
r2 = *(s32 *)(r1 + 76)  ; error: invalid bpf_context access off=76 size=4
r0 = 0
exit

=== lwt_in sign-extending load of len
; accept
; prog: lwt_in
r2 = *(s32 *)(r1 + 0)
r2 = *(s16 *)(r1 + 16)
r0 = 0
exit
