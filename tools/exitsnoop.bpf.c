// SPDX-License-Identifier: GPL-2.0
/*
 * exitsnoop (tsbpf tools): one record per process exit (or thread exit with per_thread), with its
 * age and exit code, in bcc's spirit, from the sched:sched_process_exit tracepoint. The exiting
 * task is `current` there; its fields are read through CO-RE.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16

struct exitsnoop_event {
	__u64 start_time_ns; /* task->start_time: CLOCK_MONOTONIC */
	__u64 exit_time_ns;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__s32 exit_code; /* task->exit_code: status << 8 | signal, 0x80 for a core dump */
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

/* Puts the record type into the object's BTF (the ring buffer carries no type), for user space to decode. */
const struct exitsnoop_event *unused_exitsnoop_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

const volatile __u32 target_pid = 0;
const volatile bool per_thread = false;
const volatile bool failed_only = false;

SEC("tracepoint/sched/sched_process_exit")
int exitsnoop_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	__u32 tid = (__u32)id;
	/* A process exits when its main thread does; other threads only with per_thread. */
	if (!per_thread && pid != tid)
		return 0;
	if (target_pid && pid != target_pid)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int code = BPF_CORE_READ(task, exit_code);
	if (failed_only && code == 0)
		return 0;
	struct exitsnoop_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	ev->start_time_ns = BPF_CORE_READ(task, start_time);
	ev->exit_time_ns = bpf_ktime_get_ns();
	ev->pid = pid;
	ev->tid = tid;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = (__u32)bpf_get_current_uid_gid();
	ev->exit_code = code;
	ev->pad = 0;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
