// SPDX-License-Identifier: GPL-2.0
// Smaller skb helpers real tc/socket programs call, in the style of the kernel's
// selftests (test_tc_edt, load_bytes_relative, test_skb_helpers): ECN marking for an
// AQM-like policy (bpf_skb_ecn_set_ce), reading headers relative to the MAC or network
// header (bpf_skb_load_bytes_relative), the packet type (bpf_skb_change_type), the
// checksum level (bpf_csum_level), mirroring (bpf_clone_redirect) and the hash
// (bpf_set_hash_invalid). Every result goes to `misc_log`. Written for
// bpfbox's world tests.
#include "xdp_common.h"
#include <linux/pkt_cls.h>
#include "slot_store.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 32);
} misc_log SEC(".maps");

SEC("tc")
int tc_skb_misc(struct __sk_buff *skb)
{
	__u8 buf[8] = {};
	__u32 i = 0;

	/* Mark congestion on ECN-capable packets above 100 bytes, as an AQM would. */
	slot_store(&misc_log, i++, skb->len > 100 ? bpf_skb_ecn_set_ce(skb) : 7);
	slot_store(&misc_log, i++, bpf_skb_load_bytes_relative(skb, 0, buf, 6, BPF_HDR_START_MAC));
	slot_store(&misc_log, i++, *(__u64 *)buf);
	slot_store(&misc_log, i++, bpf_skb_load_bytes_relative(skb, 1, buf, 1, BPF_HDR_START_NET));
	slot_store(&misc_log, i++, buf[0]);
	slot_store(&misc_log, i++, bpf_skb_load_bytes_relative(skb, 0, buf, 8, 7));
	slot_store(&misc_log, i++, bpf_skb_load_bytes_relative(skb, skb->len, buf, 8, BPF_HDR_START_MAC));
	slot_store(&misc_log, i++, skb->pkt_type);
	slot_store(&misc_log, i++, bpf_skb_change_type(skb, 4));
	slot_store(&misc_log, i++, bpf_skb_change_type(skb, 3));
	slot_store(&misc_log, i++, skb->pkt_type);
	slot_store(&misc_log, i++, bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY));
	slot_store(&misc_log, i++, bpf_csum_level(skb, BPF_CSUM_LEVEL_INC));
	slot_store(&misc_log, i++, bpf_csum_level(skb, BPF_CSUM_LEVEL_INC));
	slot_store(&misc_log, i++, bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY));
	slot_store(&misc_log, i++, bpf_csum_level(skb, BPF_CSUM_LEVEL_DEC));
	slot_store(&misc_log, i++, bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY));
	slot_store(&misc_log, i++, bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET));
	slot_store(&misc_log, i++, bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY));
	slot_store(&misc_log, i++, bpf_csum_level(skb, 9));
	slot_store(&misc_log, i++, bpf_clone_redirect(skb, 2, 0));
	slot_store(&misc_log, i++, bpf_clone_redirect(skb, 1, BPF_F_INGRESS));
	slot_store(&misc_log, i++, bpf_clone_redirect(skb, 42, 0));
	slot_store(&misc_log, i++, bpf_clone_redirect(skb, 2, 4));
	bpf_set_hash_invalid(skb);
	slot_store(&misc_log, i++, skb->hash);
	return TC_ACT_OK;
}

/* VLAN tags: pushed out of band, moved into the packet by a second push, popped. */
SEC("tc")
int tc_vlan(struct __sk_buff *skb)
{
	__u32 i = 0;

	slot_store(&misc_log, i++, skb->vlan_present | skb->vlan_tci << 8 | (__u64)skb->vlan_proto << 32);
	slot_store(&misc_log, i++, skb->protocol | (__u64)skb->len << 32);
	slot_store(&misc_log, i++, bpf_skb_vlan_pop(skb));
	slot_store(&misc_log, i++, skb->vlan_present | skb->vlan_tci << 8 | (__u64)skb->vlan_proto << 32);
	slot_store(&misc_log, i++, skb->protocol | (__u64)skb->len << 32);
	slot_store(&misc_log, i++, bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 100));
	slot_store(&misc_log, i++, skb->vlan_present | skb->vlan_tci << 8 | (__u64)skb->vlan_proto << 32);
	slot_store(&misc_log, i++, bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021AD), 200));
	slot_store(&misc_log, i++, skb->vlan_present | skb->vlan_tci << 8 | (__u64)skb->vlan_proto << 32);
	slot_store(&misc_log, i++, skb->protocol | (__u64)skb->len << 32);
	slot_store(&misc_log, i++, bpf_skb_vlan_push(skb, 0x1234, 7));
	slot_store(&misc_log, i++, skb->vlan_present | skb->vlan_tci << 8 | (__u64)skb->vlan_proto << 32);
	slot_store(&misc_log, i++, skb->protocol | (__u64)skb->len << 32);
	slot_store(&misc_log, i++, bpf_skb_vlan_pop(skb));
	slot_store(&misc_log, i++, skb->vlan_present | skb->vlan_tci << 8 | (__u64)skb->vlan_proto << 32);
	slot_store(&misc_log, i++, skb->protocol | (__u64)skb->len << 32);
	return TC_ACT_OK;
}

/* A socket filter's view: its data starts at the network header. */
SEC("socket")
int sock_relative(struct __sk_buff *skb)
{
	__u8 buf[4] = {};
	__u32 i = 0;

	slot_store(&misc_log, i++, bpf_skb_load_bytes_relative(skb, 12, buf, 2, BPF_HDR_START_MAC));
	slot_store(&misc_log, i++, *(__u16 *)buf);
	slot_store(&misc_log, i++, bpf_skb_load_bytes_relative(skb, 9, buf, 1, BPF_HDR_START_NET));
	slot_store(&misc_log, i++, buf[0]);
	return skb->len;
}

char _license[] SEC("license") = "GPL";
