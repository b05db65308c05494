# Branch annotations for targets before the section start and past its end.
	.section sec1,"ax",@progbits
	goto -2
	goto +100
	.globl f2
	.type f2,@function
f2:
	goto -4
	exit
	.section sec2,"ax",@progbits
s2:
	exit
	.type dat,@object
dat:
	goto -3
	goto -3
	.size dat, 16
	.type f3,@function
f3:
	goto -4
	exit
