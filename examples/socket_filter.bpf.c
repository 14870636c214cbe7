// SPDX-License-Identifier: GPL-2.0
/*
 * socket_filter: a classic socket filter in eBPF. Attached to a packet socket
 * (setsockopt(SO_ATTACH_BPF)), it keeps only TCP over IPv4 and IPv6 and counts what it saw; the
 * return value is how many bytes of the packet to deliver (0 drops it for this socket only).
 *
 * Socket filters cannot read the packet directly: they copy from it. Where skb->data points depends
 * on the socket (the link-layer header on a packet socket, the network header on others and in
 * BPF_PROG_TEST_RUN), so this reads relative to the network header with bpf_skb_load_bytes_relative
 * (since 4.18) and takes the EtherType from skb->protocol.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

enum filter_counter {
	SEEN = 0,
	KEPT = 1,
	COUNTERS,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} filter_stats SEC(".maps");

static __always_inline void bump(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&filter_stats, &counter);
	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("socket")
int keep_tcp(struct __sk_buff *skb)
{
	__u8 ip_proto;
	int err;

	bump(SEEN);
	/* skb->protocol is the EtherType (network byte order) whatever layer skb->data starts at. */
	if (skb->protocol == bpf_htons(ETH_P_IP))
		err = bpf_skb_load_bytes_relative(skb, offsetof(struct iphdr, protocol), &ip_proto, 1,
						  BPF_HDR_START_NET);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		err = bpf_skb_load_bytes_relative(skb, offsetof(struct ipv6hdr, nexthdr), &ip_proto, 1,
						  BPF_HDR_START_NET);
	else
		return 0;
	if (err < 0 || ip_proto != IPPROTO_TCP)
		return 0;

	bump(KEPT);
	return skb->len; /* deliver the whole packet */
}
