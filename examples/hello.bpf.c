// SPDX-License-Identifier: GPL-2.0
/*
 * hello: "Hello, World!" in the kernel trace buffer on every execve and clone.
 *
 *   sudo cat /sys/kernel/tracing/trace_pipe
 *
 * Two tracepoint programs; bpf_printk needs a GPL-compatible licence (bpf_trace_printk is GPL-only).
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_enter_execve")
int hello_execve(struct trace_event_raw_sys_enter *ctx)
{
	bpf_printk("Hello, World!");
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_clone")
int hello_clone(struct trace_event_raw_sys_enter *ctx)
{
	bpf_printk("Hello, World!");
	return 0;
}
