#include "common.h"
SEC("kprobe/do_nanosleep") int prog(void *ctx) {
	char buf[16];
	bpf_probe_read_kernel(buf, sizeof(buf), ctx);
	return buf[3] & 1;
}
