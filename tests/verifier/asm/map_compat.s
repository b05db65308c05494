; Which map types each helper takes, and which helpers each map type takes
; (check_map_func_compatibility, both directions), and other combinations a program
; type or a map type forbids (issue 12, class 9).
; prog: sched_cls

=== lookup in a sockmap gives a socket reference that is released
; accept
; map: sockmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = r0
call 86
out: r0 = 0
exit

=== lookup in a sockmap not released
; map: sockmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r0 = 0
exit  ; error: Unreleased reference id=
out: r0 = 0
exit

=== write through a socket from a sockhash lookup
; map: sockhash key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r1 = 0
*(u32 *)(r6 + 0) = r1  ; error: cannot write into sock
r1 = r6
call 86
out: r0 = 0
exit

=== read a socket field from a sockmap lookup
; accept
; map: sockmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r7 = *(u32 *)(r6 + 4)
r1 = r6
call 86
out: r0 = 0
exit

=== read past a sockmap value's size is a socket field
; map: sockmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r7 = *(u64 *)(r6 + 0)  ; error: invalid sock access off=0 size=8
r1 = r6
call 86
out: r0 = 0
exit

=== sockmap update from tc takes a socket, not stack memory
; map: sockmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
*(u32 *)(r10 - 8) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -8
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2  ; error: R3 type=fp expected=sock_common, sock, tcp_sock, xdp_sock, ptr_
r0 = 0
exit

=== sockmap delete from tc
; accept
; map: sockmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 3
r0 = 0
exit

=== sockmap delete from a cgroup_skb program
; prog: cgroup_skb
; map: sockmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 3  ; error: cannot pass map_type 15 into func bpf_map_delete_elem#3
r0 = 1
exit

=== lookup in a cgroup storage map
; prog: cgroup_skb
; map: cgroup_storage key=8 value=8 entries=0
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
ld_pseudo r1, 0x5, 0x0
call 1  ; error: cannot pass map_type 19 into func bpf_map_lookup_elem#1
r0 = 1
exit

=== get_local_storage with zero flags
; accept
; prog: cgroup_skb
; map: cgroup_storage key=8 value=8 entries=0
ld_pseudo r1, 0x5, 0x0
r2 = 0
call 81
r1 = *(u64 *)(r0 + 0)
r1 += 1
*(u64 *)(r0 + 0) = r1
r0 = 1
exit

=== get_local_storage reads past the value
; prog: cgroup_skb
; map: cgroup_storage key=8 value=8 entries=0
ld_pseudo r1, 0x5, 0x0
r2 = 0
call 81
r1 = *(u64 *)(r0 + 8)  ; error: invalid access to map value, value_size=8 off=8 size=8
r0 = 1
exit

=== get_local_storage with non-zero flags
; prog: cgroup_skb
; map: cgroup_storage key=8 value=8 entries=0
ld_pseudo r1, 0x5, 0x0
r2 = 1
call 81  ; error: get_local_storage() doesn't support non-zero flags
r0 = 1
exit

=== get_local_storage with unknown flags
; prog: cgroup_skb
; map: cgroup_storage key=8 value=8 entries=0
r6 = r1
ld_pseudo r1, 0x5, 0x0
r2 = *(u32 *)(r6 + 0)
call 81  ; error: get_local_storage() doesn't support non-zero flags
r0 = 1
exit

=== get_local_storage with a hash map
; prog: cgroup_skb
; map: hash key=8 value=8 entries=1
ld_pseudo r1, 0x5, 0x0
r2 = 0
call 81  ; error: cannot pass map_type 1 into func bpf_get_local_storage#81
r0 = 1
exit

=== lookup in a perf event array
; map: perf_event_array key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1  ; error: cannot pass map_type 4 into func bpf_map_lookup_elem#1
r0 = 0
exit

=== lookup in a cgroup array
; map: cgroup_array key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1  ; error: cannot pass map_type 8 into func bpf_map_lookup_elem#1
r0 = 0
exit

=== skb_under_cgroup with a cgroup array
; accept
; map: cgroup_array key=4 value=4 entries=1
ld_pseudo r2, 0x5, 0x0
r3 = 0
call 79
r0 = 0
exit

=== skb_under_cgroup with an array
; accept
; map: array key=4 value=4 entries=1
ld_pseudo r2, 0x5, 0x0
r3 = 0
call 79
r0 = 0
exit

=== lookup in a queue
; map: queue key=0 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1  ; error: invalid zero-sized read
r0 = 0
exit

=== push into a queue
; accept
; map: queue key=0 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r3 = 0
ld_pseudo r1, 0x5, 0x0
call 87
r0 = 0
exit

=== push into a hash map
; map: hash key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r3 = 0
ld_pseudo r1, 0x5, 0x0
call 87  ; error: cannot pass map_type 1 into func bpf_map_push_elem#87
r0 = 0
exit

=== lookup in a devmap gives a read-only value
; prog: xdp
; map: devmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = 0
*(u32 *)(r0 + 0) = r1  ; error: write into map forbidden
out: r0 = 2
exit

=== read from a devmap lookup
; accept
; prog: xdp
; map: devmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = *(u32 *)(r0 + 0)
out: r0 = 2
exit

=== lookup in a cpumap
; prog: xdp
; map: cpumap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1  ; error: cannot pass map_type 16 into func bpf_map_lookup_elem#1
r0 = 2
exit

=== redirect_map with a cpumap
; accept
; prog: xdp
; map: cpumap key=4 value=4 entries=1
ld_pseudo r1, 0x5, 0x0
r2 = 0
r3 = 0
call 51
r0 = 2
exit

