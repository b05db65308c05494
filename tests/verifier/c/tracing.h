/* Kernel types for the tp_btf cases: CO-RE relocates the field offsets. */
#include "common.h"
struct task_struct {
	int pid;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));
