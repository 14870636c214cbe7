// SPDX-License-Identifier: GPL-2.0
/*
 * loop: the two ways BPF code loops, both verifying the IPv4 header checksum of each packet (a
 * 16-bit ones'-complement sum over the header that comes out as 0xffff when the header is intact):
 *
 * - xdp_csum_bounded: a plain `for` loop with a constant trip limit. Since Linux 5.3 the verifier
 *   accepts bounded loops by walking them, so the pragma keeps clang from unrolling it away and the
 *   object really contains a backward jump.
 * - xdp_csum_bpf_loop: bpf_loop(n, callback, ctx, 0) (since 5.17) calls a static callback n times;
 *   the verifier checks the callback once, whatever n is. The header is first copied to the stack
 *   with bpf_xdp_load_bytes, so the callback works on plain stack memory.
 *
 * Results go to `csum_stats` (good, bad, not IPv4), per CPU.
 */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

enum csum_result {
	CSUM_GOOD = 0,
	CSUM_BAD = 1,
	NOT_IPV4 = 2,
	CSUM_RESULTS,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CSUM_RESULTS);
	__type(key, __u32);
	__type(value, __u64);
} csum_stats SEC(".maps");

/* Set before load to trace every checked header (bpf_printk with 4 arguments: bpf_trace_vprintk). */
const volatile bool debug = false;

#define MAX_IP_HDR_WORDS 30 /* ihl <= 15 32-bit words = 30 16-bit words */

static __always_inline int record(__u32 result)
{
	__u64 *n = bpf_map_lookup_elem(&csum_stats, &result);
	if (n)
		(*n)++;
	return XDP_PASS;
}

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

SEC("xdp")
int xdp_csum_bounded(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return record(NOT_IPV4);
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return record(NOT_IPV4);

	__u32 words = ip->ihl * 2;
	__u16 *p = (__u16 *)ip;
	__u32 sum = 0;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < MAX_IP_HDR_WORDS; i++) {
		if (i >= words)
			break;
		/* Each iteration proves its own access in bounds. */
		if ((void *)(p + i + 1) > data_end)
			return record(CSUM_BAD);
		sum += p[i];
	}
	__u16 folded = fold(sum);
	if (debug)
		bpf_printk("bounded: saddr %x daddr %x ihl %u sum %x", bpf_ntohl(ip->saddr), bpf_ntohl(ip->daddr),
			   ip->ihl, folded);
	return record(folded == 0xffff ? CSUM_GOOD : CSUM_BAD);
}

struct csum_state {
	__u16 words[MAX_IP_HDR_WORDS];
	__u32 nwords;
	__u32 sum;
};

/* bpf_loop callback: 0 continues, 1 stops early. */
static long add_word(__u64 index, void *ctx)
{
	struct csum_state *st = ctx;
	/* The verifier does not know index < nr: prove it for the array access. */
	if (index >= MAX_IP_HDR_WORDS || index >= st->nwords)
		return 1;
	st->sum += st->words[index];
	return 0;
}

SEC("xdp")
int xdp_csum_bpf_loop(struct xdp_md *ctx)
{
	struct csum_state st = {};
	__u8 ihl_byte;
	__u16 proto;

	if (bpf_xdp_load_bytes(ctx, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto)) < 0 ||
	    proto != bpf_htons(ETH_P_IP))
		return record(NOT_IPV4);
	/* version (high nibble) and ihl (low nibble) share the first byte of the IP header. */
	if (bpf_xdp_load_bytes(ctx, ETH_HLEN, &ihl_byte, 1) < 0)
		return record(NOT_IPV4);
	__u32 ihl = ihl_byte & 0x0f;
	if (ihl < 5)
		return record(NOT_IPV4);
	st.nwords = ihl * 2;
	if (bpf_xdp_load_bytes(ctx, ETH_HLEN, st.words, st.nwords * 2) < 0)
		return record(CSUM_BAD);

	bpf_loop(st.nwords, add_word, &st, 0);
	return record(fold(st.sum) == 0xffff ? CSUM_GOOD : CSUM_BAD);
}