=== redirect_map with a hash map
; prog: xdp
; map: hash key=4 value=4 entries=1
ld_pseudo r1, 0x5, 0x0
r2 = 0
r3 = 0
call 51  ; error: cannot pass map_type 1 into func bpf_redirect_map#51
r0 = 2
exit

=== lookup in a reuseport sockarray
; prog: sk_reuseport
; map: reuseport_sockarray key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1  ; error: cannot pass map_type 20 into func bpf_map_lookup_elem#1
r0 = 1
exit

=== lookup_percpu_elem in a hash map
; map: hash key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r3 = 0
ld_pseudo r1, 0x5, 0x0
call 195  ; error: cannot pass map_type 1 into func bpf_map_lookup_percpu_elem#195
r0 = 0
exit

=== lookup_percpu_elem in a per-CPU array
; accept
; map: percpu_array key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r3 = 0
ld_pseudo r1, 0x5, 0x0
call 195
if r0 == 0 goto out
r0 = *(u32 *)(r0 + 0)
out: r0 = 0
exit

=== ringbuf_output of packet memory
; map: ringbuf key=0 value=0 entries=4096
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r1 = r2
r1 += 8
if r1 > r3 goto out
ld_pseudo r1, 0x5, 0x0
r3 = 8
r4 = 0
call 130  ; error: helper access to the packet is not allowed
out: r0 = 0
exit

=== csum_diff of packet memory
; accept
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r1 = r2
r1 += 8
if r1 > r3 goto out
r1 = r2
r2 = 8
r3 = 0
r4 = 0
r5 = 0
call 28
out: r0 = 0
exit

=== get_local_storage flags are precise: no path is pruned against flags 0
; prog: cgroup_skb
; flags: test_state_freq
; map: cgroup_storage key=8 value=8 entries=0
r6 = r1
r2 = *(u32 *)(r6 + 0)
r3 = 0
if r2 > 100 goto big
r3 = 0
goto call
big: r3 = 1
call: ld_pseudo r1, 0x5, 0x0
r2 = r3
call 81  ; error: get_local_storage() doesn't support non-zero flags
r0 = 1
exit

=== get_local_storage flags 1 on the path walked first
; prog: cgroup_skb
; flags: test_state_freq
; map: cgroup_storage key=8 value=8 entries=0
r6 = r1
r2 = *(u32 *)(r6 + 0)
r3 = 0
if r2 > 100 goto big
r3 = 1
goto call
big: r3 = 0
call: ld_pseudo r1, 0x5, 0x0
r2 = r3
call 81  ; error: get_local_storage() doesn't support non-zero flags
r0 = 1
exit

=== skb_store_bytes from packet memory
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 8
if r4 > r3 goto out
r3 = r2
r2 = 0
r4 = 4
r5 = 0
call 9  ; error: helper access to the packet is not allowed
out: r0 = 0
exit

=== skb_load_bytes into packet memory
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 8
if r4 > r3 goto out
r3 = r2
r2 = 0
r4 = 4
call 26  ; error: helper access to the packet is not allowed
out: r0 = 0
exit

=== map update with key and value in the packet
; accept
; map: hash key=4 value=4 entries=1
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 8
if r4 > r3 goto out
r3 = r2
r3 += 4
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2
out: r0 = 0
exit

=== sk_lookup_tcp with the tuple in the packet
; accept
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 12
if r4 > r3 goto out
r3 = 12
r4 = -1
r5 = 0
call 84
if r0 == 0 goto out
r1 = r0
call 86
out: r0 = 0
exit

=== map lookup with a key in sock_ops packet data
; prog: sock_ops
; map: hash key=4 value=4 entries=1
r2 = *(u64 *)(r1 + 192)
r3 = *(u64 *)(r1 + 200)
r4 = r2
r4 += 4
if r4 > r3 goto out
ld_pseudo r1, 0x5, 0x0
call 1  ; error: helper access to the packet is not allowed
out: r0 = 1
exit

=== sockmap update with a socket from a lookup
; accept
; map: sockmap key=4 value=4 entries=1
r6 = r1
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -16
r1 = r6
r3 = 12
r4 = -1
r5 = 0
call 84
if r0 == 0 goto out
r7 = r0
r1 = 0
*(u32 *)(r10 - 20) = r1
r2 = r10
r2 += -20
r3 = r7
r4 = 0
ld_pseudo r1, 0x5, 0x0
call 2
r1 = r7
call 86
out: r0 = 0
exit

=== sk_redirect_map with a sockhash
; prog: sk_skb
; map: sockhash key=4 value=4 entries=1
r1 = r1
ld_pseudo r2, 0x5, 0x0
r3 = 0
r4 = 0
call 52  ; error: cannot pass map_type 18 into func bpf_sk_redirect_map#52
r0 = 1
exit

=== sk_redirect_hash with a sockhash
; accept
; prog: sk_skb
; map: sockhash key=4 value=4 entries=1
r2 = 0
*(u32 *)(r10 - 4) = r2
r3 = r10
r3 += -4
ld_pseudo r2, 0x5, 0x0
r4 = 0
call 72
r0 = 1
exit

=== xskmap lookup gives an xdp_sock or NULL
; accept
; prog: xdp
; map: xskmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r0 = *(u32 *)(r0 + 0)
out: r0 = 2
exit

=== xskmap lookup read without a NULL check
; prog: xdp
; map: xskmap key=4 value=4 entries=1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
r0 = *(u32 *)(r0 + 0)  ; error: invalid mem access
r0 = 2
exit
