// Maps declared in the BTF-style .maps section: count packets per IP protocol
// in a hash map and totals in an array.
#include "bpf_helpers_min.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 key = 0;
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&totals, &key);
	if (v)
		*v += data_end - data;
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(0x0800))
		return XDP_PASS;

	key = ip->protocol;
	v = bpf_map_lookup_elem(&proto_count, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&proto_count, &key, &one, BPF_ANY);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
