// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup_skb_count: an egress filter for a cgroup. Counts packets and bytes per IP protocol,
 * drops IPv4 packets to one blocked address (set in .rodata before loading), and marks what it
 * lets through. A cgroup skb program sees the packet from its network header on; the socket fields
 * (family, local_ip4, remote_ip4) come from the sending socket.
 *
 *   bpftool prog load cgroup_skb_count.bpf.o /sys/fs/bpf/count type cgroup/skb
 *   bpftool cgroup attach /sys/fs/cgroup/app egress pinned /sys/fs/bpf/count
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct proto_stat {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct proto_stat);
} egress_stats SEC(".maps");

/* The last packet as the program saw it, for tests and for a quick look with bpftool. */
struct view {
	__u32 family;
	__u32 local_ip4;
	__u32 remote_ip4;
	__u32 len;
	__u32 linear;
	__u32 protocol;
} last;

/* Network order; 0 blocks nothing. */
const volatile __u32 blocked_ip4 = 0;

#define ALLOW 1
#define DROP 0
#define MARK 0x7ab

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 proto = 255;
	struct proto_stat *stat, fresh = {};

	last.family = skb->family;
	last.local_ip4 = skb->local_ip4;
	last.remote_ip4 = skb->remote_ip4;
	last.len = skb->len;
	last.linear = data_end - data;
	last.protocol = skb->protocol;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;

		if ((void *)(ip + 1) > data_end)
			return ALLOW;
		proto = ip->protocol;
		if (blocked_ip4 && ip->daddr == blocked_ip4)
			return DROP;
	}
	stat = bpf_map_lookup_elem(&egress_stats, &proto);
	if (!stat) {
		bpf_map_update_elem(&egress_stats, &proto, &fresh, BPF_NOEXIST);
		stat = bpf_map_lookup_elem(&egress_stats, &proto);
		if (!stat)
			return ALLOW;
	}
	__sync_fetch_and_add(&stat->packets, 1);
	__sync_fetch_and_add(&stat->bytes, skb->len);
	skb->mark = MARK;
	skb->cb[0] = proto;
	return ALLOW;
}
