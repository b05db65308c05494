/* A hidden global function is static to libbpf: verified with its caller's knowledge. */
#include "common.h"
#define __noinline __attribute__((noinline))
__attribute__((visibility("hidden"))) __noinline int deref(int *p) { return *p + 1; }
SEC("xdp") int prog(struct xdp_md *ctx) { int x = ctx->rx_queue_index; return deref(&x) > 4 ? 2 : 1; }
