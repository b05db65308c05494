// Attach-test programs for tracing hooks: count events per process (tgid).
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>

#define COUNTER(name)                                   \
	struct {                                        \
		__uint(type, BPF_MAP_TYPE_HASH);        \
		__uint(max_entries, 16384);             \
		__type(key, __u32);                     \
		__type(value, __u64);                   \
	} name SEC(".maps")

COUNTER(bbx_tp_counts);
COUNTER(bbx_raw_counts);
COUNTER(bbx_perf_counts);

static __always_inline void count(void *map)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *v = bpf_map_lookup_elem(map, &pid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, &pid, &one, BPF_NOEXIST);
}

/* Every syscall entry, by pid. */
SEC("tracepoint/raw_syscalls/sys_enter")
int bbx_tp_sys_enter(void *ctx)
{
	count(&bbx_tp_counts);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int bbx_rtp_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	count(&bbx_raw_counts);
	return 0;
}

SEC("perf_event")
int bbx_perf_tick(struct bpf_perf_event_data *ctx)
{
	count(&bbx_perf_counts);
	return 0;
}

char _license[] SEC("license") = "GPL";
