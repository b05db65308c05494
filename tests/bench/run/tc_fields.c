/* A tc classifier that reads the __sk_buff fields a real one reads (len,
 * protocol, ifindex, data, data_end), parses Ethernet + IPv4, and writes mark,
 * priority and cb[0]: converted context accesses in both directions. */
#include "../../progs/bpf_helpers_min.h"

SEC("tc") int tc_fields(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u8 *p = data;
	if (p + 34 > (__u8 *)end)
		return TC_ACT_OK;
	if (skb->protocol != bpf_htons(0x0800))
		return TC_ACT_OK;
	__u32 mark = skb->len + skb->ifindex;
	mark ^= (__u32)p[23] << 8; /* IP protocol */
	mark ^= *(__u32 *)(p + 26); /* source address */
	skb->mark = mark;
	skb->priority = p[23];
	skb->cb[0] = skb->len;
	return p[23] == 17 ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
