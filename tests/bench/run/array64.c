/* 64 array-map lookups a run (per-CPU-free counters indexed by a small key),
 * each incremented. */
#include "../../progs/bpf_helpers_min.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

SEC("xdp") int array64(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < 64; i++) {
		__u32 key = i;
		__u64 *v = bpf_map_lookup_elem(&counters, &key);
		if (!v)
			return XDP_ABORTED;
		*v += 1;
		sum += *v;
	}
	return sum ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
