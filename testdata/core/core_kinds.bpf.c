// SPDX-License-Identifier: GPL-2.0
/*
 * Every CO-RE relocation kind against the running kernel's types, in a program that loads
 * (raw_tp: kprobes need an attach point at load time on some kernels, this needs none). Built by
 * build.sh into core_kinds.bpf.o; src/object/core.test.ts relocates it with tsbpf and compares
 * each relocation with what libbpf (bpftool -d prog load) computed and what the kernel accepted.
 *
 * Local flavors (`___x`) stand for types of other kernel versions: fields that are missing
 * (exists → 0, reads poisoned but unreachable), of another size (loads resized, or poisoned when
 * resizing would misread a signed value), nested differently (anonymous members), and enums with
 * other values.
 */
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
#include <tsbpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define __pai __attribute__((preserve_access_index))

/* task_struct::state was renamed __state in 5.14. */
struct task_struct___old {
	long state;
} __pai;
/* atomic_flags is unsigned long: an unsigned 4-byte load of it is widened to 8 bytes. */
struct task_struct___narrow {
	unsigned int atomic_flags;
} __pai;
/* ...but a signed one cannot be, so that load is poisoned (and guarded by the size check). */
struct task_struct___signed {
	int atomic_flags;
} __pai;
/* pid and tgid nested in an anonymous struct locally: only named steps must match. */
struct task_struct___nested {
	struct {
		int pid;
		int tgid;
	};
} __pai;
/* mmap_base sits in an anonymous struct of the kernel's mm_struct. */
struct mm_struct___flat {
	unsigned long mmap_base;
} __pai;
/* A list_head whose `next` is no pointer: type_matches says 0, type_exists 1. */
struct list_head___bad {
	int next;
} __pai;
struct tsbpf_no_such_type {
	int x;
} __pai;
/* Enumerators: one missing from the kernel, one with another value locally. */
enum pid_type___x { PIDTYPE_NOPE___x = 99 };
enum pid_type___y { PIDTYPE_SID___y = 7 };

__u64 out[64];

/* A subprogram with relocations of its own, appended to the program by the loader. */
static __noinline int read_ids(struct task_struct *t)
{
	return t->tgid + t->prio;
}

SEC("raw_tp/sys_enter")
int core_kinds(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	/* field_byte_offset: direct loads, an array element, pointer chains */
	out[0] = task->pid;
	out[1] = task->comm[3];
	out[2] = BPF_CORE_READ(task, real_parent, tgid);
	out[3] = BPF_CORE_READ(task, mm, mmap_base);
	out[4] = bpf_core_field_offset(task->comm[5]);
	out[5] = bpf_core_field_offset(struct mm_struct, cpu_bitmap[2]); /* flexible array */
	out[6] = bpf_core_field_offset(struct mm_struct___flat, mmap_base);
	out[7] = ((struct task_struct___nested *)task)->tgid;
	out[8] = ((struct task_struct___narrow *)task)->atomic_flags;
	if (bpf_core_field_size(((struct task_struct___signed *)task)->atomic_flags) == 4)
		out[9] = ((struct task_struct___signed *)task)->atomic_flags;

	/* field_exists, and a missing field's read poisoned behind it */
	out[10] = bpf_core_field_exists(task->pid);
	if (bpf_core_field_exists(((struct task_struct___old *)task)->state))
		out[11] = ((struct task_struct___old *)task)->state;
	else
		out[11] = task->__state;

	/* field_byte_size, field_signed */
	out[12] = bpf_core_field_size(task->comm);
	out[13] = bpf_core_field_size(task->atomic_flags);
	out[14] = bpf_core_field_signed(task->prio);
	out[15] = bpf_core_field_signed(task->flags);

	/* bitfields: byte offset and size, lshift_u64, rshift_u64, signed */
	out[16] = BPF_CORE_READ_BITFIELD(task, in_execve);
	out[17] = BPF_CORE_READ_BITFIELD(task, init_private_fork_class);

	/* type_id_local, type_id_target */
	out[18] = bpf_core_type_id_local(struct task_struct);
	out[19] = bpf_core_type_id_kernel(struct task_struct);
	out[20] = bpf_core_type_id_kernel(struct tsbpf_no_such_type);

	/* type_exists, type_size, type_matches */
	out[21] = bpf_core_type_exists(struct task_struct___old);
	out[22] = bpf_core_type_exists(struct tsbpf_no_such_type);
	out[23] = bpf_core_type_size(struct task_struct___old);
	out[24] = bpf_core_type_size(struct tsbpf_no_such_type);
	out[25] = bpf_core_type_matches(struct list_head);
	out[26] = bpf_core_type_matches(struct list_head___bad);

	/* enumval_exists, enumval_value (32-bit and 64-bit) */
	out[27] = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
	out[28] = bpf_core_enum_value_exists(enum pid_type___x, PIDTYPE_NOPE___x);
	if (bpf_core_enum_value_exists(enum pid_type___x, PIDTYPE_NOPE___x))
		out[29] = bpf_core_enum_value(enum pid_type___x, PIDTYPE_NOPE___x);
	out[30] = bpf_core_enum_value(enum pid_type___y, PIDTYPE_SID___y);
	out[31] = bpf_core_enum_value(enum pid_type, PIDTYPE_MAX);
	out[32] = bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_USER);

	out[33] = read_ids(task);
	return 0;
}
