#include "common.h"
SEC("kprobe/do_nanosleep") int prog(void *ctx) {
	__u64 sum = 0;
	__u32 n = bpf_get_prandom_u32();
	for (__u32 i = 0; i != n; i++) sum += bpf_get_prandom_u32();
	return sum & 1;
}
