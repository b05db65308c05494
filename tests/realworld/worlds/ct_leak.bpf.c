// SPDX-License-Identifier: GPL-2.0
// Rejected by the kernel's verifier and bpfbox's alike: a conntrack reference that
// is not released on one path (crates/cli/tests/world.rs).
#include "xdp_common.h"

struct bpf_ct_opts {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u16 ct_zone_id;
	__u8 ct_zone_dir;
	__u8 reserved[3];
};

struct nf_conn {
	int _opaque;
};

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts *,
					 __u32) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;

SEC("xdp")
int ct_leak(struct xdp_md *ctx)
{
	struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = IPPROTO_TCP };
	struct bpf_sock_tuple tup = {};
	struct nf_conn *ct;

	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (!ct)
		return XDP_PASS;
	if (opts.dir)
		bpf_ct_release(ct);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
