/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CO-RE (compile once, run everywhere) reads and relocatable queries, built on clang's BPF builtins:
 *
 *   __builtin_preserve_access_index(expr)       field accesses in EXPR get a BTF.ext relocation, so
 *                                               the loader can rewrite offsets for the running kernel
 *   __builtin_preserve_field_info(field, kind)  offset/size/existence/signedness/shifts of a field
 *   __builtin_preserve_type_info(*(T *)0, kind) existence/size/shape of a type
 *   __builtin_preserve_enum_value(*(E *)V, kind) existence/value of an enumerator
 *   __builtin_btf_type_id(*(T *)0, kind)        a local or kernel BTF type id
 *
 * Include after bpf_helpers.h (it needs bpf_probe_read_kernel and friends).
 */
#ifndef __TSBPF_BPF_CORE_READ_H
#define __TSBPF_BPF_CORE_READ_H

/* Second argument of __builtin_preserve_field_info (the kernel's enum bpf_core_relo_kind 0-5). */
enum bpf_field_info_kind {
	BPF_FIELD_BYTE_OFFSET = 0,
	BPF_FIELD_BYTE_SIZE = 1,
	BPF_FIELD_EXISTS = 2,
	BPF_FIELD_SIGNED = 3,
	BPF_FIELD_LSHIFT_U64 = 4,
	BPF_FIELD_RSHIFT_U64 = 5,
};

/* Second argument of __builtin_btf_type_id (relocation kinds 6-7). */
enum bpf_type_id_kind {
	BPF_TYPE_ID_LOCAL = 0,
	BPF_TYPE_ID_TARGET = 1,
};

/* Second argument of __builtin_preserve_type_info (relocation kinds 8-9 and 12). */
enum bpf_type_info_kind {
	BPF_TYPE_EXISTS = 0,
	BPF_TYPE_SIZE = 1,
	BPF_TYPE_MATCHES = 2,
};

/* Second argument of __builtin_preserve_enum_value (relocation kinds 10-11). */
enum bpf_enum_value_kind {
	BPF_ENUMVAL_EXISTS = 0,
	BPF_ENUMVAL_VALUE = 1,
};

#define ___tsbpf_cr_concat(a, b) a##b
#define ___tsbpf_cr_apply(fn, n) ___tsbpf_cr_concat(fn, n)
#define ___tsbpf_cr_nth(_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, N, ...) N
#define ___tsbpf_cr_nargs(...) ___tsbpf_cr_nth(_, ##__VA_ARGS__, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

/* ---- relocatable queries ------------------------------------------------------------------------- */

/*
 * A field reference, given either as one expression (`p->a.b`) or as a type and a field path
 * (`struct task_struct, real_parent`).
 */
#define ___tsbpf_field_ref1(field) (field)
#define ___tsbpf_field_ref2(type, field) (((typeof(type) *)0)->field)
#define ___tsbpf_field_ref(...) ___tsbpf_cr_apply(___tsbpf_field_ref, ___tsbpf_cr_nargs(__VA_ARGS__))(__VA_ARGS__)

/* 1 if the field exists in the running kernel's type, else 0. */
#define bpf_core_field_exists(...) __builtin_preserve_field_info(___tsbpf_field_ref(__VA_ARGS__), BPF_FIELD_EXISTS)
/* The field's size in bytes in the running kernel. */
#define bpf_core_field_size(...) __builtin_preserve_field_info(___tsbpf_field_ref(__VA_ARGS__), BPF_FIELD_BYTE_SIZE)
/* The field's byte offset in the running kernel. */
#define bpf_core_field_offset(...) \
	__builtin_preserve_field_info(___tsbpf_field_ref(__VA_ARGS__), BPF_FIELD_BYTE_OFFSET)
/* 1 if the field is a signed integer in the running kernel. */
#define bpf_core_field_signed(...) __builtin_preserve_field_info(___tsbpf_field_ref(__VA_ARGS__), BPF_FIELD_SIGNED)

/* TYPE is a type name (`struct task_struct`, a typedef) or an expression of that type. */
#define bpf_core_type_exists(type) __builtin_preserve_type_info(*(typeof(type) *)0, BPF_TYPE_EXISTS)
#define bpf_core_type_size(type) __builtin_preserve_type_info(*(typeof(type) *)0, BPF_TYPE_SIZE)
/* 1 if the kernel's type has a compatible shape (since clang 17 / kernel 6.2). */
#define bpf_core_type_matches(type) __builtin_preserve_type_info(*(typeof(type) *)0, BPF_TYPE_MATCHES)
#define bpf_core_type_id_local(type) __builtin_btf_type_id(*(typeof(type) *)0, BPF_TYPE_ID_LOCAL)
#define bpf_core_type_id_kernel(type) __builtin_btf_type_id(*(typeof(type) *)0, BPF_TYPE_ID_TARGET)

/* ENUM_TYPE is e.g. `enum bpf_func_id`, ENUMERATOR one of its values. */
#define bpf_core_enum_value_exists(enum_type, enumerator) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enumerator, BPF_ENUMVAL_EXISTS)
#define bpf_core_enum_value(enum_type, enumerator) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enumerator, BPF_ENUMVAL_VALUE)

