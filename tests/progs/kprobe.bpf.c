// kprobe: read the first argument of do_unlinkat through pt_regs and copy a
// field from kernel memory; also calls a kfunc (BPF_PSEUDO_KFUNC_CALL).
#include "bpf_helpers_min.h"

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

__u64 last_dfd;

SEC("kprobe/do_unlinkat")
int kprobe_unlinkat(struct pt_regs *ctx)
{
	int dfd = (int)ctx->di;
	void *name = (void *)ctx->si;
	__u64 first = 0;

	bpf_rcu_read_lock();
	bpf_probe_read_kernel(&first, sizeof(first), name);
	bpf_rcu_read_unlock();
	last_dfd = dfd + (first & 0xff);
	return dfd < 0;
}

char _license[] SEC("license") = "GPL";
