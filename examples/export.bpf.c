// SPDX-License-Identifier: GPL-2.0
/*
 * export: the maps behind examples/export.yaml, the `tsbpf export` example (an exporter in the
 * spirit of ebpf_exporter: maps become Prometheus metrics).
 *
 *   execs            execs per command name: sched:sched_process_exec fires once the new image
 *                    is in place, so the comm is the new program's name.
 *   syscall_latency  a log2 histogram of system call latency in microseconds, libbpf-tools' slot
 *                    convention (slot i counts [2^i, 2^(i+1)) usecs, 0 and 1 in slot 0), from the
 *                    raw_syscalls sys_enter/sys_exit tracepoints.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define MAX_SLOTS 27

struct comm_key {
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct comm_key);
	__type(value, __u64);
} execs SEC(".maps");

/* Thread id → time its current system call entered (ns). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} syscall_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} syscall_latency SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int count_exec(void *ctx)
{
	struct comm_key key = {};
	__u64 one = 1, *count;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	count = bpf_map_lookup_elem(&execs, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&execs, &key, &one, BPF_NOEXIST);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int syscall_enter(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&syscall_start, &tid, &now, BPF_ANY);
	return 0;
}

/* floor(log2(v)) for v > 0, 0 for v = 0: libbpf-tools' log2l. */
static __always_inline __u32 log2l(__u64 v)
{
	__u32 slot = 0;

	while (v > 1 && slot < 63) {
		v >>= 1;
		slot++;
	}
	return slot;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int syscall_exit(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *start, *count, usecs;
	__u32 slot;

	start = bpf_map_lookup_elem(&syscall_start, &tid);
	if (!start)
		return 0;
	usecs = (bpf_ktime_get_ns() - *start) / 1000;
	bpf_map_delete_elem(&syscall_start, &tid);
	slot = log2l(usecs);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	count = bpf_map_lookup_elem(&syscall_latency, &slot);
	if (count)
		*count += 1;
	return 0;
}
