// SPDX-License-Identifier: GPL-2.0
// Sections libbpf 1.x does not know: the programs load with no type (they can
// be typed with --type), the object does not fail.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("my_custom_section")
int custom_prog(void *ctx)
{
	return 1;
}

SEC("foo/bar")
int foo_bar_prog(void *ctx)
{
	return 2;
}

SEC("xdp")
int typed_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
