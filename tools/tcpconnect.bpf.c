// SPDX-License-Identifier: GPL-2.0
/*
 * tcpconnect (tsbpf tools): one record per active TCP connection attempt (connect()), in bcc's
 * spirit, from the sock:inet_sock_set_state tracepoint (a socket going CLOSE → SYN_SENT). That
 * transition happens in the connecting process's context, so pid and comm are the caller's.
 * bcc's kprobe on tcp_v4_connect is not needed (this kernel has no kprobes).
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7

struct tcpconnect_event {
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TASK_COMM_LEN];
};

/* Puts the record type into the object's BTF (the ring buffer carries no type), for user space to decode. */
const struct tcpconnect_event *unused_tcpconnect_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

const volatile __u32 target_pid = 0;
const volatile __s64 target_uid = -1;
/* 0: both, else AF_INET or AF_INET6. */
const volatile __u16 target_family = 0;

SEC("tracepoint/sock/inet_sock_set_state")
int tcpconnect_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || ctx->oldstate != TCP_CLOSE || ctx->newstate != TCP_SYN_SENT)
		return 0;
	__u16 family = ctx->family;
	if (target_family && family != target_family)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	if (target_pid && (id >> 32) != target_pid)
		return 0;
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	if (target_uid >= 0 && uid != (__u32)target_uid)
		return 0;
	struct tcpconnect_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->uid = uid;
	ev->family = family;
	ev->sport = ctx->sport;
	ev->dport = ctx->dport;
	ev->pad = 0;
	/* The verifier allows only constant-offset loads from the context: copy the arrays with a helper. */
	__builtin_memset(ev->saddr, 0, sizeof(ev->saddr));
	__builtin_memset(ev->daddr, 0, sizeof(ev->daddr));
	if (family == AF_INET) {
		bpf_probe_read_kernel(ev->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(ev->daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(ev->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(ev->daddr, 16, ctx->daddr_v6);
	}
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
