// Tracepoint: print the pid and comm of processes calling execve, using a
// format string in .rodata.
#include "bpf_helpers_min.h"

struct execve_args {
	__u64 unused;
	int syscall_nr;
	const char *filename;
	const char *const *argv;
	const char *const *envp;
};

SEC("tracepoint/syscalls/sys_enter_execve")
int trace_execve(struct execve_args *ctx)
{
	char comm[16];
	static const char fmt[] = "execve pid=%d comm=%s nr=%d\n";
	__u64 id = bpf_get_current_pid_tgid();

	bpf_get_current_comm(comm, sizeof(comm));
	bpf_trace_printk(fmt, sizeof(fmt), (__u32)(id >> 32), comm, ctx->syscall_nr);
	return 0;
}

char _license[] SEC("license") = "GPL";
