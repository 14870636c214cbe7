/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the latency tools: log2 slots as libbpf-tools counts them (slot i: [2^i, 2^(i+1)), 0 in 0). */
#ifndef TSBPF_TOOLS_HISTOGRAM_H
#define TSBPF_TOOLS_HISTOGRAM_H

#define MAX_SLOTS 27

/* A histogram bucket: `id` groups (a pid, a disk; 0 when not grouped), `slot` is the log2 slot. */
struct hist_key {
	__u32 id;
	__u32 slot;
};

static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r = 0, shift;
	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;
	return hi ? log2_u32(hi) + 32 : log2_u32((__u32)v);
}

static __always_inline __u32 hist_slot(__u64 value)
{
	__u32 slot = log2_u64(value);
	return slot >= MAX_SLOTS ? MAX_SLOTS - 1 : slot;
}

#endif
