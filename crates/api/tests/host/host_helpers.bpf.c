// Programs for the host-helper tests (crates/api/tests/host_helpers.rs) and the C
// example host (crates/capi/examples/host.c). Two helpers the embedder defines:
//   1000  u64 host_add(u64 a, u64 b)                      scalars
//   1001  u64 host_hash(const void *data, u32 size)       memory + its size
//   1003  void host_fill(void *buf, u32 size)             memory the helper writes + its size
// `good` uses them as declared; the others misuse them and must be rejected.
// Rebuild: ./build.sh (the object is committed).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __u64 (*host_add)(__u64 a, __u64 b) = (void *)1000;
static __u64 (*host_hash)(const void *data, __u32 size) = (void *)1001;
static __u64 (*host_missing)(__u64 a) = (void *)1002;
static void (*host_fill)(void *buf, __u32 size) = (void *)1003;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static void put(__u32 k, __u64 v)
{
	bpf_map_update_elem(&results, &k, &v, BPF_ANY);
}

// results[0] = host_hash(first 8 packet bytes), results[1] = host_add(len, 1000);
// returns XDP_PASS.
SEC("xdp")
int good(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	char buf[8];

	if (data + 8 > end)
		return XDP_ABORTED;
	__builtin_memcpy(buf, data, 8);
	put(0, host_hash(buf, sizeof(buf)));
	put(1, host_add(end - data, 1000));
	return XDP_PASS;
}

// results[2] = the sum of the 16 bytes host_fill wrote into an uninitialized buffer.
SEC("xdp")
int fill(struct xdp_md *ctx)
{
	__u8 buf[16];
	__u64 sum = 0;

	host_fill(buf, sizeof(buf));
	for (int i = 0; i < 16; i++)
		sum += buf[i];
	put(2, sum);
	return XDP_PASS;
}

// A scalar where host_hash wants memory.
SEC("xdp")
int wrong_arg_type(struct xdp_md *ctx)
{
	__u64 addr = bpf_get_prandom_u32();

	put(0, host_hash((const void *)addr, 8));
	return XDP_PASS;
}

// 16 bytes read from a packet checked for 8.
SEC("xdp")
int bad_size(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (data + 8 > end)
		return XDP_ABORTED;
	put(0, host_hash(data, 16));
	return XDP_PASS;
}

// A helper id the host did not define.
SEC("xdp")
int unknown_helper(struct xdp_md *ctx)
{
	put(0, host_missing(1));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
