// Programs whose level-1/2 verifier logs are recorded from Linux 6.18 as goldens
// (scripts/verifier-log-agreement.ts --golden-object): what the kernel says about the main
// program's BTF signature, and its stack-liveness lines across branches and subprograms.
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

// a global main program returning void: "doesn't return scalar", the walk goes on
SEC("socket")
__attribute__((naked)) void void_main(void)
{
	asm volatile("r1 = 7;"
		     "*(u64 *)(r10 - 8) = r1;"
		     "r0 = *(u64 *)(r10 - 8);"
		     "exit;" ::: "memory");
}

// the note is the first line of a level-1 log, which keeps only the path to the error
SEC("socket")
__attribute__((naked)) void void_main_rejected(void)
{
	asm volatile("r0 = 0;"
		     "r10 = 0;"
		     "exit;" ::: "memory");
}

// `void *` is never the context here: "arg#0 reference type('UNKNOWN ') ..."
SEC("xdp")
int void_ctx(void *ctx)
{
	return XDP_PASS;
}

static __attribute__((noinline)) int fill(__u64 *slot, int v)
{
	*slot = v;
	return 0;
}

// stack slots written on one branch only, then read; a subprogram writing the caller's stack
SEC("tc")
int branches(struct __sk_buff *skb)
{
	volatile __u64 a = 0, b;
	__u64 c;

	if (skb->len > 100)
		b = 1;
	else
		b = 2;
	fill(&c, skb->len);
	return a + b + c > 3 ? 1 : 0;
}

// 32-bit signed bounds beyond 16 bits print as 32-bit hex and pair with equal 64-bit ones
SEC("socket")
__attribute__((naked)) void s32_bounds(void)
{
	asm volatile("call %[rand];"
		     "w0 |= 0xa0000000;"
		     "r1 = r0;"
		     "r0 = 0;"
		     "exit;" :: [rand] "i"(BPF_FUNC_get_prandom_u32) : "memory");
}

// global functions: each call is "assumed valid", each function is validated after the main
// program, once, from its prototype
__attribute__((noinline)) int add_one(int x)
{
	return x + 1;
}

__attribute__((noinline)) int len_of(struct __sk_buff *skb)
{
	if (skb->len > 64)
		return 1;
	return skb->protocol;
}

SEC("tc")
int calls_globals(struct __sk_buff *skb)
{
	int a = add_one(skb->len);

	return len_of(skb) + add_one(a);
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

__attribute__((noinline)) int jump_away(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 0);
	return 0;
}

// a global function that may tail-call drops the caller's packet pointers
SEC("tc")
int pkt_after_tail_call(struct __sk_buff *skb)
{
	int *p = (void *)(long)skb->data;

	if ((void *)(p + 1) > (void *)(long)skb->data_end)
		return 2;
	jump_away(skb);
	*p = 42;
	return 0;
}
