# Tight arithmetic loop: 10,000 iterations of multiply/add/xor/shift on registers.
# r0 = accumulator, r1 = i, r2 = a running product.
    mov %r0, 0
    mov %r1, 0
    mov %r2, 1
loop:
    mov %r3, %r1
    mul %r3, 0x9e3779b1
    add %r0, %r3
    xor %r0, %r1
    mul %r2, 31
    add %r2, 7
    rsh %r3, 3
    add %r0, %r3
    add %r1, 1
    jlt %r1, 10000, loop
    add %r0, %r2
    exit
