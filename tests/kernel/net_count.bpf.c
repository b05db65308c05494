// Attach-test programs for network hooks: each counts what it sees in one slot of
// bbx_net_hits (0: xdp IPv4 UDP, 1: tc IPv4, 2: cgroup_skb, 3: socket creations).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} bbx_net_hits SEC(".maps");

static __always_inline void hit(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&bbx_net_hits, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int bbx_xdp_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP) && ip->protocol == IPPROTO_UDP)
		hit(0);
	return XDP_PASS;
}

SEC("tc")
int bbx_tc_count(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IP))
		hit(1);
	return 0; /* TC_ACT_OK */
}

SEC("cgroup_skb/egress")
int bbx_cg_skb(struct __sk_buff *skb)
{
	hit(2);
	return 1;
}

SEC("cgroup/sock_create")
int bbx_sock_create(struct bpf_sock *sk)
{
	hit(3);
	return 1;
}

char _license[] SEC("license") = "GPL";
