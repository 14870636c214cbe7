// SPDX-License-Identifier: GPL-2.0
/*
 * execsnoop: one ring-buffer record per execve, with the parent's pid read through CO-RE and the
 * program path copied from user memory. A user-space reader polls the ring buffer `events`.
 *
 * task->real_parent->tgid is read with BPF_CORE_READ, so the field offsets are relocated by the loader
 * to the running kernel's struct task_struct: the same object works across kernel versions.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 256

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__s32 filename_len; /* bytes copied including the NUL, or a negative error */
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024); /* bytes: a power of two, a multiple of the page size */
} events SEC(".maps");

/* Filled by user space before load (.rodata): 0 traces everyone, otherwise only this uid. */
const volatile __u32 target_uid = 0;

SEC("tracepoint/syscalls/sys_enter_execve")
int trace_execve(struct trace_event_raw_sys_enter *ctx)
{
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	if (target_uid != 0 && uid != target_uid)
		return 0;

	/* Reserve in place: no copy through the stack, and the event is too big for it anyway. */
	struct exec_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return 0; /* ring full: user space is behind */

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = uid;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));

	/* args[0] of execve(filename, argv, envp) is a user pointer. */
	const char *filename = (const char *)ctx->args[0];
	ev->filename_len = bpf_probe_read_user_str(ev->filename, sizeof(ev->filename), filename);

	bpf_ringbuf_submit(ev, 0);
	return 0;
}
