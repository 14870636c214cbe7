// LD_ABS inside a bpf_loop callback: Linux 6.18 rejects it with "verifier bug: callback
// unexpected regs 1" (its precision backtracking keeps r0 through the load up to the callback's
// entry); with r0 written first in the callback it accepts.
#include <linux/bpf.h>
#include <tsbpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

static __attribute__((naked, noinline, used)) int load_first(void)
{
	asm volatile("r6 = *(u64 *)(r2 + 0);"
		     ".8byte 0x20;" /* r0 = *(u32 *)skb[0] */
		     "r0 = 0;"
		     "exit;" ::: "memory");
}

static __attribute__((naked, noinline, used)) int set_r0_first(void)
{
	asm volatile("r0 = 1;"
		     "r6 = *(u64 *)(r2 + 0);"
		     ".8byte 0x20;"
		     "r0 = 0;"
		     "exit;" ::: "memory");
}

SEC("socket")
int ld_abs_in_callback(struct __sk_buff *skb)
{
	bpf_loop(1, load_first, &skb, 0);
	return 0;
}

SEC("socket")
int ld_abs_after_r0_in_callback(struct __sk_buff *skb)
{
	bpf_loop(1, set_r0_first, &skb, 0);
	return 0;
}
