// SPDX-License-Identifier: GPL-2.0
/*
 * subprog: BPF-to-BPF calls (since 4.16) and several programs sharing one section.
 *
 * - parse_l3 is a static __noinline subprogram: a real `call` in the object, verified as part of
 *   each caller with the caller's argument types (here, packet pointers it may dereference).
 * - count_protocol and packet_len are global functions (since 5.6): verified once, on their own,
 *   from their BTF prototype; arguments are scalars or the program context, so the verifier does
 *   not need to re-walk them per call site.
 * - xdp_pass_counted and xdp_drop_non_ip are two programs in the same "xdp" section; loaders
 *   tell them apart by symbol name, and each gets its own copy of the subprograms it calls.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_packets SEC(".maps");

#define NOT_IP 255

/* The IP protocol of the frame, or NOT_IP. Static and not inlined: a bpf-to-bpf call. */
static __noinline __u32 parse_l3(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return NOT_IP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return NOT_IP;
		return ip->protocol;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return NOT_IP;
		return ip6->nexthdr;
	}
	return NOT_IP;
}

/* Global: verified independently; PROTO may be any u32, so it is range-checked here. */
__noinline int count_protocol(__u32 proto)
{
	if (proto > 255)
		return -1;
	__u64 *n = bpf_map_lookup_elem(&proto_packets, &proto);
	if (!n)
		return -1;
	(*n)++;
	return 0;
}

/* Global, taking the context: the verifier matches `struct xdp_md *` to the program type. */
__noinline int packet_len(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

SEC("xdp")
int xdp_pass_counted(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	count_protocol(parse_l3(data, data_end));
	return XDP_PASS;
}

SEC("xdp")
int xdp_drop_non_ip(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	__u32 proto = parse_l3(data, data_end);
	count_protocol(proto);
	/* Runt frames and non-IP traffic are dropped. */
	if (proto == NOT_IP || packet_len(ctx) < ETH_ZLEN)
		return XDP_DROP;
	return XDP_PASS;
}
