; Pointer arithmetic and comparison rules: which operators, which pointer types,
; fixed and variable offsets, leaks into memory (privileged).
; prog: socket_filter
; map: array key=4 value=16 entries=1

=== ctx plus a constant is a modified ctx
r1 += 4
r0 = *(u32 *)(r1 + 0)  ; error: dereference of modified ctx ptr R1 off=4 disallowed
exit

=== ctx plus a variable offset
r6 = r1
call 7
r0 &= 4
r6 += r0
r0 = *(u32 *)(r6 + 0)  ; error: variable ctx access var_off=(0x0; 0x4) disallowed
exit

=== stack pointer minus a constant then plus back
r1 = r10
r1 -= 16  ; error: R1 subtraction from stack pointer prohibited
r1 += 8
r2 = 1
*(u64 *)(r1 + 0) = r2
r0 = 0
exit

=== stack pointer negated
; accept
r1 = r10
r1 = -r1
r0 = 0
exit

=== stack pointer shifted
r1 = r10
r1 <<= 1  ; error: R1 pointer arithmetic with <<= operator prohibited
r0 = 0
exit

=== stack pointer or-ed
r1 = r10
r1 |= 1  ; error: R1 bitwise operator |= on pointer prohibited
r0 = 0
exit

=== pointer plus pointer
r1 = r10
r2 = r10
r1 += r2  ; error: R1 pointer += pointer prohibited
r0 = 0
exit

=== stack pointer minus stack pointer is a scalar
; accept
r1 = r10
r1 += -8
r2 = r10
r1 -= r2
r0 = r1
exit

=== ctx minus stack pointer
; accept
r2 = r10
r1 -= r2
r0 = 0
exit

=== 32-bit add to a stack pointer
r1 = r10
w1 += -8  ; error: R1 32-bit pointer arithmetic prohibited
r0 = 0
exit

=== scalar plus pointer gives a pointer
; accept
r1 = -8
r1 += r10
r2 = 1
*(u64 *)(r1 + 0) = r2
r0 = 0
exit

=== map value pointer with a constant offset
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r0 += 8
r1 = *(u64 *)(r0 + 0)
out: r0 = 0
exit

=== map value pointer with a constant offset past the end
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r0 += 16
r1 = *(u8 *)(r0 + 0)  ; error: invalid access to map value, value_size=16 off=16 size=1
out: r0 = 0
exit

=== map value pointer moved back before a read
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r0 += 16
r1 = *(u64 *)(r0 - 8)
out: r0 = 0
exit

=== map value pointer minus a bounded scalar
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r6 = r0
r6 += 15
call 7
r0 &= 15
r6 -= r0
r0 = *(u8 *)(r6 + 0)  ; error: R6 unbounded memory access, make sure to bounds check any such access
out: r0 = 0
exit

=== map value pointer times two
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r0 *= 2  ; error: R0 pointer arithmetic with *= operator prohibited
out: r0 = 0
exit

=== map pointer plus a constant
ld_pseudo r1, 0x5, 0x0
r1 += 8  ; error: R1 pointer arithmetic on map_ptr prohibited
r0 = 0
exit

=== map pointer dereferenced
; btf
; accept
ld_pseudo r1, 0x5, 0x0
r0 = *(u64 *)(r1 + 0)
r0 = 0
exit

=== map pointer written
; btf
ld_pseudo r1, 0x5, 0x0
r2 = 0
*(u64 *)(r1 + 8) = r2  ; error: only read from bpf_array is supported
r0 = 0
exit

=== map pointer read past the kernel struct
; btf
ld_pseudo r1, 0x5, 0x0
r0 = *(u64 *)(r1 + 30000)  ; error: access beyond struct bpf_array at off 30000 size 8
r0 = 0
exit

=== map pointer read at a negative offset
; btf
ld_pseudo r1, 0x5, 0x0
r0 = *(u64 *)(r1 - 8)  ; error: invalid negative access: off=-8
r0 = 0
exit

=== pointer stored into a map value
; accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
*(u64 *)(r0 + 0) = r10
out: r0 = 0
exit

=== pointer compared with a scalar
; accept
call 7
r1 = r10
if r1 > r0 goto +1
r0 = 0
exit

=== 32-bit compare of a pointer
; accept
r0 = 0
r1 = r10
if w1 > 5 goto +1
r0 = 1
exit

=== pointer compared with zero
; accept
r0 = 0
r1 = r10
if r1 == 0 goto +1
r0 = 1
exit

=== scalar minus a map value pointer
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 0x5, 0x0
call 1
if r0 == 0 goto out
r1 = 100
r1 -= r0  ; error: R1 tried to subtract pointer from scalar
out: r0 = 0
exit

=== pointer plus a huge constant
r1 = r10
r1 += 0x40000000  ; error: math between fp pointer and 1073741824 is not allowed
r0 = 0
exit

=== pointer plus a huge constant register
r1 = r10
r2 = 0x20000000
r1 += r2  ; error: math between fp pointer and 536870912 is not allowed
r0 = 0
exit

=== stack pointer and with a constant
r1 = r10
r1 &= -8  ; error: R1 bitwise operator &= on pointer prohibited
r0 = 0
exit

=== stack pointer divided
r1 = r10
r1 /= 2  ; error: R1 pointer arithmetic with /= operator prohibited
r0 = 0
exit

=== pointer moved with a 32-bit move becomes a scalar
; accept
w1 = w10
r0 = r1
exit

=== sign-extending move of a pointer
; accept
r1 = (s32)r10
r0 = 0
exit

=== byte swap of a pointer
; accept
r1 = r10
r1 = be64 r1
r0 = 0
exit

=== pointer stored to the stack and read back as bytes
*(u64 *)(r10 - 8) = r10
r0 = *(u8 *)(r10 - 8)  ; error: invalid size of register fill
exit

=== return a pointer to the stack from main
; accept
r0 = r10
exit
