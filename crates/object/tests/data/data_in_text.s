# Data symbols inside an executable section, and code at unaligned offsets.
	.section sec2,"ax",@progbits
s2:
	exit
	.type dat,@object
dat:
	.byte 0x41,0x42,0x20,0x7e,0x7f,0x00,1,2,3,4,5,6,7,8,9,10,11
	.size dat, 17
	.type dat2,@object
dat2:
	.byte 1,2,3
	.type f3,@function
f3:
	exit
	.byte 1,2,3,4
