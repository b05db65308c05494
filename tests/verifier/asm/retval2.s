; Return values per program type (check_return_code), with expected attach types.

=== cgroup_skb egress may return 3
; accept
; prog: cgroup_skb
; attach: 1
r0 = 3
exit

=== cgroup_skb egress may not return 4
; prog: cgroup_skb
; attach: 1
r0 = 4
exit  ; error: At program exit the register R0 has smin=4 smax=4 should have been in [0, 3]

=== cgroup_skb ingress may not return 2
; prog: cgroup_skb
; attach: 0
r0 = 2
exit  ; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]

=== cgroup_skb returns 0
; accept
; prog: cgroup_skb
r0 = 0
exit

=== cgroup_skb returns a negative value
; prog: cgroup_skb
r0 = -1
exit  ; error: At program exit the register R0 has smin=-1 smax=-1 should have been in [0, 1]

=== cgroup_skb returns a range checked by a jump
; accept
; prog: cgroup_skb
call 7
if r0 > 1 goto +1
exit
r0 = 0
exit

=== cgroup_skb returns a value with upper bits unknown
; prog: cgroup_skb
call 7
if w0 > 1 goto +1
exit  ; error: At program exit the register R0 has smax=9223372032559808513 should have been in [0, 1]
r0 = 0
exit

=== cgroup_skb without r0
; prog: cgroup_skb
exit  ; error: R0 !read_ok

=== cgroup_sock returns 1
; accept
; prog: cgroup_sock
; attach: 2
r0 = 1
exit

=== cgroup_sock returns 2
; prog: cgroup_sock
; attach: 2
r0 = 2
exit  ; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]

=== cgroup_sock_addr connect4 returns 1
; accept
; prog: cgroup_sock_addr
; attach: 10
r0 = 1
exit

=== cgroup_sock_addr connect4 returns 2
; prog: cgroup_sock_addr
; attach: 10
r0 = 2
exit  ; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]

=== cgroup_sock_addr recvmsg4 returns 1
; accept
; prog: cgroup_sock_addr
; attach: 19
r0 = 1
exit

=== cgroup_sock_addr recvmsg4 returns 0
; prog: cgroup_sock_addr
; attach: 19
r0 = 0
exit  ; error: At program exit the register R0 has smin=0 smax=0 should have been in [1, 1]

=== cgroup_device returns 1
; accept
; prog: cgroup_device
; attach: 6
r0 = 1
exit

=== cgroup_device returns 5
; prog: cgroup_device
; attach: 6
r0 = 5
exit  ; error: At program exit the register R0 has smin=5 smax=5 should have been in [0, 1]

=== cgroup_sysctl returns 2
; prog: cgroup_sysctl
; attach: 18
r0 = 2
exit  ; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]

=== cgroup_sockopt getsockopt returns 1
; accept
; prog: cgroup_sockopt
; attach: 21
r0 = 1
exit

=== cgroup_sockopt setsockopt returns 2
; prog: cgroup_sockopt
; attach: 22
r0 = 2
exit  ; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]

=== sock_ops returns 1
; accept
; prog: sock_ops
; attach: 3
r0 = 1
exit

=== sock_ops returns 2
; prog: sock_ops
; attach: 3
r0 = 2
exit  ; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]

=== sk_lookup returns 1
; accept
; prog: sk_lookup
; attach: 36
r0 = 1
exit

=== sk_lookup returns 2
; prog: sk_lookup
; attach: 36
r0 = 2
exit  ; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]

=== sched_cls returns anything
; accept
; prog: sched_cls
r0 = -7
exit

=== xdp returns a large value
; accept
; prog: xdp
r0 = 1000
exit

=== kprobe returns anything
; accept
; prog: kprobe
call 7
exit

=== tracepoint returns anything
; accept
; prog: tracepoint
r0 = 7
exit

=== perf_event returns anything
; accept
; prog: perf_event
r0 = 7
exit

=== raw_tracepoint returns anything
; accept
; prog: raw_tracepoint
r0 = -1
exit

=== socket filter returns an unknown value
; accept
; prog: socket_filter
call 7
exit

=== sk_skb returns a large value
; accept
; prog: sk_skb
; attach: 5
r0 = 9
exit

=== flow_dissector returns a large value
; accept
; prog: flow_dissector
; attach: 17
r0 = 9
exit

=== lwt_in returns a large value
; accept
; prog: lwt_in
r0 = 9
exit
