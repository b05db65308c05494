#include "tracing.h"
/* Kernel objects are read-only to tracing programs. */
SEC("tp_btf/sched_switch") int prog(__u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	prev->pid = 0;
	return 0;
}
