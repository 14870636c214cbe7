// SPDX-License-Identifier: GPL-2.0
/*
 * execve_map: the classic "maps" example. Every execve records who ran it in a hash map keyed by the
 * process id (the tgid), which user space can dump:
 *
 *   bpftool map dump name execs
 *
 * A later execve by the same process overwrites its entry (BPF_ANY).
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__u32 uid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* pid */
	__type(value, struct event);
} execs SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int record_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct event ev = {};

	/* The upper half is the tgid (what user space calls the pid), the lower half the thread id. */
	ev.pid = bpf_get_current_pid_tgid() >> 32;
	ev.uid = (__u32)bpf_get_current_uid_gid();
	/* comm is still the caller's name here: execve has not replaced the image yet. */
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));

	bpf_map_update_elem(&execs, &ev.pid, &ev, BPF_ANY);
	return 0;
}
