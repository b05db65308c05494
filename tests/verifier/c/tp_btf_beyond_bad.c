#include "tracing.h"
/* A read past the end of struct task_struct. */
SEC("tp_btf/sched_switch") int prog(__u64 *ctx)
{
	const char *prev = (const char *)ctx[1];
	return *(volatile const int *)(prev + 1000000) ? 0 : 0;
}
