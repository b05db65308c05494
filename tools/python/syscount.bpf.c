// syscount: syscalls counted by number as they return (raw_syscalls:sys_exit, as
// bcc's syscount counts them), for every process or one (config[0] = its pid).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tools.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

// The record of raw_syscalls:sys_exit (its tracefs format).
struct sys_exit_args {
	__u64 common;
	long id;
	long ret;
};

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct sys_exit_args *args)
{
	__u32 id = args->id;
	__u64 *c, init = 0;

	if (!traced())
		return 0;
	c = bpf_map_lookup_elem(&counts, &id);
	if (!c) {
		// Another CPU may insert it first: NOEXIST then look up again.
		bpf_map_update_elem(&counts, &id, &init, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&counts, &id);
	}
	if (c)
		__sync_fetch_and_add(c, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
