// bpf-to-bpf calls: static and global subprograms in .text called from an XDP
// program, plus a function address taken with BPF_PSEUDO_FUNC semantics.
#include "bpf_helpers_min.h"

static __noinline __u32 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static __noinline __u32 sum_bytes(const __u8 *p, const __u8 *end, __u32 n)
{
	__u32 sum = 0;
	for (__u32 i = 0; i < 32 && i < n; i++) {
		if (p + i + 1 > end)
			break;
		sum += p[i];
	}
	return sum;
}

__noinline int classify(__u32 v)
{
	if (v > 0x8000)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdp_subprogs(struct xdp_md *ctx)
{
	const __u8 *data = (void *)(long)ctx->data;
	const __u8 *end = (void *)(long)ctx->data_end;
	__u32 s = sum_bytes(data, end, ctx->data_end - ctx->data);
	return classify(csum_fold(s));
}

char _license[] SEC("license") = "GPL";
