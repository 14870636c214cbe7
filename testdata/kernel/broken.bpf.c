// SPDX-License-Identifier: GPL-2.0
/*
 * One program the verifier accepts and one it rejects, in that order (libbpf loads in order, so
 * bpftool's failed `loadall` still gives both verdicts). The rejected one reads packet data
 * without a bounds check: the verifier fails at the load marked FAULT.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_ok(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (data + 1 > data_end)
		return XDP_PASS;
	return *(__u8 *)data == 0xff ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	__u32 first = *(__u32 *)data; /* FAULT: no bounds check against data_end */
	return first == 0 ? XDP_DROP : XDP_PASS;
}
