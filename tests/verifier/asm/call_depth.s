; Call depth counted over the call graph (check_max_stack_depth), after the
; path-sensitive walk: recursion that no explored path executes is still refused, at
; 8 frames, and function references (callbacks) count as calls.
; prog: socket_filter

=== recursion behind a branch never taken
r1 = 0
call f
r0 = 0
exit
f: if r1 == 0 goto +2
r1 = 0
call f  ; error: the call stack of 8 frames is too deep !
r0 = 0
exit

=== mutual recursion behind a branch never taken
r1 = 0
call f
r0 = 0
exit
f: call g  ; error: the call stack of 8 frames is too deep !
r0 = 0
exit
g: if r1 == 0 goto +1
call f
r0 = 0
exit

=== recursion only in a callback's dead code
r1 = 0
ld_pseudo r2, 0x4, 6
r3 = 0
r4 = 0
call 181
r0 = 0
exit
cb: r0 = 0
if r0 == 0 goto +1
call cb  ; error: the call stack of 8 frames is too deep !
exit

=== seven nested calls behind dead branches are fine
; accept
r1 = 0
call f1
r0 = 0
exit
f1: if r1 == 0 goto +1
call f2
r0 = 0
exit
f2: call f3
r0 = 0
exit
f3: call f4
r0 = 0
exit
f4: call f5
r0 = 0
exit
f5: call f6
r0 = 0
exit
f6: call f7
r0 = 0
exit
f7: r0 = 0
exit

=== eight nested calls behind a dead branch
r1 = 0
call f1
r0 = 0
exit
f1: if r1 == 0 goto +1
call f2
r0 = 0
exit
f2: call f3
r0 = 0
exit
f3: call f4
r0 = 0
exit
f4: call f5
r0 = 0
exit
f5: call f6
r0 = 0
exit
f6: call f7
r0 = 0
exit
f7: call f8  ; error: the call stack of 8 frames is too deep !
r0 = 0
exit
f8: r0 = 0
exit

=== stacks of a chain through a dead call add up
r1 = 0  ; error: combined stack size of 3 calls is 528. Too large
*(u64 *)(r10 - 256) = r1
call f
r1 = 0
call g
r0 = 0
exit
f: r2 = 0
*(u64 *)(r10 - 256) = r2
if r1 == 0 goto +1
call g
r0 = 0
exit
g: r2 = 0
*(u64 *)(r10 - 8) = r2
r0 = 0
exit
