#include "tracing.h"
/* Half of a pointer member cannot be read. */
SEC("tp_btf/sched_switch") int prog(__u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	return *(volatile const int *)((const char *)&prev->real_parent + 4) ? 0 : 0;
}
