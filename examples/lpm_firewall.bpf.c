// SPDX-License-Identifier: GPL-2.0
/*
 * lpm_firewall: an XDP firewall that drops IPv4 packets whose source address falls in a blocked
 * prefix. The prefixes live in a longest-prefix-match trie, so 10.0.0.0/8 and 10.1.2.0/24 can carry
 * different rules and the most specific one wins.
 *
 * User space adds rules as {prefixlen, address in network byte order} keys:
 *
 *   # block 192.0.2.0/24: key = prefixlen 24 (host order u32), then the 4 address bytes
 *   bpftool map update name blocked_nets key 24 0 0 0 192 0 2 0 value 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 *
 * LPM tries must be created with BPF_F_NO_PREALLOC (the kernel allocates nodes on insert).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* The key layout the kernel requires for an LPM trie: a u32 prefix length, then the data bytes
 * compared most-significant first (hence the address stays in network byte order). */
struct ipv4_lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

enum rule_action {
	RULE_PASS = 0,
	RULE_DROP = 1,
};

struct rule {
	__u32 action; /* enum rule_action */
	__u32 pad;
	__u64 hits; /* updated atomically: the same rule matches on every CPU */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct ipv4_lpm_key);
	__type(value, struct rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blocked_nets SEC(".maps");

/* Packets dropped and passed, for a quick `bpftool map dump`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

static __always_inline int count(__u32 verdict, int xdp_action)
{
	__u64 *n = bpf_map_lookup_elem(&verdicts, &verdict);
	if (n)
		(*n)++;
	return xdp_action;
}

SEC("xdp")
int xdp_lpm_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;

	/* A full-length lookup: the trie returns the longest stored prefix containing this address. */
	struct ipv4_lpm_key key = { .prefixlen = 32, .addr = ip->saddr };
	struct rule *rule = bpf_map_lookup_elem(&blocked_nets, &key);
	if (rule) {
		__sync_fetch_and_add(&rule->hits, 1);
		if (rule->action == RULE_DROP)
			return count(RULE_DROP, XDP_DROP);
	}
	return count(RULE_PASS, XDP_PASS);
}
