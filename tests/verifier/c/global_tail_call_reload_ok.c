/* After a global function that makes a tail call, packet pointers read again from
 * the context and checked again are fine. */
#include "common.h"
#define __noinline __attribute__((noinline))
static long (*bpf_tail_call)(void *ctx, void *map, __u32 index) = (void *)12;
struct { __uint(type, 3); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } progs SEC(".maps");
__noinline int chain(struct xdp_md *ctx) { bpf_tail_call(ctx, &progs, 0); return 0; }
SEC("xdp") int prog(struct xdp_md *ctx) {
	int r = chain(ctx);
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 14 > end) return 1;
	return data[12] + r > 3 ? 2 : 1;
}
