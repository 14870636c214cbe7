// SPDX-License-Identifier: MIT
// Two programs in two sections, a global (non-static) subprogram called from both, a weak
// global variable, a per-CPU array map and an undefined weak extern (a `.kconfig` value libbpf
// would fill in), so the symbol table has an SHN_UNDEF entry that a relocation names.

typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __noinline __attribute__((noinline))
#define __weak __attribute__((weak))

enum { BPF_MAP_TYPE_PERCPU_ARRAY = 6 };

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

__weak __u32 tunable = 7;
extern __u32 CONFIG_HZ __attribute__((section(".kconfig"), weak));

__noinline __u64 add_to(__u32 slot, __u64 amount) {
  __u64 *value = bpf_map_lookup_elem(&counters, &slot);
  if (!value) return 0;
  *value += amount;
  return *value;
}

SEC("socket")
int count_socket(void *skb) {
  return (int)add_to(0, tunable);
}

SEC("tracepoint/syscalls/sys_enter_write")
int count_write(void *ctx) {
  add_to(1, (bpf_ktime_get_ns() & 0xff) + CONFIG_HZ);
  return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
