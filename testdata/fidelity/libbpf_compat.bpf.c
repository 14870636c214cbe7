// SPDX-License-Identifier: GPL-2.0
/*
 * Two things libbpf does when it loads an object: a `__weak __hidden` subprogram is marked static
 * in the BTF the kernel sees (so the verifier checks it with its caller's context, as for
 * libbpf's own bpf_usdt_arg), and `bpf_ksym_exists()` of a weak kfunc the kernel has is true.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern void bpf_rcu_read_lock(void) __ksym __weak;
extern void bpf_rcu_read_unlock(void) __ksym __weak;
extern void bpf_no_such_kfunc(void) __ksym __weak;

int rcu_found;
int missing_found;

/* As a global function its pointer argument may be NULL, and the load below is refused. */
__weak __hidden int next_of(int *value)
{
	return *value + 1;
}

SEC("xdp")
int hidden_subprog(struct xdp_md *ctx)
{
	int value = 41;

	return next_of(&value) == 42 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int weak_kfunc(struct xdp_md *ctx)
{
	if (bpf_ksym_exists(bpf_rcu_read_lock)) {
		bpf_rcu_read_lock();
		bpf_rcu_read_unlock();
		rcu_found = 1;
	}
	if (bpf_ksym_exists(bpf_no_such_kfunc)) {
		bpf_no_such_kfunc();
		missing_found = 1;
	}
	return XDP_PASS;
}
