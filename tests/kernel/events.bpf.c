// Attach-test programs that send events: a uprobe on bbx_probe_target (probe_target.c)
// writes a ring-buffer record and a trace_pipe line per call; the uretprobe sends the
// return value through a perf buffer.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct bbx_event {
	__u32 pid;
	__u32 tid;
	__u64 a;
	__u64 b;
	__u32 kind; /* 1: entry (uprobe), 2: return (uretprobe) */
	__u32 seq;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} bbx_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} bbx_perf_out SEC(".maps");

__u32 bbx_seq;

SEC("uprobe")
int BPF_KPROBE(bbx_uprobe, long a, long b)
{
	struct bbx_event *e = bpf_ringbuf_reserve(&bbx_events, sizeof(*e), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e)
		return 0;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->a = a;
	e->b = b;
	e->kind = 1;
	e->seq = __sync_fetch_and_add(&bbx_seq, 1);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	bpf_printk("bbx uprobe a=%ld b=%ld", a, b);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(bbx_uretprobe, long ret)
{
	struct bbx_event e = {};
	__u64 id = bpf_get_current_pid_tgid();

	e.pid = id >> 32;
	e.tid = (__u32)id;
	e.a = ret;
	e.kind = 2;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_perf_event_output(ctx, &bbx_perf_out, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char _license[] SEC("license") = "GPL";
