// SPDX-License-Identifier: GPL-2.0
/*
 * biolatency (tsbpf tools): block I/O latency — issue (or insert, with queued) to completion — as
 * a log2 histogram, in bcc's spirit, from the BTF-typed tracepoints (tp_btf) block_rq_insert,
 * block_rq_issue and block_rq_complete, keyed by the request pointer they hand us.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_core_read.h>
#include "histogram.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hist_key);
	__type(value, __u64);
} hists SEC(".maps");

const volatile bool millis = false;
/* Count from insertion into the queue (bcc's -Q) instead of from issue to the device. */
const volatile bool queued = false;
/* One histogram per disk (bcc's -D): the key's id is the device number. */
const volatile bool per_disk = false;

static __always_inline int started(struct request *rq, bool insert)
{
	if (insert != queued)
		return 0;
	__u64 key = (__u64)rq;
	__u64 now = bpf_ktime_get_ns();
	/* With -Q the issue must not restart the clock insert started. */
	bpf_map_update_elem(&starts, &key, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int biolatency_insert(__u64 *ctx)
{
	return started((struct request *)ctx[0], true);
}

SEC("tp_btf/block_rq_issue")
int biolatency_issue(__u64 *ctx)
{
	return started((struct request *)ctx[0], false);
}

SEC("tp_btf/block_rq_complete")
int biolatency_complete(__u64 *ctx)
{
	struct request *rq = (struct request *)ctx[0];
	__u64 rqkey = (__u64)rq;
	__u64 *start = bpf_map_lookup_elem(&starts, &rqkey);
	if (!start)
		return 0;
	__u64 delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&starts, &rqkey);
	delta /= millis ? 1000000 : 1000;
	struct hist_key key = {
		.id = per_disk ? BPF_CORE_READ(rq, part, bd_dev) : 0,
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
