// SPDX-License-Identifier: GPL-2.0
/*
 * An object with a map the kernel cannot create (a hash map with no max_entries, which its tool
 * was meant to size before loading): `tsbpf load --json` must still report each program.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
} unsized SEC(".maps");

SEC("xdp")
int uses_unsized(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&unsized, &key);

	return value ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int plain_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
