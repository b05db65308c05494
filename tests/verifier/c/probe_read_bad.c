#include "common.h"
SEC("kprobe/do_nanosleep") int prog(void *ctx) {
	char buf[16];
	__u32 n = bpf_get_prandom_u32();
	bpf_probe_read_kernel(buf, n, ctx);
	return buf[3] & 1;
}
