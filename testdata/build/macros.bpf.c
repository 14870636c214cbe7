// The program-definition macros of include/tsbpf (BPF_PROG, BPF_KPROBE…), built by
// src/build/macros.test.ts with clang and run on the VM. Declares the few kernel types it needs instead of vmlinux.h.
#include <linux/types.h>

struct pt_regs {
	unsigned long di, si, dx, cx, r8, r10, ax, ip, sp, bp;
} __attribute__((preserve_access_index));

struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));
struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	void *map;
} __attribute__((preserve_access_index));

#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_core_read.h>
#include <tsbpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* fentry-style: a + b * 10 from the u64 argument array. */
SEC("fentry/do_nothing")
int BPF_PROG(prog_sum, int a, long b)
{
	return a + b * 10;
}

/* tp_btf, not fentry: Linux holds fentry programs to a return value of 0. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(prog_noargs)
{
	return ctx ? 7 : 0;
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(kprobe_args, int dfd, void *name)
{
	return dfd + (name != 0);
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(kretprobe_rc, long ret)
{
	return ret < 0;
}

SEC("uprobe//bin/true:main")
int BPF_UPROBE(uprobe_args, int argc)
{
	return argc;
}

SEC("uretprobe//bin/true:main")
int BPF_URETPROBE(uretprobe_rc, int rc)
{
	return rc;
}

SEC("ksyscall/openat")
int BPF_KSYSCALL(ksyscall_args, int dfd, const char *path, int flags, int mode)
{
	return dfd + flags + mode + (path != 0);
}

