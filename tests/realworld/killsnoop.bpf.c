// SPDX-License-Identifier: GPL-2.0
// killsnoop with libbpf's ksyscall programs: kill() entry and return, paired
// through a hash map (BPF_KSYSCALL uses the LINUX_HAS_SYSCALL_WRAPPER kconfig
// extern).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define TASK_COMM_LEN 16

struct event {
	__u32 pid;
	__u32 tpid;
	int sig;
	int ret;
	char comm[TASK_COMM_LEN];
};

const volatile pid_t filter_pid = 0;
const volatile bool trace_failed_only = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct event);
} values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

SEC("ksyscall/kill")
int BPF_KSYSCALL(kill_entry, pid_t tpid, int sig)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	__u32 tid = (__u32)pid_tgid;
	struct event event = {};

	if (filter_pid && pid != filter_pid)
		return 0;

	event.pid = pid;
	event.tpid = tpid;
	event.sig = sig;
	bpf_get_current_comm(event.comm, sizeof(event.comm));
	bpf_map_update_elem(&values, &tid, &event, BPF_ANY);
	return 0;
}

SEC("kretsyscall/kill")
int BPF_KRETPROBE(kill_exit, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *eventp, *e;

	eventp = bpf_map_lookup_elem(&values, &tid);
	if (!eventp)
		return 0;

	if (trace_failed_only && ret >= 0)
		goto cleanup;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		goto cleanup;
	*e = *eventp;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);

cleanup:
	bpf_map_delete_elem(&values, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
