# Call-heavy: 2,000 bpf-to-bpf calls of a small function f(i) = i*7 + 3 (xor'd
# with a stack slot it writes and reads back), summed in a callee-saved register.
    mov %r6, 0
    mov %r7, 0
loop:
    mov %r1, %r7
    call local f
    add %r6, %r0
    add %r7, 1
    jlt %r7, 2000, loop
    mov %r0, %r6
    exit
f:
    mov %r0, %r1
    mul %r0, 7
    add %r0, 3
    stxdw [%r10-8], %r1
    ldxdw %r2, [%r10-8]
    xor %r0, %r2
    exit
