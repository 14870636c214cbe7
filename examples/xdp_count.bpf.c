// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_count: counts packets and bytes per IP protocol (TCP 6, UDP 17, ICMP 1, ICMPv6 58, ...) on an
 * interface, passing every packet on. Ethernet, one optional 802.1Q/802.1ad tag, then IPv4 or IPv6.
 *
 * Every header is bounds-checked against data_end before it is read: the verifier rejects any packet
 * access it cannot prove lies inside [data, data_end).
 *
 *   ip link set dev eth0 xdpgeneric obj xdp_count.bpf.o sec xdp
 *   bpftool map dump name proto_stats
 *
 * Uses the UAPI network headers rather than vmlinux.h: they also give the ETH_P_* and IPPROTO_*
 * constants, which BTF cannot carry (they are macros).
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

struct proto_stat {
	__u64 packets;
	__u64 bytes;
};

/* One slot per IP protocol number; per-CPU, so the counters need no atomics. Key 255 (IPPROTO_RAW,
 * never on the wire) counts frames that are not IP. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct proto_stat);
} proto_stats SEC(".maps");

#define NOT_IP 255

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* The IP protocol of the frame in [data, data_end), or NOT_IP. */
static __always_inline __u32 ip_protocol(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return NOT_IP;

	void *cursor = eth + 1;
	__u16 proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = cursor;
		if ((void *)(vlan + 1) > data_end)
			return NOT_IP;
		proto = vlan->encapsulated_proto;
		cursor = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cursor;
		if ((void *)(ip + 1) > data_end)
			return NOT_IP;
		return ip->protocol;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cursor;
		if ((void *)(ip6 + 1) > data_end)
			return NOT_IP;
		/* The first next-header: extension headers (hop-by-hop, fragment, ...) count as themselves. */
		return ip6->nexthdr;
	}
	return NOT_IP;
}

SEC("xdp")
int xdp_count_protocols(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	__u32 key = ip_protocol(data, data_end);
	struct proto_stat *stat = bpf_map_lookup_elem(&proto_stats, &key);
	if (stat) {
		stat->packets++;
		stat->bytes += data_end - data;
	}
	return XDP_PASS;
}
