// The program bpfbox debug's tests step through: Ethernet + IPv4 parsing with
// pointers into the packet, a bpf-to-bpf call, a helper call and a per-protocol
// counter in a map value (crates/cli/tests/debug.rs).
#include "bpf_helpers_min.h"

struct stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct stats);
} proto_stats SEC(".maps");

static __noinline __u32 mix(__u32 a, __u32 b)
{
	__u32 h = a * 31 + b;
	h ^= h >> 7;
	return h;
}

SEC("xdp")
int xdp_debug_demo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto != bpf_htons(0x0800))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_ABORTED;

	__u32 key = ip->protocol;
	__u32 hash = mix(ip->saddr, ip->daddr);
	struct stats *st = bpf_map_lookup_elem(&proto_stats, &key);
	if (!st)
		return XDP_ABORTED;
	st->packets += 1;
	st->bytes += (long)data_end - (long)data;
	if (hash & 1)
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
