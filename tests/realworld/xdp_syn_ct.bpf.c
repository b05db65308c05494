// SPDX-License-Identifier: GPL-2.0
// A SYN-proxy-ish XDP program on the conntrack kfuncs, in the style of the kernel's
// xdp_synproxy and test_bpf_nf selftests: TCP packets are looked up in conntrack
// (bpf_xdp_ct_lookup); known flows pass (either direction), a SYN of an unknown flow
// gets an entry (bpf_xdp_ct_alloc, bpf_ct_set_timeout, bpf_ct_insert_entry) and is
// answered (XDP_TX with MACs, addresses and ports swapped and SYN|ACK set, where a
// real proxy would put its cookie), anything else unknown is dropped. Every lookup's
// result is logged in `ct_log`; `ct_errors` logs the kfuncs' error codes. Written for
// bpfbox's world tests.
#include "xdp_common.h"
#include "slot_store.h"

struct bpf_ct_opts {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u16 ct_zone_id;
	__u8 ct_zone_dir;
	__u8 reserved[3];
};

/* Opaque here; defined (not just declared) so that libbpf finds the prototypes
 * compatible with the kernel's. */
struct nf_conn {
	int _opaque;
};
struct nf_conn___init {
	int _opaque;
};

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts *,
					 __u32) __ksym;
extern struct nf_conn___init *bpf_xdp_ct_alloc(struct xdp_md *, struct bpf_sock_tuple *, __u32,
					       struct bpf_ct_opts *, __u32) __ksym;
extern struct nf_conn *bpf_ct_insert_entry(struct nf_conn___init *) __ksym;
extern void bpf_ct_set_timeout(struct nf_conn___init *, __u32) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;

#define BPF_F_CURRENT_NETNS (-1)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 32);
} ct_log SEC(".maps"); /* slot 0: count; then per packet: error (low 32) | dir << 32 | stage << 40 */

static __always_inline void log_ct(__s32 err, __u8 dir, __u8 stage)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&ct_log, &zero);

	if (!n)
		return;
	*n += 1;
	slot_store(&ct_log, 1 + (*n - 1) % 31, (__u32)err | (__u64)dir << 32 | (__u64)stage << 40);
}

static __always_inline void swap_reply(struct ethhdr *eth, struct iphdr *iph, struct tcphdr *th)
{
	__u8 mac[ETH_ALEN];
	__be32 a = iph->saddr;
	__be16 p = th->source;

	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	iph->saddr = iph->daddr;
	iph->daddr = a;
	th->source = th->dest;
	th->dest = p;
	th->ack = 1;
}

SEC("xdp")
int xdp_syn_ct(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct bpf_ct_opts opts = { .netns_id = BPF_F_CURRENT_NETNS, .l4proto = IPPROTO_TCP };
	struct bpf_sock_tuple tup = {};
	struct ethhdr *eth = data;
	struct nf_conn___init *nct;
	struct nf_conn *ct;
	struct iphdr *iph;
	struct tcphdr *th;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end || iph->ihl != 5 || iph->protocol != IPPROTO_TCP)
		return XDP_PASS;
	th = (void *)(iph + 1);
	if ((void *)(th + 1) > data_end)
		return XDP_DROP;
	tup.ipv4.saddr = iph->saddr;
	tup.ipv4.daddr = iph->daddr;
	tup.ipv4.sport = th->source;
	tup.ipv4.dport = th->dest;

	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (ct) {
		log_ct(0, opts.dir, 1);
		bpf_ct_release(ct);
		return XDP_PASS;
	}
	if (!th->syn || th->ack) {
		log_ct(opts.error, 0, 2);
		return XDP_DROP;
	}
	nct = bpf_xdp_ct_alloc(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (!nct) {
		log_ct(opts.error, 0, 3);
		return XDP_DROP;
	}
	bpf_ct_set_timeout(nct, 30000);
	ct = bpf_ct_insert_entry(nct);
	if (!ct) {
		log_ct(0, 0, 4);
		return XDP_DROP;
	}
	bpf_ct_release(ct);
	log_ct(opts.error, 0, 5);
	swap_reply(eth, iph, th);
	return XDP_TX;
}

/* The kfuncs' own checks. */
SEC("xdp")
int ct_errors(struct xdp_md *ctx)
{
	struct bpf_ct_opts opts = { .netns_id = BPF_F_CURRENT_NETNS, .l4proto = IPPROTO_TCP };
	struct bpf_sock_tuple tup = {};
	struct nf_conn___init *nct;
	struct nf_conn *ct;
	__u32 i = 0;

	tup.ipv4.saddr = bpf_htonl(0x0a000063);
	tup.ipv4.daddr = bpf_htonl(0x0a000001);
	tup.ipv4.sport = bpf_htons(4000);
	tup.ipv4.dport = bpf_htons(80);

#define TRY(expr)                                                  \
	do {                                                       \
		opts.error = 0;                                    \
		ct = expr;                                         \
		slot_store(&ct_log, ++i, (__u32)opts.error | (__u64)(ct != 0) << 32); \
		if (ct)                                            \
			bpf_ct_release(ct);                        \
	} while (0)

	opts.l4proto = IPPROTO_ICMP;
	TRY(bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)));
	opts.l4proto = IPPROTO_UDP;
	TRY(bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, 8));
	opts.netns_id = 5;
	TRY(bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)));
	opts.netns_id = -2;
	TRY(bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)));
	opts.netns_id = BPF_F_CURRENT_NETNS;
	TRY(bpf_xdp_ct_lookup(ctx, &tup, 20, &opts, sizeof(opts)));
	opts.reserved[1] = 1;
	TRY(bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)));
	opts.reserved[1] = 0;
	TRY(bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)));
	/* a UDP entry, inserted twice: the second insert finds it there */
	nct = bpf_xdp_ct_alloc(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (nct) {
		bpf_ct_set_timeout(nct, 10000);
		TRY(bpf_ct_insert_entry(nct));
	}
	nct = bpf_xdp_ct_alloc(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (nct)
		TRY(bpf_ct_insert_entry(nct));
	TRY(bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)));
	slot_store(&ct_log, ++i, opts.dir);
	opts.l4proto = IPPROTO_ICMP;
	nct = bpf_xdp_ct_alloc(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	slot_store(&ct_log, ++i, (__u32)opts.error | (__u64)(nct != 0) << 32);
	if (nct) {
		ct = bpf_ct_insert_entry(nct);
		if (ct)
			bpf_ct_release(ct);
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
