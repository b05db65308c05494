/* A global function that makes a tail call may change the packet (the tail-called
 * program might): the caller's packet pointers are invalid after the call. */
#include "common.h"
#define __noinline __attribute__((noinline))
static long (*bpf_tail_call)(void *ctx, void *map, __u32 index) = (void *)12;
struct { __uint(type, 3); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } progs SEC(".maps");
__noinline int chain(struct xdp_md *ctx) { bpf_tail_call(ctx, &progs, 0); return 0; }
SEC("xdp") int prog(struct xdp_md *ctx) {
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 14 > end) return 1;
	int r = chain(ctx);
	return data[12] + r > 3 ? 2 : 1;
}
