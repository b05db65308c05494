/* Shared scaffolding of the JIT benchmark programs (see scripts/bench-jit.sh).
 *
 * Each program is one always-inlined function `u32 NAME(u8 *data, u8 *end)` over a
 * buffer the harness fills; it checks its bounds against `end` as the kernel
 * verifier requires. The same body is built three ways:
 *   - clang-19 -O2 -target bpf: section "xdp" (for the kernel, BPF_PROG_TEST_RUN with
 *     the buffer as the packet) and section "bpfbox" (for bpfbox and rbpf: r1 points
 *     at `struct bench_ctx`, two 64-bit pointers, since rbpf has no xdp_md);
 *   - gcc -O2 natively: an exported `unsigned native_NAME(u8 *, u8 *)`.
 * Both BPF entries run the same inlined body; only the two context loads differ.
 */
#ifndef BENCH_H
#define BENCH_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define INLINE static inline __attribute__((always_inline))

#ifdef __bpf__
#define SEC(name) __attribute__((section(name), used))

/* The kernel's XDP context (uapi linux/bpf.h), declared here to need no headers. */
struct xdp_md {
	u32 data;
	u32 data_end;
	u32 data_meta;
	u32 ingress_ifindex;
	u32 rx_queue_index;
	u32 egress_ifindex;
};

struct bench_ctx {
	u64 data;
	u64 data_end;
};

#define BENCH(name)                                                            \
	SEC("xdp") int name##_xdp(struct xdp_md *ctx)                              \
	{                                                                          \
		return name((u8 *)(long)ctx->data, (u8 *)(long)ctx->data_end);         \
	}                                                                          \
	SEC("bpfbox") int name##_bpfbox(struct bench_ctx *ctx)                     \
	{                                                                          \
		return name((u8 *)(long)ctx->data, (u8 *)(long)ctx->data_end);         \
	}                                                                          \
	char _license[] SEC("license") = "GPL";
#else
#define BENCH(name)                                                            \
	unsigned native_##name(u8 *data, u8 *end) { return name(data, end); }
#endif

/* Big-endian loads (the packet programs). */
INLINE u32 be16(const u8 *p) { return ((u32)p[0] << 8) | p[1]; }
INLINE u32 be32(const u8 *p)
{
	return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

#endif
