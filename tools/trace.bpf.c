// SPDX-License-Identifier: GPL-2.0
/*
 * trace (tsbpf tools): a generic program for any tracepoint. It copies the raw tracepoint record
 * (the layout of /sys/kernel/tracing/events/CAT/NAME/format) and up to MAX_STRS strings that
 * pointer fields of the record point to into the ring buffer; user space decodes the record with
 * the format file, filters and prints. The tracepoint is chosen at attach time, so one
 * precompiled object serves every tracepoint.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define MAX_DATA 512
#define MAX_STRS 2
#define STR_LEN 256

struct trace_record {
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 size; /* bytes of data copied */
	char comm[TASK_COMM_LEN];
	char strs[MAX_STRS][STR_LEN];
	__u8 data[MAX_DATA];
};

const struct trace_record *unused_trace_record __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Bytes of the record to copy (its fixed part, or MAX_DATA when it has __data_loc fields). */
const volatile __u32 record_size = MAX_DATA;
/* Offsets of pointer fields whose strings to copy; 0 for none (offset 0 is common_type). */
const volatile __u32 str_offsets[MAX_STRS] = {};
const volatile __u32 target_pid = 0;

/* The section's tracepoint is a placeholder: user space attaches the program where it is asked to. */
SEC("tracepoint/syscalls/sys_enter_getpid")
int trace_record(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (target_pid && (id >> 32) != target_pid)
		return 0;
	struct trace_record *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	__u32 size = record_size > MAX_DATA ? MAX_DATA : record_size;
	ev->size = size;
	if (bpf_probe_read_kernel(ev->data, size, ctx))
		ev->size = 0;
	for (int i = 0; i < MAX_STRS; i++) {
		ev->strs[i][0] = 0;
		__u32 off = str_offsets[i];
		if (!off || off > MAX_DATA - 8)
			continue;
		const char *ptr = 0;
		if (bpf_probe_read_kernel(&ptr, sizeof(ptr), (const char *)ctx + off) || !ptr)
			continue;
		/* System call arguments point to user memory; other tracepoints' to the kernel's. */
		if (bpf_probe_read_user_str(ev->strs[i], STR_LEN, ptr) < 0)
			bpf_probe_read_kernel_str(ev->strs[i], STR_LEN, ptr);
	}
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
