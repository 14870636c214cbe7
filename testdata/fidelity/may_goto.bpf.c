// SPDX-License-Identifier: GPL-2.0
/*
 * may_goto (BPF_JMP | BPF_JCOND, since 6.9) as clang emits it for cond_break: a loop with no
 * bound of its own, escaped once the kernel's loop budget for the frame is spent. Counts how
 * often may_goto falls through per run, in the main program and in a subprogram called twice
 * (each call gets a fresh budget).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* The bpf_experimental.h idiom: fall through while may_goto allows, run EXPR when it jumps. */
#define cond_break_do(expr)                                             \
	({                                                              \
		__label__ l_break, l_continue;                          \
		asm volatile goto("may_goto %l[l_break]" :::: l_break); \
		goto l_continue;                                        \
	l_break:                                                        \
		expr;                                                   \
	l_continue:;                                                    \
	})

__u64 main_falls;
__u64 sub_falls[2];
__u32 limit = 100;

/* Counts fall-throughs up to `limit` (or until may_goto jumps). */
static __attribute__((noinline)) __u64 count_falls(__u32 cap)
{
	__u64 n = 0;

	for (;;) {
		cond_break_do(break);
		if (++n >= cap)
			break;
	}
	return n;
}

SEC("xdp")
int may_goto_bounded(struct xdp_md *ctx)
{
	main_falls = count_falls(limit);
	sub_falls[0] = count_falls(limit + 1);
	sub_falls[1] = count_falls(limit + 2);
	return XDP_PASS;
}

SEC("xdp")
int may_goto_unbounded(struct xdp_md *ctx)
{
	__u64 n = 0;

	for (;;) {
		cond_break_do(break);
		n++;
	}
	main_falls = n;
	return XDP_PASS;
}
