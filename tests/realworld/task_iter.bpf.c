// SPDX-License-Identifier: GPL-2.0
// BPF iterators: every task and every task's VMAs printed to a seq_file, in
// the style of the kernel selftests' bpf_iter programs.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

const volatile pid_t only_tgid = 0;
__u32 tasks_seen = 0;

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (task == NULL) {
		BPF_SEQ_PRINTF(seq, "    === END ===\n");
		return 0;
	}
	if (only_tgid && task->tgid != only_tgid)
		return 0;
	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "    tgid      gid\n");

	BPF_SEQ_PRINTF(seq, "%8d %8d %16s\n", task->tgid, task->pid, task->comm);
	__sync_fetch_and_add(&tasks_seen, 1);
	return 0;
}

SEC("iter.s/task_vma")
int dump_vma(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	char perm[5] = "----";

	if (task == NULL || vma == NULL)
		return 0;

	perm[0] = vma->vm_flags & 0x1 ? 'r' : '-';
	perm[1] = vma->vm_flags & 0x2 ? 'w' : '-';
	perm[2] = vma->vm_flags & 0x4 ? 'x' : '-';
	perm[3] = vma->vm_flags & 0x8 ? 's' : 'p';
	BPF_SEQ_PRINTF(seq, "%08llx-%08llx %s\n", vma->vm_start, vma->vm_end, perm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
