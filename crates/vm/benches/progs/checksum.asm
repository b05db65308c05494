# Memory-heavy: the Internet checksum (RFC 1071) of a 1500-byte packet at r1,
# 16-bit loads, then folded to 16 bits and complemented.
    mov %r0, 0
    mov %r3, 0
    mov %r4, %r1
loop:
    ldxh %r5, [%r4]
    add %r0, %r5
    ldxh %r5, [%r4+2]
    add %r0, %r5
    add %r4, 4
    add %r3, 4
    jlt %r3, 1500, loop
    mov %r1, %r0
    rsh %r1, 16
    and %r0, 0xffff
    add %r0, %r1
    mov %r1, %r0
    rsh %r1, 16
    and %r0, 0xffff
    add %r0, %r1
    xor %r0, 0xffff
    exit
