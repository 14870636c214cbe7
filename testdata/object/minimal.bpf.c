// SPDX-License-Identifier: MIT
// A minimal XDP program for the ELF reader's tests: a global variable (.bss), an initialised
// global (.data), a read-only constant (.rodata), a BTF-defined hash map (.maps), a static
// subprogram (a bpf-to-bpf call, R_BPF_64_32 when not inlined) and a helper call by id.
// No libbpf headers are installed, so the few macros libbpf provides are defined here.

typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __noinline __attribute__((noinline))

enum { BPF_MAP_TYPE_HASH = 1 };
enum { XDP_PASS = 2 };

struct xdp_md {
  __u32 data;
  __u32 data_end;
  __u32 data_meta;
  __u32 ingress_ifindex;
  __u32 rx_queue_index;
  __u32 egress_ifindex;
};

// Helpers are called by their kernel id (enum bpf_func_id): 1 map_lookup_elem, 2 map_update_elem,
// 6 trace_printk.
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} packets SEC(".maps");

__u64 total_packets;          // .bss
__u32 sample_rate = 4;        // .data
const volatile __u32 verbose = 1; // .rodata

static __noinline __u64 bump(__u32 key) {
  __u64 *count = bpf_map_lookup_elem(&packets, &key);
  if (count) {
    *count += 1;
    return *count;
  }
  __u64 one = 1;
  bpf_map_update_elem(&packets, &key, &one, 0);
  return 1;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx) {
  __u32 key = ctx->ingress_ifindex;
  __u64 seen = bump(key);
  total_packets += 1;
  if (verbose && seen % sample_rate == 0) {
    static const char fmt[] = "ifindex %u seen %llu\n";
    bpf_trace_printk(fmt, sizeof(fmt), key, seen);
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
