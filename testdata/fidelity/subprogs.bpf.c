// SPDX-License-Identifier: GPL-2.0
/*
 * Several subprograms in .text, as real tools have them: static and global (BTF-checked)
 * functions, one calling another, called from two programs in two sections. objdump must show
 * them all at llvm-objdump-19's slot indexes.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

static __attribute__((noinline)) __u64 mix(__u64 a, __u64 b)
{
	return (a * 31) ^ (b >> 3);
}

static __attribute__((noinline)) int bump(__u32 key, __u64 by)
{
	__u64 *value = bpf_map_lookup_elem(&totals, &key);

	if (!value)
		return -1;
	__sync_fetch_and_add(value, mix(by, key));
	return 0;
}

__attribute__((noinline)) int global_len(struct xdp_md *ctx)
{
	if (!ctx)
		return 0;
	return ctx->data_end - ctx->data;
}

SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
	int len = global_len(ctx);

	bump(0, len);
	bump(1, 1);
	return XDP_PASS;
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	bump(2, skb->len);
	return 0;
}
