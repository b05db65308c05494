; Open-coded number iterators (bpf_iter_num_new/next/destroy, what bpf_for uses):
; the iterator's stack slot, its reference, the elements next() returns and loops
; that converge. `call kfunc NAME` is bpfbox's kfunc id here, the running kernel's
; BTF id of the same function in kernel_corpus.rs.
; prog: xdp

=== a loop over an iterator, destroyed after
; accept
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
loop: r1 = r6
call kfunc bpf_iter_num_next
if r0 == 0 goto done
r1 = *(u32 *)(r0 + 0)
goto loop
done: r1 = r6
call kfunc bpf_iter_num_destroy
r0 = 0
exit

=== an iterator never destroyed
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r0 = 0
exit  ; error: Unreleased reference id=1 alloc_insn=5

=== next on a slot that holds no iterator
r1 = r10
r1 += -8
call kfunc bpf_iter_num_next  ; error: expected an initialized iter_num as arg #0
r0 = 0
exit

=== an iterator created twice on one slot
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new  ; error: expected uninitialized iter_num as arg #0
r0 = 0
exit

=== an iterator destroyed twice
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = r6
call kfunc bpf_iter_num_destroy
r1 = r6
call kfunc bpf_iter_num_destroy  ; error: expected an initialized iter_num as arg #0
r0 = 0
exit

=== an element read after its iterator was destroyed
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = r6
call kfunc bpf_iter_num_next
r7 = r0
r1 = r6
call kfunc bpf_iter_num_destroy
if r7 == 0 goto out
r0 = *(u32 *)(r7 + 0)  ; error: R7 invalid mem access 'scalar'
out: r0 = 0
exit

=== an element written
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = r6
call kfunc bpf_iter_num_next
if r0 == 0 goto out
r1 = 5
*(u32 *)(r0 + 0) = r1  ; error: R0 cannot write into rdonly_mem
out: r1 = r6
call kfunc bpf_iter_num_destroy
r0 = 0
exit

=== an element read past its 4 bytes
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = r6
call kfunc bpf_iter_num_next
if r0 == 0 goto out
r1 = *(u32 *)(r0 + 4)  ; error: invalid access to memory, mem_size=4 off=4 size=4
out: r1 = r6
call kfunc bpf_iter_num_destroy
r0 = 0
exit

=== an element read without a NULL check
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = r6
call kfunc bpf_iter_num_next
r1 = *(u32 *)(r0 + 0)  ; error: R0 invalid mem access 'scalar'
r1 = r6
call kfunc bpf_iter_num_destroy
r0 = 0
exit

=== the iterator's bytes read as data
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r7 = *(u64 *)(r10 - 8)  ; error: invalid read from stack off -8+0 size 8
r1 = r6
call kfunc bpf_iter_num_destroy
r0 = 0
exit

=== the iterator's slot overwritten, then next
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = r6
call kfunc bpf_iter_num_next  ; error: expected an initialized iter_num as arg #0
r0 = 0
exit

=== the iterator's slot overwritten: its reference leaks
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = 7
*(u32 *)(r10 - 4) = r1
r0 = 0
exit  ; error: Unreleased reference id=1 alloc_insn=5

=== an iterator that is not on the stack
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new  ; error: arg#0 expected pointer to an iterator on stack
r0 = 0
exit

=== an iterator at a misaligned stack offset
r1 = r10
r1 += -12
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new  ; error: expected uninitialized iter_num as arg #0
r0 = 0
exit

=== next after destroy
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
r1 = r6
call kfunc bpf_iter_num_destroy
r1 = r6
call kfunc bpf_iter_num_next  ; error: expected an initialized iter_num as arg #0
r0 = 0
exit

=== the iterator handed to a helper as a map key
; map: hash key=8 value=8 entries=4
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
ld_pseudo r1, 0x5, 0
r2 = r6
call 1  ; error: invalid read from stack R2 off -8+0 size 8
r1 = r6
call kfunc bpf_iter_num_destroy
r0 = 0
exit

=== a start that is a pointer
r6 = r10
r6 += -8
r1 = r6
r2 = r10
r3 = 10
call kfunc bpf_iter_num_new  ; error: R2 is not a scalar
r0 = 0
exit

=== an element as an array index, bounded by a check
; accept
; map: array key=4 value=16 entries=1
r1 = 0
*(u32 *)(r10 - 16) = r1
r2 = r10
r2 += -16
ld_pseudo r1, 0x5, 0
call 1
if r0 == 0 goto end
r8 = r0
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 1000
call kfunc bpf_iter_num_new
loop: r1 = r6
call kfunc bpf_iter_num_next
if r0 == 0 goto done
r1 = *(u32 *)(r0 + 0)
if r1 > 15 goto loop
r2 = r8
r2 += r1
r3 = *(u8 *)(r2 + 0)
goto loop
done: r1 = r6
call kfunc bpf_iter_num_destroy
end: r0 = 0
exit

=== an element as an array index, unbounded
; map: array key=4 value=16 entries=1
r1 = 0
*(u32 *)(r10 - 16) = r1
r2 = r10
r2 += -16
ld_pseudo r1, 0x5, 0
call 1
if r0 == 0 goto end
r8 = r0
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
loop: r1 = r6
call kfunc bpf_iter_num_next
if r0 == 0 goto done
r1 = *(u32 *)(r0 + 0)
r2 = r8
r2 += r1
r3 = *(u8 *)(r2 + 0)  ; error: R2 unbounded memory access
goto loop
done: r1 = r6
call kfunc bpf_iter_num_destroy
end: r0 = 0
exit

=== an accumulator the loop widens converges
; accept
r6 = r10
r6 += -8
r7 = 0
r1 = r6
r2 = 0
r3 = 100000
call kfunc bpf_iter_num_new
loop: r1 = r6
call kfunc bpf_iter_num_next
if r0 == 0 goto done
r7 += 3
goto loop
done: r1 = r6
call kfunc bpf_iter_num_destroy
r0 = 0
exit

=== a counter kept exact by its use does not converge
r6 = r10
r6 += -8
r7 = 0
r1 = r6
r2 = 0
r3 = 100
call kfunc bpf_iter_num_new
loop: r1 = r6
call kfunc bpf_iter_num_next
if r0 == 0 goto done
r7 += 1
if r7 > 100000000 goto done
goto loop
done: r1 = r6
call kfunc bpf_iter_num_destroy
r0 = 0  ; error: BPF program is too large
exit

=== next called again after NULL, in a loop without exit test
r6 = r10
r6 += -8
r1 = r6
r2 = 0
r3 = 10
call kfunc bpf_iter_num_new
loop: r1 = r6
call kfunc bpf_iter_num_next  ; error: BPF program is too large
goto loop

=== an accumulator decided after the loop where one pass made it small (over-strict)
r7 = 7
call 7
r9 = r0
r9 &= 15
r1 = r10
r1 += -8
r2 = 2
r3 = 3
call kfunc bpf_iter_num_new
loop: r1 = r10
r1 += -8
call kfunc bpf_iter_num_next
if r0 == 0 goto done
r1 = *(u32 *)(r0 + 0)
r9 += r1
goto loop
done: r1 = r10
r1 += -8
call kfunc bpf_iter_num_destroy
if r9 s> 1 goto +0
if r9 == r7 goto +0  ; error: BPF program is too large
r0 = 0
exit
