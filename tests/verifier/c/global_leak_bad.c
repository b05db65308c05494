/* A global function must release what it acquires before it returns. */
#include "common.h"
#define __noinline __attribute__((noinline))
struct { __uint(type, 27); __uint(max_entries, 4096); } rb SEC(".maps");
__noinline int reserve(int n) { __u32 *r = bpf_ringbuf_reserve(&rb, 4, 0); if (!r) return 0; *r = n; return 1; }
SEC("xdp") int prog(struct xdp_md *ctx) { return reserve(ctx->rx_queue_index) ? 2 : 1; }
