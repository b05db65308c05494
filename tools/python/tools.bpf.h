// What the tools' BPF programs share: `config`, one u32 the Python side sets (a pid
// to trace, or a port), and the pid filter on it.
#ifndef BPFBOX_TOOLS_BPF_H
#define BPFBOX_TOOLS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} config SEC(".maps");

static __always_inline __u32 config_value(void)
{
	__u32 zero = 0;
	__u32 *v = bpf_map_lookup_elem(&config, &zero);

	return v ? *v : 0;
}

// Whether the current process is traced: config[0] is 0 (every process) or its pid.
static __always_inline int traced(void)
{
	__u32 want = config_value();

	return !want || want == (__u32)(bpf_get_current_pid_tgid() >> 32);
}

#endif
