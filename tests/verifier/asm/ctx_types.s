; Context access per program type: which fields may be read, written, narrowly
; read; offsets, sizes and alignment.

=== xdp reads data_meta
; accept
; prog: xdp
r0 = *(u32 *)(r1 + 8)
r0 = 0
exit

=== xdp reads ingress_ifindex
; accept
; prog: xdp
r0 = *(u32 *)(r1 + 12)
r0 = 0
exit

=== xdp reads rx_queue_index
; accept
; prog: xdp
r0 = *(u32 *)(r1 + 16)
r0 = 0
exit

=== xdp reads egress_ifindex without a devmap attach type
; prog: xdp
r0 = *(u32 *)(r1 + 20)  ; error: invalid bpf_context access off=20 size=4
r0 = 0
exit

=== xdp narrow read of ingress_ifindex
; prog: xdp
r0 = *(u16 *)(r1 + 12)  ; error: invalid bpf_context access off=12 size=2
r0 = 0
exit

=== xdp narrow read of data
; prog: xdp
r0 = *(u16 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=2
r0 = 0
exit

=== xdp writes data
; prog: xdp
r2 = 1
*(u32 *)(r1 + 0) = r2  ; error: invalid bpf_context access off=0 size=4
r0 = 0
exit

=== xdp misaligned read
; prog: xdp
r0 = *(u32 *)(r1 + 2)  ; error: invalid bpf_context access off=2 size=4
r0 = 0
exit

=== tc reads len
; accept
; prog: sched_cls
r0 = *(u32 *)(r1 + 0)
r0 = 0
exit

=== tc byte read of len
; accept
; prog: sched_cls
r0 = *(u8 *)(r1 + 0)
r0 = 0
exit

=== tc half-word read at an offset
; accept
; prog: sched_cls
r0 = *(u16 *)(r1 + 2)
r0 = 0
exit

=== tc writes priority
; accept
; prog: sched_cls
r2 = 1
*(u32 *)(r1 + 32) = r2
r0 = 0
exit

=== tc writes tc_index
; accept
; prog: sched_cls
r2 = 1
*(u32 *)(r1 + 44) = r2
r0 = 0
exit

=== tc writes cb[4]
; accept
; prog: sched_cls
r2 = 1
*(u32 *)(r1 + 64) = r2
r0 = 0
exit

=== tc writes tc_classid
; accept
; prog: sched_cls
r2 = 1
*(u32 *)(r1 + 72) = r2
r0 = 0
exit

=== tc writes queue_mapping
; accept
; prog: sched_cls
r2 = 1
*(u32 *)(r1 + 12) = r2
r0 = 0
exit

=== tc writes protocol
; prog: sched_cls
r2 = 1
*(u32 *)(r1 + 16) = r2  ; error: invalid bpf_context access off=16 size=4
r0 = 0
exit

=== tc reads data_meta
; accept
; prog: sched_cls
r0 = *(u32 *)(r1 + 140)
r0 = 0
exit

=== tc reads tstamp
; accept
; prog: sched_cls
r0 = *(u64 *)(r1 + 152)
r0 = 0
exit

=== tc writes tstamp
; accept
; prog: sched_cls
r2 = 1
*(u64 *)(r1 + 152) = r2
r0 = 0
exit

=== tc reads wire_len
; accept
; prog: sched_cls
r0 = *(u32 *)(r1 + 160)
r0 = 0
exit

=== tc reads hash
; accept
; prog: sched_cls
r0 = *(u32 *)(r1 + 68)
r0 = 0
exit

=== tc reads napi_id
; accept
; prog: sched_cls
r0 = *(u32 *)(r1 + 84)
r0 = 0
exit

=== tc reads the socket pointer
; accept
; prog: sched_cls
r0 = *(u64 *)(r1 + 168)
r0 = 0
exit

=== tc reads past the end
; prog: sched_cls
r0 = *(u32 *)(r1 + 200)  ; error: invalid bpf_context access off=200 size=4
r0 = 0
exit

=== tc misaligned read
; prog: sched_cls
r0 = *(u32 *)(r1 + 1)  ; error: invalid bpf_context access off=1 size=4
r0 = 0
exit

=== tc reads remote_ip4
; prog: sched_cls
r0 = *(u32 *)(r1 + 92)  ; error: invalid bpf_context access off=92 size=4
r0 = 0
exit

=== tc 8-byte read of a 4-byte field
; prog: sched_cls
r0 = *(u64 *)(r1 + 0)  ; error: invalid bpf_context access off=0 size=8
r0 = 0
exit

=== socket filter reads len
; accept
; prog: socket_filter
r0 = *(u32 *)(r1 + 0)
r0 = 0
exit

=== socket filter reads protocol
; accept
; prog: socket_filter
r0 = *(u32 *)(r1 + 16)
r0 = 0
exit

=== socket filter reads ifindex
; accept
; prog: socket_filter
r0 = *(u32 *)(r1 + 40)
r0 = 0
exit

=== socket filter reads mark
; accept
; prog: socket_filter
r0 = *(u32 *)(r1 + 8)
r0 = 0
exit

=== socket filter writes cb[4]
; accept
; prog: socket_filter
r2 = 1
*(u32 *)(r1 + 64) = r2
r0 = 0
exit

=== socket filter writes priority
; prog: socket_filter
r2 = 1
*(u32 *)(r1 + 32) = r2  ; error: invalid bpf_context access off=32 size=4
r0 = 0
exit

=== socket filter reads tc_classid
; prog: socket_filter
r0 = *(u32 *)(r1 + 72)  ; error: invalid bpf_context access off=72 size=4
r0 = 0
exit

=== socket filter reads data_end
; prog: socket_filter
r0 = *(u32 *)(r1 + 80)  ; error: invalid bpf_context access off=80 size=4
r0 = 0
exit

=== socket filter reads tstamp
; prog: socket_filter
r0 = *(u64 *)(r1 + 152)  ; error: invalid bpf_context access off=152 size=8
r0 = 0
exit

=== cgroup_skb reads data
; accept
; prog: cgroup_skb
r0 = *(u32 *)(r1 + 76)
r0 = 0
exit

=== cgroup_skb reads len
; accept
; prog: cgroup_skb
r0 = *(u32 *)(r1 + 0)
r0 = 0
exit

=== cgroup_skb writes mark
; accept
; prog: cgroup_skb
r2 = 1
*(u32 *)(r1 + 8) = r2
r0 = 0
exit

=== cgroup_skb writes priority
; accept
; prog: cgroup_skb
r2 = 1
*(u32 *)(r1 + 32) = r2
r0 = 0
exit

=== cgroup_skb writes len
; prog: cgroup_skb
r2 = 1
*(u32 *)(r1 + 0) = r2  ; error: invalid bpf_context access off=0 size=4
r0 = 0
exit

=== cgroup_skb reads tc_classid
; prog: cgroup_skb
r0 = *(u32 *)(r1 + 72)  ; error: invalid bpf_context access off=72 size=4
r0 = 0
exit

=== cgroup_skb reads family
; accept
; prog: cgroup_skb
r0 = *(u32 *)(r1 + 88)
r0 = 0
exit

=== kprobe 4-byte read of pt_regs
; accept
; prog: kprobe
r0 = *(u32 *)(r1 + 8)
r0 = 0
exit

=== kprobe misaligned read of pt_regs
; prog: kprobe
r0 = *(u64 *)(r1 + 4)  ; error: invalid bpf_context access off=4 size=8
r0 = 0
exit

=== kprobe last register
; accept
; prog: kprobe
r0 = *(u64 *)(r1 + 160)
r0 = 0
exit

=== tracepoint reads at an offset
; accept
; prog: tracepoint
r0 = *(u64 *)(r1 + 16)
r0 = 0
exit

=== tracepoint writes its context
; prog: tracepoint
r2 = 1
*(u64 *)(r1 + 8) = r2  ; error: invalid bpf_context access off=8 size=8
r0 = 0
exit

=== tracepoint reads beyond the record limit
; accept
; prog: tracepoint
r0 = *(u64 *)(r1 + 2048)
r0 = 0
exit

=== perf_event reads sample_period
; accept
; prog: perf_event
r0 = *(u64 *)(r1 + 168)
r0 = 0
exit

=== perf_event reads addr
; accept
; prog: perf_event
r0 = *(u64 *)(r1 + 176)
r0 = 0
exit

=== perf_event writes sample_period
; prog: perf_event
r2 = 1
*(u64 *)(r1 + 168) = r2  ; error: invalid bpf_context access off=168 size=8
r0 = 0
exit

=== perf_event reads past addr
; prog: perf_event
r0 = *(u64 *)(r1 + 184)  ; error: invalid bpf_context access off=184 size=8
r0 = 0
exit

=== raw_tracepoint reads an argument
; accept
; prog: raw_tracepoint
r0 = *(u64 *)(r1 + 8)
r0 = 0
exit

=== raw_tracepoint writes an argument
; prog: raw_tracepoint
r2 = 1
*(u64 *)(r1 + 8) = r2  ; error: invalid bpf_context access off=8 size=8
r0 = 0
exit

=== raw_tracepoint narrow read of an argument
; accept
; prog: raw_tracepoint
r0 = *(u32 *)(r1 + 8)
r0 = 0
exit

=== xdp reads egress_ifindex with the devmap attach type
; accept
; prog: xdp
; attach: 33
r0 = *(u32 *)(r1 + 20)
r0 = 0
exit

=== cgroup_sock reads family
; accept
; prog: cgroup_sock
; attach: 2
r0 = *(u32 *)(r1 + 4)
r0 = 1
exit

=== cgroup_sock writes bound_dev_if at socket creation
; accept
; prog: cgroup_sock
; attach: 2
r2 = 1
*(u32 *)(r1 + 0) = r2
r0 = 1
exit

=== cgroup_sock writes family
; prog: cgroup_sock
; attach: 2
r2 = 1
*(u32 *)(r1 + 4) = r2  ; error: invalid bpf_context access off=4 size=4
r0 = 1
exit
