// SPDX-License-Identifier: GPL-2.0
// Every CO-RE relocation kind and kconfig extern in one raw tracepoint, in
// the style of the kernel selftests' test_core_reloc_* programs: field
// offsets, sizes, existence, signedness and bitfield shifts, type ids,
// existence, size and matches, enum value existence and value, plus flavored
// types that exist only on some kernels.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern enum libbpf_tristate CONFIG_IPV6 __kconfig __weak;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig __weak;
extern unsigned long CONFIG_NR_CPUS __kconfig __weak;

/* A type and an enumerator no kernel has. */
struct bpfbox_nonexistent___x {
	int field;
} __attribute__((preserve_access_index));

enum bpf_func_id___x {
	BPF_FUNC_bpfbox_nonexistent___x = 9999,
};

/* A trimmed-down local view of task_struct: only what is used. */
struct task_struct___local {
	int pid;
	int tgid;
	char comm[16];
	unsigned int in_execve: 1;
	unsigned int sched_reset_on_fork: 1;
} __attribute__((preserve_access_index));

struct list_head___matches {
	struct list_head___matches *next, *prev;
};

__u64 out[32];

SEC("raw_tp/sys_enter")
int core_kinds(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct___local *lt = (void *)task;
	struct bpfbox_nonexistent___x *ne = (void *)task;
	int i = 0;

	/* FIELD_BYTE_OFFSET via probe reads (ALU add) */
	out[i++] = BPF_CORE_READ(task, pid);
	out[i++] = BPF_CORE_READ(task, tgid);
	out[i++] = BPF_CORE_READ(task, real_parent, pid);
	out[i++] = bpf_core_field_offset(struct task_struct, tgid);
	/* FIELD_BYTE_SIZE */
	out[i++] = bpf_core_field_size(task->comm);
	out[i++] = bpf_core_field_size(lt->pid);
	/* FIELD_EXISTS */
	out[i++] = bpf_core_field_exists(task->__state);
	out[i++] = bpf_core_field_exists(ne->field);
	/* FIELD_SIGNED, LSHIFT_U64, RSHIFT_U64 (bitfields) */
	out[i++] = __builtin_preserve_field_info(lt->pid, BPF_FIELD_SIGNED);
	out[i++] = BPF_CORE_READ_BITFIELD_PROBED(lt, in_execve);
	out[i++] = BPF_CORE_READ_BITFIELD_PROBED(lt, sched_reset_on_fork);
	/* TYPE_ID_LOCAL, TYPE_ID_TARGET */
	out[i++] = bpf_core_type_id_local(struct task_struct);
	out[i++] = bpf_core_type_id_kernel(struct task_struct);
	/* TYPE_EXISTS, TYPE_SIZE, TYPE_MATCHES */
	out[i++] = bpf_core_type_exists(struct bpf_iter__task);
	out[i++] = bpf_core_type_exists(struct bpfbox_nonexistent___x);
	out[i++] = bpf_core_type_size(struct task_struct);
	out[i++] = bpf_core_type_matches(struct list_head___matches);
	/* ENUMVAL_EXISTS, ENUMVAL_VALUE */
	out[i++] = bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ringbuf_output);
	out[i++] = bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_loop);
	if (bpf_core_enum_value_exists(enum bpf_func_id___x, BPF_FUNC_bpfbox_nonexistent___x))
		out[i++] = bpf_core_enum_value(enum bpf_func_id___x, BPF_FUNC_bpfbox_nonexistent___x);
	else
		out[i++] = 0;
	/* kconfig externs */
	out[i++] = LINUX_KERNEL_VERSION;
	out[i++] = CONFIG_HZ;
	out[i++] = CONFIG_BPF_SYSCALL;
	out[i++] = CONFIG_IPV6 == TRI_MODULE;
	out[i++] = CONFIG_DEFAULT_HOSTNAME[0];
	out[i++] = CONFIG_NR_CPUS;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
