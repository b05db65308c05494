#include "tracing.h"
/* tp_btf: the context (an array of u64 arguments) passed to helpers that take ctx. */
struct { __uint(type, 4); __uint(key_size, 4); __uint(value_size, 4); } events SEC(".maps");
struct { __uint(type, 7); __uint(key_size, 4); __uint(value_size, 8 * 127); __uint(max_entries, 128); } stacks SEC(".maps");
static long (*bpf_get_stackid_)(void *ctx, void *map, __u64 flags) = (void *)27;
static long (*bpf_perf_event_output_)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)25;
SEC("tp_btf/sched_switch") int prog(unsigned long long *ctx) {
	long v = 1;
	long id = bpf_get_stackid_(ctx, &stacks, 0);
	bpf_perf_event_output_(ctx, &events, 0xffffffffULL, &v, sizeof(v));
	return id > 0;
}
