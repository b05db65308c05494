; A pointer compared with 0: the kernel decides the branch only for the pointer types
; it knows cannot be NULL (reg_not_null: map values and keys, map pointers, memory,
; referenced sockets); for ctx, stack and packet pointers both branches are walked,
; so a loop only such a test ends is an infinite loop, and unprivileged programs may
; not compare them.
; prog: socket_filter

=== loop exits only when ctx is NULL
l: if r1 == 0 goto +1  ; error: infinite loop detected
goto l
r0 = 0
exit

=== loop exits only when ctx is not NULL
l: if r1 != 0 goto +1  ; error: infinite loop detected
goto l
r0 = 0
exit

=== stack pointer compared with 0 walks both branches
r2 = r10
if r2 != 0 goto +2
r0 = *(u32 *)(r1 + 9996)  ; error: invalid bpf_context access off=9996 size=4
exit
r0 = 0
exit

=== map value compared with 0 after the null check is decided
; map: hash key=4 value=8 entries=4
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto +3
if r0 != 0 goto +1
r0 = *(u64 *)(r10 - 16)
r0 = 0
exit

=== ctx compared with 0, unprivileged
; unprivileged
if r1 == 0 goto +1  ; error: R1 pointer comparison prohibited
r0 = 0
r0 = 0
exit
