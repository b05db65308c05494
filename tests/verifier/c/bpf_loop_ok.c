#include "common.h"
static long cb(__u32 i, void *ctx) { return i > 5; }
SEC("kprobe/do_nanosleep") int prog(void *ctx) {
	bpf_loop(100, cb, 0, 0);
	return 0;
}
