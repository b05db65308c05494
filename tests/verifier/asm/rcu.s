; RCU read-side sections (bpf_rcu_read_lock/unlock kfuncs): paired on every path,
; not nested, closed before the main program exits or tail-calls.
; prog: xdp

=== a section closed
; accept
call kfunc bpf_rcu_read_lock
call kfunc bpf_rcu_read_unlock
r0 = 0
exit

=== a section opened twice
call kfunc bpf_rcu_read_lock
call kfunc bpf_rcu_read_lock  ; error: nested rcu read lock
call kfunc bpf_rcu_read_unlock
call kfunc bpf_rcu_read_unlock
r0 = 0
exit

=== a section opened twice, closed once
call kfunc bpf_rcu_read_lock
call kfunc bpf_rcu_read_lock  ; error: nested rcu read lock
call kfunc bpf_rcu_read_unlock
r0 = 0
exit

=== a section closed that was never opened
call kfunc bpf_rcu_read_unlock  ; error: unmatched rcu read unlock
r0 = 0
exit

=== the program exits inside a section
call kfunc bpf_rcu_read_lock
r0 = 0
exit  ; error: BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region

=== a helper called inside a section
; accept
call kfunc bpf_rcu_read_lock
call 5
call kfunc bpf_rcu_read_unlock
r0 = 0
exit

=== a section in a socket filter
; prog: socket_filter
; accept
call kfunc bpf_rcu_read_lock
call kfunc bpf_rcu_read_unlock
r0 = 0
exit

=== a tail call inside a section
; map: prog_array key=4 value=4 entries=2
r6 = r1
call kfunc bpf_rcu_read_lock
r1 = r6
ld_pseudo r2, 0x5, 0
r3 = 0
call 12  ; error: tail_call cannot be used inside bpf_rcu_read_lock-ed region
call kfunc bpf_rcu_read_unlock
r0 = 0
exit

=== a subprogram opens the section its caller closes
; accept
call f
call kfunc bpf_rcu_read_unlock
r0 = 0
exit
f: call kfunc bpf_rcu_read_lock
r0 = 0
exit

=== a spin lock taken and released inside a section
; accept
; map: array key=4 value=8 entries=1 spinlock=0
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0
call 1
if r0 == 0 goto out
r6 = r0
call kfunc bpf_rcu_read_lock
r1 = r6
call 93
r1 = r6
call 94
call kfunc bpf_rcu_read_unlock
out: r0 = 0
exit

=== a section opened on one path only, closed on both
r6 = r1
r1 = *(u32 *)(r6 + 0)
if r1 == 0 goto skip
call kfunc bpf_rcu_read_lock
skip: call kfunc bpf_rcu_read_unlock  ; error: unmatched rcu read unlock
r0 = 0
exit
