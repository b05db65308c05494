// A program in the bpf_conformance calling convention (r1 = memory, r2 = its length),
// used to test `bpfbox-conformance-plugin --elf`: sums the bytes of the memory.
#include "bpf_helpers_min.h"

SEC("socket")
int mem_sum(unsigned char *mem, unsigned long len)
{
	unsigned long sum = 0;
	for (unsigned long i = 0; i < len && i < 64; i++)
		sum += mem[i];
	return sum;
}

char LICENSE[] SEC("license") = "GPL";
