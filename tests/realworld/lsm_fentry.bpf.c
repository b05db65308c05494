// SPDX-License-Identifier: GPL-2.0
// LSM and fentry/fexit programs: deny opening files named in a hash map,
// count unlinks, and report the file name and result of do_unlinkat (the
// libbpf-bootstrap fentry example); one sleepable fentry.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1
#define NAME_LEN 64

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, char[NAME_LEN]);
	__type(value, __u8);
} denied_names SEC(".maps");

__u64 unlinks = 0;
__u64 denials = 0;

SEC("lsm/file_open")
int BPF_PROG(deny_open, struct file *file, int ret)
{
	char name[NAME_LEN] = {};
	const unsigned char *dname;

	if (ret)
		return ret;
	dname = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(name, sizeof(name), dname);
	if (bpf_map_lookup_elem(&denied_names, name)) {
		__sync_fetch_and_add(&denials, 1);
		return -EPERM;
	}
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(do_unlinkat_entry, int dfd, struct filename *name)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	bpf_printk("fentry: pid = %d, filename = %s\n", pid, name->name);
	__sync_fetch_and_add(&unlinks, 1);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(do_unlinkat_exit, int dfd, struct filename *name, long ret)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	bpf_printk("fexit: pid = %d, filename = %s, ret = %ld\n", pid, name->name, ret);
	return 0;
}

SEC("fentry.s/__x64_sys_getpgid")
int BPF_PROG(sleepable_getpgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	char buf[16];

	bpf_copy_from_user(buf, sizeof(buf), (void *)BPF_CORE_READ(task, mm, arg_start));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
