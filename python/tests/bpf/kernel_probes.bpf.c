// Programs for python/tests/test_kernel.py: each counts what the test process (its
// pid in `filter[0]`) does, so other processes on the machine do not disturb counts.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} filter SEC(".maps");

// counts[0] tracepoint, [1] raw tracepoint, [2] uprobe, [3] uretprobe, [4] perf
// event, [5] xdp frames with ethertype 0x88b5, [6] the last uretprobe return value.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} scratch SEC(".maps");

struct event {
	__u32 pid;
	__u32 seq;
};

// [0]: the last getppid event (a struct value, decoded with BTF by the tables).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

static int mine(void)
{
	__u32 k = 0;
	__u32 *pid = bpf_map_lookup_elem(&filter, &k);

	return pid && *pid == (__u32)(bpf_get_current_pid_tgid() >> 32);
}

static void bump(__u32 i, __u64 by)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &i);

	if (c)
		__sync_fetch_and_add(c, by);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct event e;
	__u32 k = 0;
	__u64 *c;

	if (!mine())
		return 0;
	bump(0, 1);
	c = bpf_map_lookup_elem(&counts, &k);
	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.seq = c ? (__u32)*c : 0;
	bpf_map_update_elem(&last, &k, &e, BPF_ANY);
	bpf_ringbuf_output(&ring, &e, sizeof(e), 0);
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	bpf_printk("bpfbox-python-test getppid %u", e.seq);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int on_sys_enter(void *ctx)
{
	if (mine())
		bump(1, 1);
	return 0;
}

SEC("uprobe")
int on_getpid(void *ctx)
{
	if (mine())
		bump(2, 1);
	return 0;
}

SEC("uretprobe")
int on_getpid_ret(struct pt_regs *ctx)
{
	if (!mine())
		return 0;
	bump(3, 1);
	__u32 k = 6;
	__u64 rv = PT_REGS_RC(ctx);
	bpf_map_update_elem(&counts, &k, &rv, BPF_ANY);
	return 0;
}

SEC("perf_event")
int on_sample(void *ctx)
{
	bump(4, 1);
	return 0;
}

SEC("xdp")
int count_frames(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == __builtin_bswap16(0x88b5)) {
		bump(5, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
