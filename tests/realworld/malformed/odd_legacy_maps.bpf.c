// SPDX-License-Identifier: GPL-2.0
// Malformed on purpose: a `maps` section whose definitions are 12 bytes long
// (not a struct bpf_map_def); the loader reports an unknown map section layout.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct short_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
};

struct short_def SEC("maps") tiny = { BPF_MAP_TYPE_ARRAY, 4, 8 };

SEC("socket")
int use_tiny(struct __sk_buff *skb)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&tiny, &k) != 0;
}

char _license[] SEC("license") = "GPL";