/* ---- single reads --------------------------------------------------------------------------------- */

/* bpf_probe_read_kernel(dst, sz, src) with SRC's field accesses relocated. */
#define bpf_core_read(dst, sz, src) \
	bpf_probe_read_kernel(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_user(dst, sz, src) \
	bpf_probe_read_user(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_str(dst, sz, src) \
	bpf_probe_read_kernel_str(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_user_str(dst, sz, src) \
	bpf_probe_read_user_str(dst, sz, (const void *)__builtin_preserve_access_index(src))

/*
 * A bitfield read through a pointer the program may dereference directly (BTF-typed contexts,
 * tp_btf/fentry arguments): load the containing 1/2/4/8 bytes at the relocated offset, then shift
 * the field to the top and back down, sign-extending when the field is signed.
 */
#define BPF_CORE_READ_BITFIELD(s, field)                                                             \
	({                                                                                            \
		const void *___tsbpf_p =                                                              \
			(const void *)(s) + __builtin_preserve_field_info((s)->field, BPF_FIELD_BYTE_OFFSET); \
		unsigned long long ___tsbpf_v;                                                        \
		switch (__builtin_preserve_field_info((s)->field, BPF_FIELD_BYTE_SIZE)) {             \
		case 1: ___tsbpf_v = *(const unsigned char *)___tsbpf_p; break;                       \
		case 2: ___tsbpf_v = *(const unsigned short *)___tsbpf_p; break;                      \
		case 4: ___tsbpf_v = *(const unsigned int *)___tsbpf_p; break;                        \
		case 8: ___tsbpf_v = *(const unsigned long long *)___tsbpf_p; break;                  \
		default: ___tsbpf_v = 0; break;                                                       \
		}                                                                                     \
		___tsbpf_v <<= __builtin_preserve_field_info((s)->field, BPF_FIELD_LSHIFT_U64);        \
		if (__builtin_preserve_field_info((s)->field, BPF_FIELD_SIGNED))                      \
			___tsbpf_v = (unsigned long long)((long long)___tsbpf_v >>                    \
				__builtin_preserve_field_info((s)->field, BPF_FIELD_RSHIFT_U64));     \
		else                                                                                  \
			___tsbpf_v >>= __builtin_preserve_field_info((s)->field, BPF_FIELD_RSHIFT_U64); \
		___tsbpf_v;                                                                           \
	})

/* ---- chained reads: BPF_CORE_READ(src, a, b, c) == src->a->b->c --------------------------------- */

/*
 * The chain is walked with one pointer-sized temporary, ___tsbpf_p: it starts as SRC and each hop
 * reads the next pointer field into it, the field access cast to the type of the path so far (so
 * every hop carries its own CO-RE relocation). The last field is read into DST at its own size.
 */

/* src->a->...: the expression whose type each hop casts to. */
#define ___tsbpf_path1(s, a) (s)->a
#define ___tsbpf_path2(s, a, b) (s)->a->b
#define ___tsbpf_path3(s, a, b, c) (s)->a->b->c
#define ___tsbpf_path4(s, a, b, c, d) (s)->a->b->c->d
#define ___tsbpf_path5(s, a, b, c, d, e) (s)->a->b->c->d->e
#define ___tsbpf_path6(s, a, b, c, d, e, f) (s)->a->b->c->d->e->f
#define ___tsbpf_path7(s, a, b, c, d, e, f, g) (s)->a->b->c->d->e->f->g
#define ___tsbpf_path8(s, a, b, c, d, e, f, g, h) (s)->a->b->c->d->e->f->g->h
#define ___tsbpf_path9(s, a, b, c, d, e, f, g, h, i) (s)->a->b->c->d->e->f->g->h->i
#define ___tsbpf_path(s, ...) ___tsbpf_cr_apply(___tsbpf_path, ___tsbpf_cr_nargs(__VA_ARGS__))(s, __VA_ARGS__)

/* One hop: ___tsbpf_p = ((typeof(PATH))___tsbpf_p)->FIELD, relocated. */
#define ___tsbpf_hop(fn, path, field) \
	fn((void *)&___tsbpf_p, sizeof(___tsbpf_p), &((typeof(path))___tsbpf_p)->field);

/* The hops for every field but the last. */
#define ___tsbpf_hops1(fn, s, a)
#define ___tsbpf_hops2(fn, s, a, b) ___tsbpf_hop(fn, s, a)
#define ___tsbpf_hops3(fn, s, a, b, c) ___tsbpf_hops2(fn, s, a, b) ___tsbpf_hop(fn, (s)->a, b)
#define ___tsbpf_hops4(fn, s, a, b, c, d) ___tsbpf_hops3(fn, s, a, b, c) ___tsbpf_hop(fn, (s)->a->b, c)
#define ___tsbpf_hops5(fn, s, a, b, c, d, e) \
	___tsbpf_hops4(fn, s, a, b, c, d) ___tsbpf_hop(fn, (s)->a->b->c, d)
#define ___tsbpf_hops6(fn, s, a, b, c, d, e, f) \
	___tsbpf_hops5(fn, s, a, b, c, d, e) ___tsbpf_hop(fn, (s)->a->b->c->d, e)
#define ___tsbpf_hops7(fn, s, a, b, c, d, e, f, g) \
	___tsbpf_hops6(fn, s, a, b, c, d, e, f) ___tsbpf_hop(fn, (s)->a->b->c->d->e, f)
#define ___tsbpf_hops8(fn, s, a, b, c, d, e, f, g, h) \
	___tsbpf_hops7(fn, s, a, b, c, d, e, f, g) ___tsbpf_hop(fn, (s)->a->b->c->d->e->f, g)
#define ___tsbpf_hops9(fn, s, a, b, c, d, e, f, g, h, i) \
	___tsbpf_hops8(fn, s, a, b, c, d, e, f, g, h) ___tsbpf_hop(fn, (s)->a->b->c->d->e->f->g, h)

/* The last field, read into DST. */
#define ___tsbpf_last(fn, dst, path, field) fn((dst), sizeof(*(dst)), &((typeof(path))___tsbpf_p)->field)
#define ___tsbpf_final1(fn, d, s, a) ___tsbpf_last(fn, d, s, a)
#define ___tsbpf_final2(fn, d, s, a, b) ___tsbpf_last(fn, d, (s)->a, b)
#define ___tsbpf_final3(fn, d, s, a, b, c) ___tsbpf_last(fn, d, (s)->a->b, c)
#define ___tsbpf_final4(fn, d, s, a, b, c, e) ___tsbpf_last(fn, d, (s)->a->b->c, e)
#define ___tsbpf_final5(fn, d, s, a, b, c, e, f) ___tsbpf_last(fn, d, (s)->a->b->c->e, f)
#define ___tsbpf_final6(fn, d, s, a, b, c, e, f, g) ___tsbpf_last(fn, d, (s)->a->b->c->e->f, g)
#define ___tsbpf_final7(fn, d, s, a, b, c, e, f, g, h) ___tsbpf_last(fn, d, (s)->a->b->c->e->f->g, h)
#define ___tsbpf_final8(fn, d, s, a, b, c, e, f, g, h, i) ___tsbpf_last(fn, d, (s)->a->b->c->e->f->g->h, i)
#define ___tsbpf_final9(fn, d, s, a, b, c, e, f, g, h, i, j) \
	___tsbpf_last(fn, d, (s)->a->b->c->e->f->g->h->i, j)

#define ___tsbpf_read_chain(fn, dst, src, ...)                                                   \
	({                                                                                        \
		const void *___tsbpf_p = (const void *)(src);                                    \
		___tsbpf_cr_apply(___tsbpf_hops, ___tsbpf_cr_nargs(__VA_ARGS__))(fn, src, __VA_ARGS__) \
		___tsbpf_cr_apply(___tsbpf_final, ___tsbpf_cr_nargs(__VA_ARGS__))(fn, dst, src, __VA_ARGS__); \
	})

/*
 * BPF_CORE_READ_INTO(&dst, src, a, b, c): dst = src->a->b->c through bpf_probe_read_kernel, each
 * step CO-RE-relocated. Returns the last read's result (0 or a negative error). Up to 9 fields;
 * a field may be a nested member (`a.b`) but an array element needs its own read.
 */
#define BPF_CORE_READ_INTO(dst, src, a, ...) ___tsbpf_read_chain(bpf_core_read, dst, src, a, ##__VA_ARGS__)
/* The same through bpf_probe_read_user, for user-space memory. */
#define BPF_CORE_READ_USER_INTO(dst, src, a, ...) \
	___tsbpf_read_chain(bpf_core_read_user, dst, src, a, ##__VA_ARGS__)
/* Plain (not relocated) chained reads, for types that are not the kernel's. */
#define BPF_PROBE_READ_INTO(dst, src, a, ...) \
	___tsbpf_read_chain(bpf_probe_read_kernel, dst, src, a, ##__VA_ARGS__)

/*
 * BPF_CORE_READ(src, a, b, c): the value of src->a->b->c, read and relocated step by step. On a
 * failed read the result is whatever the stack held, so zero it first when that matters: use
 * BPF_CORE_READ_INTO with an initialised destination.
 */
#define BPF_CORE_READ(src, a, ...)                                                  \
	({                                                                           \
		typeof(___tsbpf_path(src, a, ##__VA_ARGS__)) ___tsbpf_val;           \
		BPF_CORE_READ_INTO(&___tsbpf_val, src, a, ##__VA_ARGS__);            \
		___tsbpf_val;                                                        \
	})
#define BPF_CORE_READ_USER(src, a, ...)                                             \
	({                                                                           \
		typeof(___tsbpf_path(src, a, ##__VA_ARGS__)) ___tsbpf_val;           \
		BPF_CORE_READ_USER_INTO(&___tsbpf_val, src, a, ##__VA_ARGS__);       \
		___tsbpf_val;                                                        \
	})

#endif /* __TSBPF_BPF_CORE_READ_H */
