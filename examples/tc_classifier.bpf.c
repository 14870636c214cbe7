// SPDX-License-Identifier: GPL-2.0
/*
 * tc_classifier: a tc (sched_cls) program for clsact ingress or egress that drops TCP and UDP
 * packets to one port and marks the rest of that traffic class for later rules:
 *
 *   tc qdisc add dev eth0 clsact
 *   tc filter add dev eth0 ingress bpf direct-action obj tc_classifier.bpf.o sec tc
 *
 * With direct-action the return value is the verdict (TC_ACT_OK / TC_ACT_SHOT). Unlike a socket
 * filter, tc programs read the packet directly between skb->data and skb->data_end.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Configuration, set by the loader before load (.rodata is frozen afterwards). */
const volatile __u16 blocked_port = 23; /* telnet */
const volatile __u32 web_mark = 0x80;   /* skb->mark for traffic to 80/443 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

SEC("tc")
int classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;

	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return TC_ACT_OK;
	/* Fragments after the first carry no transport header. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return TC_ACT_OK;

	/* ihl is in 32-bit words; options make the IP header longer than struct iphdr. */
	void *l4 = (void *)ip + ip->ihl * 4;
	__u16 dport;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > data_end)
			return TC_ACT_OK;
		dport = bpf_ntohs(tcp->dest);
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > data_end)
			return TC_ACT_OK;
		dport = bpf_ntohs(udp->dest);
	} else {
		return TC_ACT_OK;
	}

	if (dport == blocked_port) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&dropped, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
		return TC_ACT_SHOT;
	}
	if (dport == 80 || dport == 443)
		skb->mark = web_mark;
	return TC_ACT_OK;
}
