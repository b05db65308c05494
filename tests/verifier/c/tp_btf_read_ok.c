#include "tracing.h"
/* tp_btf: arguments are typed kernel pointers that can be read directly. */
SEC("tp_btf/sched_switch") int prog(__u64 *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx[2];
	return next->real_parent->pid == 1 ? 0 : 0;
}
