# Ties between symbols at the same address: header vs annotation choice.
	.section sec1,"ax",@progbits
	.type zdata,@object
	.type afunc,@function
	.type bfunc,@function
zdata:
afunc:
bfunc:
	goto -1
	exit
	.section .text,"ax",@progbits
	.section sec3,"ax",@progbits
	.type yfunc,@function
	.type xfunc,@notype
xfunc:
yfunc:
	goto -1
	.type m1,@function
	.type m2,@object
m1:
m2:
	goto -1
