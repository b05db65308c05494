; Return values per program type.

=== cgroup_skb returns 1
; prog: cgroup_skb
; accept
r0 = 1
exit

=== cgroup_skb returns 2
; prog: cgroup_skb
r0 = 2
exit  ; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]

=== cgroup_skb returns an unknown value
; prog: cgroup_skb
call 7
exit  ; error: At program exit the register R0 has unknown scalar value should have been in [0, 1]

=== cgroup_skb returns a masked value
; prog: cgroup_skb
; accept
call 7
r0 &= 1
exit

=== cgroup_skb returns a pointer
; prog: cgroup_skb
r0 = r1
exit  ; error: At program exit the register R0 is not a known value (ctx)

=== xdp return value is not checked
; prog: xdp
; accept
r0 = 12345
exit

=== socket filter may return a pointer when privileged
; prog: socket_filter
; accept
r0 = r10
exit
