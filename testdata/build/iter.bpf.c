// The iterator and formatting macros of include/tsbpf (bpf_for, bpf_for_each, BPF_SNPRINTF,
// BPF_SEQ_PRINTF, bpf_ksym_exists), built by src/build/macros.test.ts with clang; they call kfuncs
// and helpers the VM lacks, so the test runs iter_sum in the kernel where bpf() is available.
#include <linux/types.h>

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

char LICENSE[] SEC("license") = "GPL";

extern int bpf_fake_kfunc_for_test(int x) __weak __ksym;

/* Sums 0..9 with the numbers iterator: 45. */
SEC("syscall")
int iter_sum(void *ctx)
{
	(void)ctx;
	int i, sum = 0;
	bpf_for(i, 0, 10) sum += i;
	int *v;
	bpf_for_each(num, v, 0, 3) sum += *v;
	bpf_repeat(2) sum += 100;
	return sum;
}

SEC("syscall")
int snprintf_len(void *ctx)
{
	(void)ctx;
	char out[32];
	long n = BPF_SNPRINTF(out, sizeof(out), "%d-%d", 4, 2);
	return n + bpf_ksym_exists(bpf_fake_kfunc_for_test);
}

SEC("iter/bpf_map")
int seq_out(struct bpf_iter__bpf_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	BPF_SEQ_PRINTF(seq, "map %p\n", ctx->map);
	BPF_SEQ_PRINTF(seq, "done\n");
	return 0;
}
