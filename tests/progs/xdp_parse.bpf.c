// XDP: parse Ethernet + IPv4 + UDP with bounds checks; drop UDP to port 9,
// pass everything else.
#include "bpf_helpers_min.h"

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto != bpf_htons(0x0800))
		return XDP_PASS;

	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_ABORTED;
	__u32 ihl = (ip->ihl_version & 0x0f) * 4;
	if (ihl < sizeof(*ip))
		return XDP_DROP;
	if (ip->protocol != 17)
		return XDP_PASS;

	struct udphdr *udp = (void *)ip + ihl;
	if ((void *)(udp + 1) > data_end)
		return XDP_ABORTED;
	if (udp->dest == bpf_htons(9))
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
