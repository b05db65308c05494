// bashreadline: the lines interactive bash shells read, from a uretprobe on bash's
// readline(), sent through a perf buffer.
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct line {
	__u32 pid;
	char str[80];
};

SEC("uretprobe")
int readline_ret(struct pt_regs *ctx)
{
	struct line l = {};
	char comm[16];

	bpf_get_current_comm(comm, sizeof(comm));
	// Only bash itself (programs linked with libreadline have a readline() too).
	if (comm[0] != 'b' || comm[1] != 'a' || comm[2] != 's' || comm[3] != 'h' || comm[4] != 0)
		return 0;
	if (!PT_REGS_RC(ctx))
		return 0;
	l.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_probe_read_user_str(l.str, sizeof(l.str), (const void *)PT_REGS_RC(ctx));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &l, sizeof(l));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
