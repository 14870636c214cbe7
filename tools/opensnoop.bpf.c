// SPDX-License-Identifier: GPL-2.0
/*
 * opensnoop (tsbpf tools): one record per open(), openat() and openat2(), with the path, the
 * flags and the result, in bcc's spirit. The sys_enter tracepoints remember the path pointer and
 * flags per thread; the sys_exit ones read the path and send the record. Tracepoints only.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define NAME_MAX 255

struct open_args {
	const char *fname;
	__u64 flags;
	__u64 ts_ns;
};

struct opensnoop_event {
	__u64 ts_ns;
	__u64 duration_ns;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;
	__u64 flags;
	char comm[TASK_COMM_LEN];
	char path[NAME_MAX + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct open_args);
} starts SEC(".maps");

/* Puts the record type into the object's BTF (the ring buffer carries no type), for user space to decode. */
const struct opensnoop_event *unused_opensnoop_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Filters, set before load; 0 (or -1 for the uid) means any. */
const volatile __u32 target_pid = 0;
const volatile __u32 target_tid = 0;
const volatile __s64 target_uid = -1;
const volatile bool failed_only = false;

static __always_inline bool wanted(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (target_pid && (id >> 32) != target_pid)
		return false;
	if (target_tid && (__u32)id != target_tid)
		return false;
	if (target_uid >= 0 && (__u32)bpf_get_current_uid_gid() != (__u32)target_uid)
		return false;
	return true;
}

static __always_inline int enter(const char *fname, __u64 flags)
{
	if (!wanted())
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_args args = { .fname = fname, .flags = flags, .ts_ns = bpf_ktime_get_ns() };
	bpf_map_update_elem(&starts, &tid, &args, BPF_ANY);
	return 0;
}

static __always_inline int leave(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct open_args *args = bpf_map_lookup_elem(&starts, &tid);
	if (!args)
		return 0;
	if (failed_only && ret >= 0)
		goto cleanup;
	struct opensnoop_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		goto cleanup;
	__u64 now = bpf_ktime_get_ns();
	ev->ts_ns = now;
	ev->duration_ns = now - args->ts_ns;
	ev->pid = id >> 32;
	ev->tid = tid;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	ev->ret = ret;
	ev->flags = args->flags;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	if (bpf_probe_read_user_str(ev->path, sizeof(ev->path), args->fname) < 0)
		ev->path[0] = 0;
	bpf_ringbuf_submit(ev, 0);
cleanup:
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int opensnoop_open(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int opensnoop_openat(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int opensnoop_openat2(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = 0;
	/* struct open_how { __u64 flags; … }: the flags come first. */
	bpf_probe_read_user(&flags, sizeof(flags), (const void *)ctx->args[2]);
	return enter((const char *)ctx->args[1], flags);
}

SEC("tracepoint/syscalls/sys_exit_open")
int opensnoop_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int opensnoop_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int opensnoop_openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}
