// SPDX-License-Identifier: GPL-2.0
// Ring-buffer event producer: for every openat() entry, emits {pid, tgid, uid, syscall
// id, flags, comm} to the `events` ring buffer and prints a trace line for the first few.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct sys_enter_args {
	unsigned long long common;
	long id;
	unsigned long args[6];
};

struct event {
	__u32 pid;
	__u32 tgid;
	__u32 uid;
	__u32 flags;
	__s64 syscall;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

__u64 emitted = 0;

SEC("tracepoint/raw_syscalls/sys_enter")
int emit_openat(struct sys_enter_args *ctx)
{
	if (ctx->id != 257) /* __NR_openat on x86-64 */
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->flags = ctx->args[2];
	e->syscall = ctx->id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__u32 tgid = e->tgid, flags = e->flags;
	bpf_ringbuf_submit(e, 0); /* e must not be touched after this */
	if (__sync_fetch_and_add(&emitted, 1) < 3)
		bpf_printk("openat by %d flags %x", tgid, flags);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
