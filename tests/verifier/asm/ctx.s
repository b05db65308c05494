; Context access per program type.

=== xdp reads data and data_end
; prog: xdp
; accept
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = *(u32 *)(r1 + 12)
r0 = 2
exit

=== xdp 8-byte context read
; prog: xdp
r2 = *(u64 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=8
r0 = 2
exit

=== xdp context write
; prog: xdp
r2 = 0
*(u32 *)(r1 + 12) = r2  ; error: invalid bpf_context access off=12 size=4
r0 = 2
exit

=== xdp context read past the end
; prog: xdp
r2 = *(u32 *)(r1 + 24)  ; error: invalid bpf_context access off=24 size=4
r0 = 2
exit

=== modified ctx pointer
; prog: xdp
r1 += 4
r2 = *(u32 *)(r1 + 0)  ; error: dereference of modified ctx ptr R1 off=4 disallowed
r0 = 2
exit

=== tc writes mark
; prog: sched_cls
; accept
r2 = 7
*(u32 *)(r1 + 8) = r2
r0 = 0
exit

=== tc cannot write len
; prog: sched_cls
r2 = 7
*(u32 *)(r1 + 0) = r2  ; error: invalid bpf_context access off=0 size=4
r0 = 0
exit

=== tc narrow read of len
; prog: sched_cls
; accept
r0 = *(u8 *)(r1 + 0)
exit

=== tc reads packet pointers
; prog: sched_cls
; accept
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 1
if r4 > r3 goto +1
r0 = *(u8 *)(r2 + 0)
r0 = 0
exit

=== tc cannot read family
; prog: sched_cls
r0 = *(u32 *)(r1 + 88)  ; error: invalid bpf_context access off=88 size=4
exit

=== socket filter cannot read data
; prog: socket_filter
r0 = *(u32 *)(r1 + 76)  ; error: invalid bpf_context access off=76 size=4
exit

=== socket filter writes cb
; prog: socket_filter
; accept
r2 = 1
*(u32 *)(r1 + 48) = r2
r0 = 0
exit

=== socket filter cannot write mark
; prog: socket_filter
r2 = 1
*(u32 *)(r1 + 8) = r2  ; error: invalid bpf_context access off=8 size=4
r0 = 0
exit

=== kprobe reads pt_regs
; prog: kprobe
; accept
r0 = *(u64 *)(r1 + 112)
r0 = 0
exit

=== kprobe reads past pt_regs
; prog: kprobe
r0 = *(u64 *)(r1 + 168)  ; error: invalid bpf_context access off=168 size=8
r0 = 0
exit

=== kprobe cannot write pt_regs
; prog: kprobe
r2 = 0
*(u64 *)(r1 + 0) = r2  ; error: invalid bpf_context access off=0 size=8
r0 = 0
exit

=== tracepoint reads a field
; prog: tracepoint
; accept
r0 = *(u32 *)(r1 + 8)
r0 = 0
exit

=== tracepoint cannot read the common header
; prog: tracepoint
r0 = *(u64 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=8
r0 = 0
exit

=== legacy packet load in socket filter
; prog: socket_filter
; accept
r6 = r1
r0 = *(u8 *)skb[12]
exit

=== legacy packet load needs r6 = ctx
; prog: socket_filter
r6 = 0
r0 = *(u8 *)skb[12]  ; error: at the time of BPF_LD_ABS|IND R6 != pointer to skb
exit

=== legacy packet load not allowed in xdp
; prog: xdp
r6 = r1
r0 = *(u8 *)skb[12]  ; error: BPF_LD_[ABS|IND] instructions not allowed for this program type
exit
