// SPDX-License-Identifier: GPL-2.0
/*
 * The maps tracing and AF_XDP tools declare, the way bcc's libbpf-tools and xdp-tutorial declare
 * them: a PERF_EVENT_ARRAY without max_entries (the loader sizes it to the CPUs), a CGROUP_ARRAY
 * filter, a STACK_TRACE map filled by bpf_get_stackid, and an XSKMAP redirect. Each program
 * stores what the helpers returned in .bss, so a test can compare the VM with the kernel.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 16 * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

long under_cgroup;
long stack_id;
long stack_id_bad_flags;
long perf_ret;
long xsk_found;

SEC("raw_tp/sys_enter")
int tool_probe(void *ctx)
{
	__u64 sample = 42;

	under_cgroup = bpf_current_task_under_cgroup(&cgroup_map, 0);
	stack_id = bpf_get_stackid(ctx, &stacks, 0);
	stack_id_bad_flags = bpf_get_stackid(ctx, &stacks, 1 << 12);
	perf_ret = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &sample, sizeof(sample));
	return 0;
}

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	__u32 index = 0;

	xsk_found = bpf_map_lookup_elem(&xsks, &index) != 0;
	return bpf_redirect_map(&xsks, index, XDP_PASS);
}
