#include "common.h"
SEC("kprobe/do_nanosleep") int prog(void *ctx) {
	__u64 sum = 0;
	for (int i = 0; i < 16; i++) sum += bpf_get_prandom_u32();
	return sum & 1;
}
