// Array lookups past the end (NULL), and hash map values as programs use them
// beyond reading a field: handed to helpers
// as another map's key and as the new value of their own key (replacing the
// element the program still points to), with a neighbour deleted in between.
// The JIT looks preallocated hash maps up without the generic helper path; the
// kernel test (crates/api/tests/kernel.rs) compares every run and the maps after.
#include "bpf_helpers_min.h"

struct val {
	__u64 n;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct val);
	__type(value, __u64);
} seen SEC(".maps");

/* An array smaller than the keys the program looks up: lookups past its end give
 * NULL (the JIT's inline array lookup has a branch for them). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} small SEC(".maps");

SEC("xdp")
int hash_values(struct xdp_md *ctx)
{
	__u64 len = (__u64)ctx->data_end - (__u64)ctx->data;
	__u32 key = len & 7;
	__u64 one = 1;
	__u64 *s = bpf_map_lookup_elem(&small, &key);

	if (!s)
		return XDP_ABORTED;
	*s += len;
	struct val *v = bpf_map_lookup_elem(&flows, &key);

	if (!v) {
		struct val first = { 1, len };

		bpf_map_update_elem(&flows, &key, &first, 1 /* BPF_NOEXIST */);
		return XDP_PASS;
	}
	v->n += 1;
	v->bytes += len;
	/* The value as another map's key. */
	__u64 *c = bpf_map_lookup_elem(&seen, v);
	if (c)
		*c += 1;
	else
		bpf_map_update_elem(&seen, v, &one, 0 /* BPF_ANY */);
	/* The value as its own key's new value: a fresh element replaces it. */
	bpf_map_update_elem(&flows, &key, v, 0 /* BPF_ANY */);
	__u32 next = (key + 1) & 7;
	bpf_map_delete_elem(&flows, &next);
	return v->n & 1 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
