// BTF-typed contexts as real tracing tools use them (runqlat, biolatency, hardirqs: tp_btf and
// fentry programs reading their arguments from the u64 array), plus reads the kernel refuses.
// Our own code, for tsbpf's regression tests (testdata/realworld/build.sh).
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct;

__u64 seen;

// sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
SEC("tp_btf/sched_switch")
int tp_btf_args(unsigned long long *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx[2];
	unsigned int state = (unsigned int)ctx[3];
	int pid = 0;

	// As BPF_CORE_READ does: the pointer argument goes to bpf_probe_read_kernel.
	bpf_probe_read_kernel(&pid, sizeof(pid), (char *)next + 8);
	seen += pid + state + ctx[0];
	return 0;
}

SEC("tp_btf/sched_switch")
int tp_btf_past_last_arg(unsigned long long *ctx)
{
	seen += ctx[4];
	return 0;
}

SEC("tp_btf/sched_switch")
int tp_btf_write(unsigned long long *ctx)
{
	ctx[0] = 1;
	return 0;
}

// vfs_fsync(struct file *file, int datasync) returns int
SEC("fexit/vfs_fsync")
int fexit_ret(unsigned long long *ctx)
{
	seen += ctx[1] + ctx[2];
	return 0;
}

SEC("fentry/vfs_fsync")
int fentry_no_ret(unsigned long long *ctx)
{
	seen += ctx[2];
	return 0;
}

// As biolatency does for block_rq_insert: the argument list changed in 5.11, and the tool picks
// the slot by the kernel version libbpf writes into .kconfig. On older kernels the dead branch
// would read a slot this kernel's prototype lacks.
extern unsigned int LINUX_KERNEL_VERSION __kconfig;

SEC("tp_btf/sched_wakeup")
int tp_btf_by_version(unsigned long long *ctx)
{
	void *task = LINUX_KERNEL_VERSION < ((5 << 16) + (11 << 8)) ? (void *)ctx[1] : (void *)ctx[0];
	int pid = 0;

	bpf_probe_read_kernel(&pid, sizeof(pid), (char *)task + 8);
	seen += pid;
	return 0;
}

// As runqlat's sched_wakeup and xdp-tools' cpumap tracepoints do: a direct read through a
// BTF-typed pointer argument (the kernel checks it against struct task_struct's layout).
SEC("tp_btf/sched_wakeup")
int tp_btf_deref(unsigned long long *ctx)
{
	seen += *(int *)((char *)ctx[0] + 8);
	return 0;
}
