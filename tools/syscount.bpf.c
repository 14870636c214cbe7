// SPDX-License-Identifier: GPL-2.0
/*
 * syscount (tsbpf tools): system calls counted (and timed) per syscall number or per process,
 * in bcc's spirit, from the raw_syscalls:sys_enter and sys_exit tracepoints. User space reads
 * and clears `data` every interval.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct syscount_value {
	__u64 count;
	__u64 total_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

/* Key: the syscall number, or the process id with by_process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct syscount_value);
} data SEC(".maps");

const volatile __u32 target_pid = 0;
const volatile bool failed_only = false;
/* Only this errno (positive), 0 for any. */
const volatile __s32 target_errno = 0;
const volatile bool by_process = false;
const volatile bool latency = false;

SEC("tracepoint/raw_syscalls/sys_enter")
int syscount_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!latency)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	if (target_pid && (id >> 32) != target_pid)
		return 0;
	__u32 tid = (__u32)id;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int syscount_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (target_pid && (id >> 32) != target_pid)
		return 0;
	long ret = ctx->ret;
	if (failed_only && ret >= 0)
		return 0;
	if (target_errno && ret != -target_errno)
		return 0;
	__u64 delta = 0;
	if (latency) {
		__u32 tid = (__u32)id;
		__u64 *start = bpf_map_lookup_elem(&starts, &tid);
		if (!start)
			return 0;
		delta = bpf_ktime_get_ns() - *start;
		bpf_map_delete_elem(&starts, &tid);
	}
	__u32 key = by_process ? (__u32)(id >> 32) : (__u32)ctx->id;
	struct syscount_value *value = bpf_map_lookup_elem(&data, &key);
	if (!value) {
		struct syscount_value zero = {};
		bpf_map_update_elem(&data, &key, &zero, BPF_NOEXIST);
		value = bpf_map_lookup_elem(&data, &key);
		if (!value)
			return 0;
	}
	__sync_fetch_and_add(&value->count, 1);
	if (latency)
		__sync_fetch_and_add(&value->total_ns, delta);
	return 0;
}
