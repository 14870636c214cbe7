// A program without a GPL-compatible licence may not read kernel structs through BTF pointers
// (check_ptr_to_btf_access). Our own code, for src/verifier/btf-access.test.ts.
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Proprietary";

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

__u64 seen;

SEC("tp_btf/sched_switch")
int nongpl_read(unsigned long long *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx[2];

	seen += next->pid;
	return 0;
}
