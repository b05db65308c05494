// tc classifier: mark packets by size and protocol, rewrite the first byte of
// the payload of short packets.
#include "bpf_helpers_min.h"

SEC("tc")
int tc_mark(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 mark = 0;

	if (skb->len > 1000)
		mark |= 1;
	if (skb->protocol == bpf_htons(0x86dd))
		mark |= 2;
	if (skb->vlan_present)
		mark |= 4 | (skb->vlan_tci << 8);
	skb->mark = mark;
	skb->cb[0] = skb->hash ^ mark;

	if (data + 15 <= data_end && skb->len < 64) {
		__u8 *p = data + 14;
		*p = *p + 1;
	}
	return mark == 7 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("classifier")
int cls_drop_small(struct __sk_buff *skb)
{
	return skb->len < 60 ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
