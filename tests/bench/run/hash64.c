/* 64 hash-map lookups a run (a flow table probed per packet): keys 0..63, each
 * inserted by the first run that misses it, then found by every later run. */
#include "../../progs/bpf_helpers_min.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} flows SEC(".maps");

SEC("xdp") int hash64(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < 64; i++) {
		__u32 key = i * 2654435761u;
		__u64 *v = bpf_map_lookup_elem(&flows, &key);
		if (v) {
			sum += *v;
		} else {
			__u64 one = i;
			bpf_map_update_elem(&flows, &key, &one, BPF_ANY);
		}
	}
	return sum == 64 * 63 / 2 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
