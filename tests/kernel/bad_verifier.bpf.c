// A program the kernel verifier must reject: it reads past the packet without a
// bounds check. Used to test error reporting (errno, section, verifier log).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bbx_bad_xdp(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	return data[20] == 0x45 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
