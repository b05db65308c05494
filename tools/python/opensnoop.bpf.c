// opensnoop: openat() calls with their result, through the syscalls tracepoints
// (no kprobes): the path pointer is kept per thread at entry, the event is sent to
// the ring buffer at exit with the path read from user memory.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NAME_MAX 255
#define TASK_COMM_LEN 16

#include "tools.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} paths SEC(".maps"); // tid -> the user pointer to the path

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct event {
	__u32 pid;
	__s32 ret;
	__s32 flags;
	char comm[TASK_COMM_LEN];
	char path[NAME_MAX + 1];
};

// syscalls:sys_enter_openat / sys_exit_openat records (their tracefs formats).
struct enter_openat {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 dfd;
	__u64 filename;
	__u64 flags;
	__u64 mode;
};

struct exit_openat {
	__u64 common;
	__s32 nr;
	__u32 pad;
	long ret;
};

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct enter_openat *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 filename = ctx->filename;
	__u32 tid = id;

	if (!traced())
		return 0;
	bpf_map_update_elem(&paths, &tid, &filename, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct exit_openat *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = id;
	__u64 *path = bpf_map_lookup_elem(&paths, &tid);
	struct event *e;

	if (!path)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = id >> 32;
		e->ret = ctx->ret;
		e->flags = 0;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)*path);
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&paths, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
