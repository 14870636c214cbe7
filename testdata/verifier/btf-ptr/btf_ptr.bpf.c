// Reads through BTF-typed pointers (PTR_TO_BTF_ID): tp_btf arguments and bpf_get_current_task_btf()
// results walked member by member as the kernel's btf_struct_access does, with what it accepts and
// the first error of what it refuses. Our own code, for the verifier's BTF-pointer tests
// (src/verifier/btf-access.test.ts); build: testdata/verifier/btf-ptr/build.sh.
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// Only the members used: CO-RE relocates their offsets to the running kernel's layout.
struct mm_struct {
	unsigned long total_vm;
} __attribute__((preserve_access_index));

struct css_set {
	int nr_tasks;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct task_struct *parent;
	struct mm_struct *mm;
	char comm[16];
	void *stack;
	unsigned int in_iowait:1;
	struct css_set *cgroups;
} __attribute__((preserve_access_index));

struct sock {
	unsigned int sk_mark;
} __attribute__((preserve_access_index));

struct net_device {
	int ifindex;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct sock *sk;
	struct net_device *dev;
	unsigned int len;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} task_store SEC(".maps");

__u64 seen;

// sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
SEC("tp_btf/sched_switch")
int tp_btf_pid(unsigned long long *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	struct task_struct *next = (struct task_struct *)ctx[2];

	seen += prev->pid + next->tgid;
	return 0;
}

// real_parent is listed in task_struct__safe_rcu: an rcu_ptr_ that may be walked again.
SEC("tp_btf/sched_switch")
int tp_btf_parent_tgid(unsigned long long *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx[2];

	seen += next->real_parent->tgid + next->parent->parent->pid;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_pid(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += task->pid;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_mm(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += task->mm->total_vm + task->comm[0] + task->comm[15];
	return 0;
}

// A pointer member to something that is not a struct reads as rdonly_untrusted_mem.
SEC("kprobe/do_nanosleep")
int task_btf_void_member(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += *(unsigned char *)task->stack;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_probe_read(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	int pid = 0;

	bpf_probe_read_kernel(&pid, sizeof(pid), &task->real_parent->pid);
	seen += pid;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_storage(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *v = bpf_task_storage_get(&task_store, task->real_parent, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (v)
		*v += 1;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_stack(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 buf[8];

	seen += bpf_get_task_stack(task, buf, sizeof(buf), 0);
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_stack_wrong_struct(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 buf[8];

	// cgroups is in task_struct__safe_rcu: an rcu_ptr_css_set, of the wrong struct
	seen += bpf_get_task_stack((struct task_struct *)task->cgroups, buf, sizeof(buf), 0);
	return 0;
}

// A trusted pointer is never NULL (reg_not_null): the check is decided, one path is walked.
SEC("kprobe/do_nanosleep")
int task_btf_null_check(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mm_struct *mm;

	if (!task)
		return 1;
	mm = task->mm;
	if (!mm)
		return 2;
	seen += mm->total_vm;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_bitfield(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += task->in_iowait;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_stack_untrusted(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 buf[8];

	seen += bpf_get_task_stack((struct task_struct *)task->mm, buf, sizeof(buf), 0);
	return 0;
}

// A fixed offset is fine for a helper argument, if a struct of the right type sits there.
SEC("kprobe/do_nanosleep")
int task_btf_stack_offset(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 buf[8];

	seen += bpf_get_task_stack((struct task_struct *)((char *)task + 8), buf, sizeof(buf), 0);
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_stack_var_off(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 buf[8];

	task = (struct task_struct *)((char *)task + (bpf_get_prandom_u32() & 8));
	seen += bpf_get_task_stack(task, buf, sizeof(buf), 0);
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_write(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	task->pid = 1;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_beyond(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += *(__u64 *)((char *)task + 0x100000);
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_negative(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += *(__u64 *)((char *)task - 8);
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_var_off(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += *(char *)((char *)task + (bpf_get_prandom_u32() & 0xf8));
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_ptr_half(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += *(volatile __u32 *)&task->real_parent;
	return 0;
}

SEC("kprobe/do_nanosleep")
int task_btf_past_member(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += *(volatile __u64 *)&task->tgid;
	return 0;
}

// kfree_skb(struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk):
// skb->sk is in sk_buff__safe_rcu_or_null, so it may be NULL.
SEC("tp_btf/kfree_skb")
int tp_btf_skb_sk(unsigned long long *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct sock *sk = skb->sk;

	seen += skb->len;
	if (sk)
		seen += sk->sk_mark;
	return 0;
}

SEC("tp_btf/kfree_skb")
int tp_btf_skb_sk_unchecked(unsigned long long *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];

	seen += skb->sk->sk_mark;
	return 0;
}

// rx_sk is one of the tracepoint arguments the kernel lists as nullable (raw_tp_null_args).
SEC("tp_btf/kfree_skb")
int tp_btf_rx_sk_unchecked(unsigned long long *ctx)
{
	struct sock *rx_sk = (struct sock *)ctx[3];

	seen += rx_sk->sk_mark;
	return 0;
}

// skb->dev sits in a union of two members: what is read from it is untrusted, and still readable.
SEC("tp_btf/kfree_skb")
int tp_btf_skb_union(unsigned long long *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];

	seen += skb->dev->ifindex;
	return 0;
}

// Sleepable: outside an RCU read section, every pointer walked from the task is untrusted.
SEC("uprobe.s")
int sleepable_untrusted_arg(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *v = bpf_task_storage_get(&task_store, task->real_parent, 0, 0);

	if (v)
		seen += *v;
	return 0;
}

SEC("uprobe.s")
int sleepable_untrusted_read(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	seen += task->real_parent->real_parent->pid;
	return 0;
}
