// Socket filter using the legacy packet loads (BPF_LD | BPF_ABS / BPF_IND):
// keep IPv4 TCP packets to port 80, truncated to 96 bytes.
#include "bpf_helpers_min.h"

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int sock_http(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != 0x0800)
		return 0;
	if (load_byte(skb, 14 + 9) != 6)
		return 0;
	__u64 ihl = (load_byte(skb, 14) & 0x0f) * 4;
	__u64 ports = load_word(skb, 14 + ihl);
	if ((ports & 0xffff) != 80)
		return 0;
	return 96;
}

char _license[] SEC("license") = "GPL";
