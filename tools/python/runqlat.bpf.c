// runqlat: run-queue latency (from wakeup to running on a CPU) as a log2 histogram
// of microseconds, from the sched tracepoints (no kprobes, no BTF-typed programs).
// Built against a vmlinux.h generated from the running kernel: the tracepoint
// records' layouts come from it, relocated by CO-RE on other kernels.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define TASK_RUNNING 0
#define MAX_SLOTS 27

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

static __u32 log2l(__u64 v)
{
	__u32 r = 0;

	while (v > 1 && r < MAX_SLOTS - 1) {
		v >>= 1;
		r++;
	}
	return r;
}

static void enqueue(__u32 pid)
{
	__u64 ts = bpf_ktime_get_ns();

	if (pid)
		bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
}

SEC("tp/sched/sched_wakeup")
int sched_wakeup(struct trace_event_raw_sched_wakeup_template *ctx)
{
	enqueue(ctx->pid);
	return 0;
}

SEC("tp/sched/sched_wakeup_new")
int sched_wakeup_new(struct trace_event_raw_sched_wakeup_template *ctx)
{
	enqueue(ctx->pid);
	return 0;
}

SEC("tp/sched/sched_switch")
int sched_switch(struct trace_event_raw_sched_switch *ctx)
{
	__u32 next = ctx->next_pid;
	__u64 *ts, delta, *slot;
	__u32 idx;

	// A task preempted while runnable waits in the run queue from now.
	if (ctx->prev_state == TASK_RUNNING)
		enqueue(ctx->prev_pid);
	ts = bpf_map_lookup_elem(&start, &next);
	if (!ts)
		return 0;
	delta = (bpf_ktime_get_ns() - *ts) / 1000;
	idx = log2l(delta);
	slot = bpf_map_lookup_elem(&hist, &idx);
	if (slot)
		__sync_fetch_and_add(slot, 1);
	bpf_map_delete_elem(&start, &next);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
