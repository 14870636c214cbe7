// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel symbols a loader must resolve in the kernel's BTF: a kfunc call (BPF_PSEUDO_KFUNC_CALL,
 * the FUNC's id), a typed per-CPU variable (BPF_PSEUDO_BTF_ID, the VAR's id), a weak kfunc that
 * does not exist (poisoned, never reached), and `.kconfig` values. This kernel has no data symbols
 * in kallsyms (no CONFIG_KALLSYMS_ALL), so the per-CPU variable is rejected, by libbpf too.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern void bpf_no_such_kfunc(int x) __ksym __weak;
extern const int bpf_prog_active __ksym;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;

__u64 seen_version;
int seen_active;
int seen_hz;

SEC("xdp")
int xdp_rcu(struct xdp_md *ctx)
{
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	if (bpf_ksym_exists(bpf_no_such_kfunc))
		bpf_no_such_kfunc(1);
	return XDP_PASS;
}

SEC("raw_tp/sched_switch")
int on_switch(void *ctx)
{
	const int *active = bpf_this_cpu_ptr(&bpf_prog_active);
	seen_active = *active;
	seen_version = LINUX_KERNEL_VERSION;
	seen_hz = CONFIG_HZ;
	return 0;
}

/* Last, because libbpf stops at the first failure: TRACING programs need attach_btf_id, and a
 * kernel in lockdown refuses them (EPERM) whatever the verifier would say. */
SEC("tp_btf/sched_switch")
int btf_switch(__u64 *ctx)
{
	return 0;
}
