// SPDX-License-Identifier: GPL-2.0
// Tracepoint counter: counts raw_syscalls:sys_enter events per process (tgid).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Layout of the raw_syscalls:sys_enter tracepoint record (see its format file). */
struct sys_enter_args {
	unsigned long long common; /* common_type, flags, preempt_count, pid */
	long id;
	unsigned long args[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);   /* tgid */
	__type(value, __u64); /* syscalls entered */
} syscall_counts SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int count_sys_enter(struct sys_enter_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *n = bpf_map_lookup_elem(&syscall_counts, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&syscall_counts, &tgid, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
