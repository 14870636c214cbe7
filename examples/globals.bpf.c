// SPDX-License-Identifier: GPL-2.0
/*
 * globals: BPF global variables and the sections they land in. A loader turns each data section into
 * a one-element array map (user space reads and writes it, often through mmap) and rewrites the
 * program's references into map-value pointers.
 *
 *   .rodata      const volatile: set by user space *before* load, then frozen; the verifier knows
 *                the values and prunes branches that depend on them (since 5.2)
 *   .data        initialised, mutable by program and user space at run time
 *   .bss         zero-initialised (takes no space in the ELF file)
 *   .data.stats  a custom data section: its own map, so it can be read or reset without touching
 *                the rest (since 5.12 / libbpf 0.3)
 *
 * The program is an XDP byte quota: it passes traffic until `byte_quota` bytes have been seen, then
 * drops, sampling one packet in `sample_every` into `stats`.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* .rodata: load-time configuration. `volatile` stops clang folding the defaults into the code. */
const volatile __u32 sample_every = 16;
const volatile __u32 enforce = 1;

/* .rodata too: an ordinary constant, readable by user space as program metadata. */
const char program_name[] = "tsbpf-globals";

/* .data: a knob user space may change while the program runs. */
__u64 byte_quota = 1ULL << 30;

/* .bss: running totals, zero at load. */
__u64 packets_seen;
__u64 bytes_seen;

/* .data.stats: the sampled view, in its own map. */
struct sample_stats {
	__u64 sampled_packets;
	__u64 sampled_bytes;
	__u64 over_quota_drops;
};
struct sample_stats stats SEC(".data.stats") = {};

SEC("xdp")
int xdp_byte_quota(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;

	__u64 n = __sync_fetch_and_add(&packets_seen, 1);
	__u64 total = __sync_fetch_and_add(&bytes_seen, len) + len;

	if (sample_every != 0 && n % sample_every == 0) {
		__sync_fetch_and_add(&stats.sampled_packets, 1);
		__sync_fetch_and_add(&stats.sampled_bytes, len);
	}
	if (enforce && total > byte_quota) {
		__sync_fetch_and_add(&stats.over_quota_drops, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}
