// SPDX-License-Identifier: GPL-2.0
// Malformed on purpose: a BTF-defined hash map without a key (key_size 0).
// The loader must refuse it naming the map and the section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(value_size, 8);
	__uint(max_entries, 16);
} keyless SEC(".maps");

SEC("xdp")
int use_keyless(struct xdp_md *ctx)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&keyless, &k) ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
