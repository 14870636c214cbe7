// CO-RE relocations of all 13 kinds: compiled by build.sh into core.o.
#define SEC(name) __attribute__((section(name), used))
#define __pai __attribute__((preserve_access_index))

enum bpf_field_info_kind {
  BPF_FIELD_BYTE_OFFSET = 0,
  BPF_FIELD_BYTE_SIZE = 1,
  BPF_FIELD_EXISTS = 2,
  BPF_FIELD_SIGNED = 3,
  BPF_FIELD_LSHIFT_U64 = 4,
  BPF_FIELD_RSHIFT_U64 = 5,
};
enum bpf_type_id_kind { BPF_TYPE_ID_LOCAL = 0, BPF_TYPE_ID_TARGET = 1 };
enum bpf_type_info_kind { BPF_TYPE_EXISTS = 0, BPF_TYPE_SIZE = 1, BPF_TYPE_MATCHES = 2 };
enum bpf_enum_value_kind { BPF_ENUMVAL_EXISTS = 0, BPF_ENUMVAL_VALUE = 1 };

struct task {
  int pid;
  unsigned int flags : 4;
  int prio : 5;
  struct {
    long start;
    long end;
  } times[4];
} __pai;

enum state { RUNNING = 1, SLEEPING = 2 };
typedef struct task task_t;

SEC("kprobe/core")
int core_prog(struct task *t)
{
  unsigned long long r = 0;
  r += t->pid;                                                      /* field_byte_offset via access index */
  r += t->times[2].end;                                             /* multi-level access string */
  r += __builtin_preserve_field_info(t->pid, BPF_FIELD_BYTE_OFFSET);
  r += __builtin_preserve_field_info(t->flags, BPF_FIELD_BYTE_SIZE);
  r += __builtin_preserve_field_info(t->prio, BPF_FIELD_EXISTS);
  r += __builtin_preserve_field_info(t->prio, BPF_FIELD_SIGNED);
  r += __builtin_preserve_field_info(t->flags, BPF_FIELD_LSHIFT_U64);
  r += __builtin_preserve_field_info(t->flags, BPF_FIELD_RSHIFT_U64);
  r += __builtin_btf_type_id(*(struct task *)0, BPF_TYPE_ID_LOCAL);
  r += __builtin_btf_type_id(*(task_t *)0, BPF_TYPE_ID_TARGET);
  r += __builtin_preserve_type_info(*(struct task *)0, BPF_TYPE_EXISTS);
  r += __builtin_preserve_type_info(*(struct task *)0, BPF_TYPE_SIZE);
  r += __builtin_preserve_type_info(*(task_t *)0, BPF_TYPE_MATCHES);
  r += __builtin_preserve_enum_value(*(enum state *)SLEEPING, BPF_ENUMVAL_EXISTS);
  r += __builtin_preserve_enum_value(*(enum state *)RUNNING, BPF_ENUMVAL_VALUE);
  return (int)r;
}

SEC("kprobe/second")
int second_prog(struct task *t)
{
  return t->prio;
}

char LICENSE[] SEC("license") = "GPL";
