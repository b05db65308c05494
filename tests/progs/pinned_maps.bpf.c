// Two maps pinned by name, as xdp-tutorial's programs declare them (libbpf pins
// them at load under /sys/fs/bpf and reuses a pin of the same name): a per-run
// packet counter and the byte total. A test run must start from these maps' own
// zero contents and leave no pin behind.
#include "bpf_helpers_min.h"

#define LIBBPF_PIN_BY_NAME 1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bbx_pin_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bbx_pin_bytes SEC(".maps");

SEC("xdp")
int bbx_pin_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 key = 0;
	__u64 len = data_end - data, *v;

	/* Slot 0 counts packets; slot 1 holds the count seen before this packet, so a
	 * run that starts from a used map shows it in both slots. */
	v = bpf_map_lookup_elem(&bbx_pin_count, &key);
	if (!v)
		return XDP_ABORTED;
	__u64 before = *v;
	*v = before + 1;
	key = 1;
	bpf_map_update_elem(&bbx_pin_count, &key, &before, BPF_ANY);

	key = 0;
	v = bpf_map_lookup_elem(&bbx_pin_bytes, &key);
	if (v)
		__sync_fetch_and_add(v, len);
	else
		bpf_map_update_elem(&bbx_pin_bytes, &key, &len, BPF_ANY);
	return before == 0 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
