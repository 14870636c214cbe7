// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_fib_lookup as an XDP router calls it: `fib_errors` makes the lookups whose answer does not
 * depend on the routing table (bad size, flags, family, device) and one that does; `fib_route`
 * looks up `query` (set by the test) and keeps the result and the rewritten parameters.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

long rets[6];
struct bpf_fib_lookup query = { .family = 2, .ifindex = 1 };
__u32 query_flags;
struct bpf_fib_lookup answer;
long answer_ret;

SEC("xdp")
int fib_errors(struct xdp_md *ctx)
{
	struct bpf_fib_lookup p = {};

	p.family = 2;
	p.ifindex = 1;
	p.ipv4_src = 0x0100007f;
	p.ipv4_dst = 0x0100000a;
	rets[0] = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	rets[1] = bpf_fib_lookup(ctx, &p, 16, 0);
	rets[2] = bpf_fib_lookup(ctx, &p, sizeof(p), 1 << 10);
	p.ifindex = 999;
	rets[3] = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	p.ifindex = 1;
	p.family = 99;
	rets[4] = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	p.family = 10;
	rets[5] = bpf_fib_lookup(ctx, &p, sizeof(p), BPF_FIB_LOOKUP_OUTPUT);
	return XDP_PASS;
}

SEC("xdp")
int fib_route(struct xdp_md *ctx)
{
	struct bpf_fib_lookup p = query;

	answer_ret = bpf_fib_lookup(ctx, &p, sizeof(p), query_flags);
	answer = p;
	return answer_ret == BPF_FIB_LKUP_RET_SUCCESS ? XDP_TX : XDP_PASS;
}
