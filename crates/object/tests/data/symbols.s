# Symbol selection: several symbols at one address, no symbol at offset 0, an OBJECT symbol.
	.section sec1,"ax",@progbits
	r0 = 0
	.globl bfun
	.type bfun,@function
	.globl afun
	.type afun,@function
afun:
bfun:
loc:
	goto +0
	goto -3
	goto -2
	if r1 > r2 goto +3
	goto +1
	exit
	.section sec2,"ax",@progbits
	.section sec3,"ax",@progbits
zz:
	goto -1
	goto +1
	exit
	.section sec4,"ax",@progbits
	exit
	.type objsym,@object
objsym:
	goto -2
	.size objsym, 8
	exit
