// SPDX-License-Identifier: GPL-2.0
/*
 * execsnoop (tsbpf tools): one record per execve(), successful or not, in bcc's spirit.
 *
 * syscalls:sys_enter_execve copies the file name and up to MAX_ARGS arguments from user memory
 * into a per-thread entry (they are gone once the new image replaces the old one);
 * syscalls:sys_exit_execve adds the return value and the comm (the new one, on success) and sends
 * the record to user space. Only tracepoints: no kprobes needed.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define MAX_ARGS 20
#define ARGSIZE 128
#define ARGS_BUF (MAX_ARGS * ARGSIZE)

struct execsnoop_event {
	__u64 ts_ns;    /* bpf_ktime_get_ns() at exit */
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__s32 retval;
	__u32 args_count; /* arguments copied (the file name when argv[0] is missing) */
	__u32 args_size;  /* bytes of args used: NUL-separated strings */
	__u32 truncated;  /* more than MAX_ARGS arguments */
	char comm[TASK_COMM_LEN];
	char args[ARGS_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct execsnoop_event);
} execs SEC(".maps");

/* A zeroed template: hash values are too big to build on the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct execsnoop_event);
} empty SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Set before load: -1 traces every user, otherwise only this uid. */
const volatile __s64 target_uid = -1;
/* Arguments to copy (bcc's --max-args), at most MAX_ARGS. */
const volatile __u32 max_args = MAX_ARGS;

SEC("tracepoint/syscalls/sys_enter_execve")
int execsnoop_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	if (target_uid >= 0 && uid != (__u32)target_uid)
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct execsnoop_event *blank = bpf_map_lookup_elem(&empty, &zero);
	if (!blank)
		return 0;
	if (bpf_map_update_elem(&execs, &tid, blank, BPF_ANY))
		return 0;
	struct execsnoop_event *ev = bpf_map_lookup_elem(&execs, &tid);
	if (!ev)
		return 0;

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = uid;

	const char *const *argv = (const char *const *)ctx->args[1];
	__u32 size = 0;
	__u32 count = 0;
	for (__u32 i = 0; i < MAX_ARGS && i < max_args; i++) {
		const char *arg = 0;
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			goto done;
		if (size > ARGS_BUF - ARGSIZE)
			goto done;
		long n = bpf_probe_read_user_str(&ev->args[size], ARGSIZE, arg);
		if (n <= 0)
			goto done;
		size += n;
		count++;
	}
	/* Stopped at the limit: say whether there was more. */
	{
		const char *more = 0;
		if (bpf_probe_read_user(&more, sizeof(more), &argv[max_args < MAX_ARGS ? max_args : MAX_ARGS]) == 0 && more)
			ev->truncated = 1;
	}
done:
	if (count == 0) {
		/* No argv (execve(path, NULL, …)): show the file name instead. */
		long n = bpf_probe_read_user_str(ev->args, ARGSIZE, (const char *)ctx->args[0]);
		if (n > 0) {
			size = n;
			count = 1;
		}
	}
	ev->args_count = count;
	ev->args_size = size;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execsnoop_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct execsnoop_event *ev = bpf_map_lookup_elem(&execs, &tid);
	if (!ev)
		return 0;
	ev->retval = ctx->ret;
	ev->ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_output(&events, ev, sizeof(*ev), 0);
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}
