/* Loops bounded by the kernel's loop budget: `may_goto` (Linux 6.9) written with
 * inline asm, as the condition of a counted loop and as the only bound of another. */
#include "bpf_helpers_min.h"

/* 1 while this function invocation's may_goto budget lasts, then 0. */
static __always_inline int budget_left(void)
{
	asm volatile goto("may_goto %l[spent]" :::: spent);
	return 1;
spent:
	return 0;
}

SEC("socket")
int can_loop_sum(struct __sk_buff *skb)
{
	__u32 squares[16];
	__u32 sum = 0, k = skb->len & 0xff;
	__u32 i;

#pragma clang loop unroll(disable)
	for (i = 0; i < 16 && budget_left(); i++)
		squares[i] = i * i + k;
	/* Only the budget bounds this one; the index check keeps it in the array. */
#pragma clang loop unroll(disable)
	for (i = 0; budget_left(); i++) {
		if (i >= 16)
			break;
		sum += squares[i];
	}
	return sum; /* 0 + 1 + 4 + ... + 225 + 16 * (len & 0xff) = 1240 + 16 * (len & 0xff) */
}

char LICENSE[] SEC("license") = "GPL";
