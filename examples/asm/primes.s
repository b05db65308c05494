# Count the primes below 1000 by trial division (llvm-objdump syntax).
# bpfbox run examples/asm/primes.s   ->  retval: 0xa8 (168)
	r0 = 0
	r1 = 2
outer:
	if r1 >= 1000 goto done
	r2 = 2
inner:
	r3 = r2
	r3 *= r2
	if r3 > r1 goto prime
	r4 = r1
	r4 %= r2
	if r4 == 0 goto next
	r2 += 1
	goto inner
prime:
	r0 += 1
next:
	r1 += 1
	goto outer
done:
	exit
