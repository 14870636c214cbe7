// SPDX-License-Identifier: GPL-2.0
/*
 * tail_call: an XDP dispatcher that jumps to a per-protocol handler through a program array. A tail
 * call replaces the running program (same stack frame, no return); if the slot is empty the call
 * falls through and the dispatcher carries on.
 *
 * The program array is populated in the object itself: `.values` names the handler programs, and the
 * loader stores their fds into those slots after loading them (libbpf >= 0.7 and tsbpf do this).
 * Each handler then tail-calls the `audit` slot with bpf_tail_call_static, a constant index the JIT
 * can turn into a direct jump. Chains are limited to 33 calls (MAX_TAIL_CALL_CNT).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define AUDIT_SLOT 256 /* after the 256 protocol slots */

/* The programs named in the map's initial values must be declared first. */
int handle_tcp(struct xdp_md *ctx);
int handle_udp(struct xdp_md *ctx);
int handle_icmp(struct xdp_md *ctx);
int audit(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, AUDIT_SLOT + 1);
	/* Sizes, not BTF types: the kernel accepts no BTF key/value type for a program array. */
	__uint(key_size, sizeof(__u32));
	__array(values, int(struct xdp_md *));
} handlers SEC(".maps") = {
	.values = {
		[IPPROTO_ICMP] = (void *)&handle_icmp,
		[IPPROTO_TCP] = (void *)&handle_tcp,
		[IPPROTO_UDP] = (void *)&handle_udp,
		[AUDIT_SLOT] = (void *)&audit,
	},
};

enum counter {
	DISPATCHED = 0,
	NO_HANDLER,
	TCP,
	UDP,
	ICMP,
	AUDITED,
	COUNTERS,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void bump(__u32 c)
{
	__u64 *n = bpf_map_lookup_elem(&counters, &c);
	if (n)
		(*n)++;
}

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;

	bump(DISPATCHED);
	bpf_tail_call(ctx, &handlers, ip->protocol);
	/* Only reached when the slot is empty (or the chain limit was hit). */
	bump(NO_HANDLER);
	return XDP_PASS;
}

SEC("xdp")
int handle_tcp(struct xdp_md *ctx)
{
	bump(TCP);
	bpf_tail_call_static(ctx, &handlers, AUDIT_SLOT);
	return XDP_PASS;
}

SEC("xdp")
int handle_udp(struct xdp_md *ctx)
{
	bump(UDP);
	bpf_tail_call_static(ctx, &handlers, AUDIT_SLOT);
	return XDP_PASS;
}

SEC("xdp")
int handle_icmp(struct xdp_md *ctx)
{
	bump(ICMP);
	bpf_tail_call_static(ctx, &handlers, AUDIT_SLOT);
	return XDP_PASS;
}

SEC("xdp")
int audit(struct xdp_md *ctx)
{
	bump(AUDITED);
	return XDP_PASS;
}
