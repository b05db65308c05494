// cgroup_skb: allow egress unless the packet is large and has the mark 0xdead,
// and count ingress bytes in a global.
#include "bpf_helpers_min.h"

__u64 ingress_bytes = 0;

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	if (skb->mark == 0xdead && skb->len > 1400)
		return 0;
	return 1;
}

SEC("cgroup_skb/ingress")
int cg_ingress(struct __sk_buff *skb)
{
	ingress_bytes += skb->len;
	return 1;
}

char _license[] SEC("license") = "GPL";
