// xdpdrop: an XDP filter that drops UDP datagrams to one port (config[0]) and counts
// what it passes and drops by IP protocol: counts[verdict * 256 + protocol], verdict
// 0 passed, 1 dropped; non-IPv4 frames count as protocol 255.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tools.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static int verdict(__u32 proto, int drop)
{
	__u32 k = (drop ? 256 : 0) + proto;
	__u64 *c = bpf_map_lookup_elem(&counts, &k);

	if (c)
		*c += 1;
	return drop ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_drop_port(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;
	__u32 port;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return verdict(255, 0);
	if (ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return verdict(ip->protocol, 0);
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return verdict(ip->protocol, 0);
	port = config_value();
	return verdict(IPPROTO_UDP, port && bpf_ntohs(udp->dest) == port);
}

char LICENSE[] SEC("license") = "GPL";
