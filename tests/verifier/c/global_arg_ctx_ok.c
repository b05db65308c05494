/* __arg_ctx: a void * argument is the context. */
#include "common.h"
#define __noinline __attribute__((noinline))
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
static long (*bpf_xdp_load_bytes)(void *ctx, __u32 off, void *buf, __u32 len) = (void *)189;
__noinline int first_byte(void *ctx __arg_ctx) { __u8 b = 0; bpf_xdp_load_bytes(ctx, 0, &b, 1); return b; }
SEC("xdp") int prog(struct xdp_md *ctx) { return first_byte(ctx) > 3 ? 2 : 1; }
