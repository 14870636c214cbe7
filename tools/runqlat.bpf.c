// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat (tsbpf tools): run queue latency — time from a task being woken (or preempted) to it
 * running — as a log2 histogram, in bcc's spirit, from the BTF-typed tracepoints (tp_btf)
 * sched_wakeup, sched_wakeup_new and sched_switch, which hand us the task_structs.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_core_read.h>
#include "histogram.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hist_key);
	__type(value, __u64);
} hists SEC(".maps");

const volatile __u32 target_pid = 0;
const volatile bool millis = false;
/* Histogram per process (1) or per thread (2), else one. */
const volatile __u32 group_by = 0;

static __always_inline void enqueued(struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);
	if (!tid)
		return;
	if (target_pid && BPF_CORE_READ(task, tgid) != target_pid)
		return;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, &now, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int runqlat_wakeup(__u64 *ctx)
{
	enqueued((struct task_struct *)ctx[0]);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int runqlat_wakeup_new(__u64 *ctx)
{
	enqueued((struct task_struct *)ctx[0]);
	return 0;
}

/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state) */
SEC("tp_btf/sched_switch")
int runqlat_switch(__u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	struct task_struct *next = (struct task_struct *)ctx[2];
	unsigned int prev_state = (unsigned int)ctx[3];
	/* Preempted while runnable: it waits on the run queue from now. */
	if (prev_state == TASK_RUNNING)
		enqueued(prev);

	__u32 tid = BPF_CORE_READ(next, pid);
	__u64 *start = bpf_map_lookup_elem(&starts, &tid);
	if (!start)
		return 0;
	__u64 delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&starts, &tid);
	delta /= millis ? 1000000 : 1000;
	struct hist_key key = {
		.id = group_by == 1 ? BPF_CORE_READ(next, tgid) : group_by == 2 ? tid : 0,
		.slot = hist_slot(delta),
	};
	__u64 *count = bpf_map_lookup_elem(&hists, &key);
	if (!count) {
		__u64 zero = 0;
		bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&hists, &key);
		if (!count)
			return 0;
	}
	__sync_fetch_and_add(count, 1);
	return 0;
}
