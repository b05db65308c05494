#include "common.h"
struct { __uint(type, 27); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("kprobe/do_nanosleep") int prog(void *ctx) {
	__u64 *e = bpf_ringbuf_reserve(&rb, 16, 0);
	if (!e) return 0;
	e[0] = 1; e[1] = 2;
	if (bpf_get_prandom_u32() & 1) bpf_ringbuf_discard(e, 0);
	else bpf_ringbuf_submit(e, 0);
	return 0;
}
