/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tsbpf's BPF C conveniences: section and map-definition macros, attributes, bpf_printk, and the
 * helper declarations. Include <linux/types.h> (or vmlinux.h) first, then this file.
 *
 * These follow the conventions every BPF loader (libbpf, cilium/ebpf, aya, tsbpf) reads from the ELF:
 * programs live in named sections, BTF-defined maps are globals in ".maps" whose members encode the
 * map's attributes in their *types*, and "license" holds the licence string.
 */
#ifndef __TSBPF_BPF_HELPERS_H
#define __TSBPF_BPF_HELPERS_H

#include "bpf_helper_defs.h"

/* ---- sections and linkage --------------------------------------------------------------------- */

/*
 * Places a program, map or variable in ELF section NAME; `used` keeps clang from dropping it.
 * Program sections name their type and attach point: "xdp", "tc", "socket",
 * "tracepoint/<category>/<name>", "cgroup_skb/ingress", ...
 */
#define SEC(name) __attribute__((section(name), used))

#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
/* A non-static function the linker and loader treat as object-local (a static subprogram the
 * verifier still checks on its own, like a global function). */
#define __hidden __attribute__((visibility("hidden")))

/* `extern` variables the loader fills from the running kernel's config (/proc/config.gz) ... */
#define __kconfig __attribute__((section(".kconfig")))
/* ... and `extern` kernel symbols or kfuncs, resolved against the kernel's BTF. */
#define __ksym __attribute__((section(".ksyms")))
/* Pointer tags understood by the verifier (since 5.19 / 6.1 / 6.6). */
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))
#define __kptr __attribute__((btf_type_tag("kptr")))
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))

/* ---- BTF-defined map attributes ----------------------------------------------------------------- */

/*
 * Inside `struct { ... } name SEC(".maps");` each member describes one attribute through its type,
 * which survives into BTF where the loader reads it:
 *   __uint(type, BPF_MAP_TYPE_HASH)  - an integer: pointer to an array of VAL ints
 *   __type(key, struct k)            - a type: pointer to that type
 *   __array(values, struct inner)    - inner map or program definitions (map-in-map, prog arrays)
 *   __ulong(map_extra, VAL)          - a 64-bit integer, carried as an enumerator value
 */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define ___tsbpf_concat(a, b) a##b
#define ___tsbpf_apply(fn, n) ___tsbpf_concat(fn, n)
#define __ulong(name, val) enum { ___tsbpf_apply(___tsbpf_ulong_, __COUNTER__) = (val) } name

/* Pinning mode for the `pinning` map attribute: pin by name under the loader's pin root. */
enum tsbpf_pin_type {
	TSBPF_PIN_NONE = 0,
	TSBPF_PIN_BY_NAME = 1,
};

/* ---- small language helpers --------------------------------------------------------------------- */

#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef container_of
#define container_of(ptr, type, member)                                      \
	({                                                                   \
		void *___tsbpf_mptr = (void *)(ptr);                         \
		((type *)(___tsbpf_mptr - offsetof(type, member)));          \
	})
#endif
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
/* Stops clang from reasoning about VAR's value here (it forgets the bounds the verifier then
 * re-derives from an explicit check). */
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif
#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif
#define __tsbpf_unreachable() __builtin_trap()

/* Counts 0..12 variadic arguments. */
#define ___tsbpf_nth(_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, N, ...) N
#define ___tsbpf_nargs(...) ___tsbpf_nth(_, ##__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

/* ---- bpf_printk ----------------------------------------------------------------------------------- */

/*
 * bpf_printk(fmt, args...) writes to /sys/kernel/tracing/trace_pipe. The format string lives in a
 * `static const` array so it lands in .rodata: bpf_trace_printk requires a read-only map value (or, with
 * BPF_NO_GLOBAL_DATA for kernels before 5.2, a stack copy). Up to 3 arguments go through
 * bpf_trace_printk; 4 to 12 through bpf_trace_vprintk (since 5.16) with the arguments in a u64 array.
 */
#ifdef BPF_NO_GLOBAL_DATA
#define ___tsbpf_fmt_storage
#else
#define ___tsbpf_fmt_storage static const
#endif

#define ___tsbpf_printk_args(fmt, ...)                                                      \
	({                                                                                   \
		___tsbpf_fmt_storage char ___tsbpf_fmt[] = fmt;                              \
		bpf_trace_printk(___tsbpf_fmt, sizeof(___tsbpf_fmt), ##__VA_ARGS__);         \
	})

#define ___tsbpf_u64_1(x) (unsigned long long)(x)
#define ___tsbpf_u64_2(x, ...) (unsigned long long)(x), ___tsbpf_u64_1(__VA_ARGS__)
#define ___tsbpf_u64_3(x, ...) (unsigned long long)(x), ___tsbpf_u64_2(__VA_ARGS__)
#define ___tsbpf_u64_4(x, ...) (unsigned long long)(x), ___tsbpf_u64_3(__VA_ARGS__)
#define ___tsbpf_u64_5(x, ...) (unsigned long long)(x), ___tsbpf_u64_4(__VA_ARGS__)
#define ___tsbpf_u64_6(x, ...) (unsigned long long)(x), ___tsbpf_u64_5(__VA_ARGS__)
#define ___tsbpf_u64_7(x, ...) (unsigned long long)(x), ___tsbpf_u64_6(__VA_ARGS__)
#define ___tsbpf_u64_8(x, ...) (unsigned long long)(x), ___tsbpf_u64_7(__VA_ARGS__)
#define ___tsbpf_u64_9(x, ...) (unsigned long long)(x), ___tsbpf_u64_8(__VA_ARGS__)
#define ___tsbpf_u64_10(x, ...) (unsigned long long)(x), ___tsbpf_u64_9(__VA_ARGS__)
#define ___tsbpf_u64_11(x, ...) (unsigned long long)(x), ___tsbpf_u64_10(__VA_ARGS__)
#define ___tsbpf_u64_12(x, ...) (unsigned long long)(x), ___tsbpf_u64_11(__VA_ARGS__)
/* The arguments, each cast to unsigned long long (so pointers need no int-conversion warning). */
#define ___tsbpf_u64s(...) ___tsbpf_apply(___tsbpf_u64_, ___tsbpf_nargs(__VA_ARGS__))(__VA_ARGS__)

#define ___tsbpf_printk_vec(fmt, ...)                                                        \
	({                                                                                    \
		___tsbpf_fmt_storage char ___tsbpf_fmt[] = fmt;                               \
		unsigned long long ___tsbpf_args[] = { ___tsbpf_u64s(__VA_ARGS__) };          \
		bpf_trace_vprintk(___tsbpf_fmt, sizeof(___tsbpf_fmt), ___tsbpf_args,          \
				  sizeof(___tsbpf_args));                                     \
	})

/* `args` for 0..3 arguments, `vec` for 4..12. */
#define ___tsbpf_printk_kind(...) \
	___tsbpf_nth(_, ##__VA_ARGS__, vec, vec, vec, vec, vec, vec, vec, vec, vec, args, args, args, args)

#define bpf_printk(fmt, ...) \
	___tsbpf_apply(___tsbpf_printk_, ___tsbpf_printk_kind(__VA_ARGS__))(fmt, ##__VA_ARGS__)

/* ---- tail calls ----------------------------------------------------------------------------------- */

/*
 * A tail call whose slot is a compile-time constant: emitted as a fixed `r3 = SLOT` right before the
 * call, which lets the JIT patch a direct jump instead of an indirect one (x86-64, since 5.5).
 * Use bpf_tail_call() for a slot computed at run time.
 */
static __always_inline void bpf_tail_call_static(void *ctx, const void *map, const __u32 slot)
{
	if (!__builtin_constant_p(slot))
		__tsbpf_unreachable();
	asm volatile("r1 = %[ctx]\n\t"
		     "r2 = %[map]\n\t"
		     "r3 = %[slot]\n\t"
		     "call 12"
		     :
		     : [ctx] "r"(ctx), [map] "r"(map), [slot] "i"(slot)
		     : "r0", "r1", "r2", "r3", "r4", "r5");
}

/*
 * True when the weak __ksym SYM (a kernel variable or a kfunc) was found in the running kernel: the
 * loader leaves a missing weak symbol's address 0. A non-weak SYM would fail the load instead, so it
 * is refused at compile time.
 */
#define bpf_ksym_exists(sym)                                                                       \
	({                                                                                          \
		_Static_assert(!__builtin_constant_p(!!&(sym)), #sym " must be declared __weak");      \
		!!&(sym);                                                                            \
	})

/* ---- formatted output into buffers and seq files -------------------------------------------------- */

#define ___tsbpf_u64_0()
/*
 * BPF_SNPRINTF(out, out_size, fmt, args...): bpf_snprintf (since 5.13) with the arguments packed as
 * the u64 array it takes; the format goes to .rodata. Returns what bpf_snprintf returns.
 * BPF_SEQ_PRINTF(seq, fmt, args...): bpf_seq_printf (since 5.7) for bpf_iter programs, the same way.
 */
#define BPF_SNPRINTF(out, out_size, fmt, args...)                                                  \
	({                                                                                          \
		static const char ___tsbpf_fmt[] = fmt;                                              \
		unsigned long long ___tsbpf_data[] = { ___tsbpf_u64s(args) };                        \
		bpf_snprintf(out, out_size, ___tsbpf_fmt, ___tsbpf_data, sizeof(___tsbpf_data));     \
	})

#define BPF_SEQ_PRINTF(seq, fmt, args...)                                                          \
	({                                                                                          \
		static const char ___tsbpf_fmt[] = fmt;                                              \
		unsigned long long ___tsbpf_data[] = { ___tsbpf_u64s(args) };                        \
		bpf_seq_printf(seq, ___tsbpf_fmt, sizeof(___tsbpf_fmt), ___tsbpf_data,               \
			       sizeof(___tsbpf_data));                                               \
	})

/* ---- open-coded iterators (since 6.4) ----------------------------------------------------------- */

/*
 * bpf_for_each(type, cur, args...) walks the kernel iterator `struct bpf_iter_<type>` through its
 * kfuncs bpf_iter_<type>_new(&it, args...), _next(&it) (NULL at the end) and _destroy(&it), which
 * runs when the loop's scope ends, `break` included. bpf_for(i, start, end) counts i over
 * [start, end) with the numbers iterator; bpf_repeat(n) runs its body n times. The iterator
 * structs come from vmlinux.h.
 */
struct bpf_iter_num;
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __weak __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __weak __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __weak __ksym;

#define bpf_for_each(type, cur, args...)                                                           \
	for (struct bpf_iter_##type ___tsbpf_it                                                      \
		     __attribute__((aligned(8), cleanup(bpf_iter_##type##_destroy))),                \
	     *___tsbpf_once __attribute__((unused)) =                                                \
		     (bpf_iter_##type##_new(&___tsbpf_it, ##args), (void *)0);                       \
	     ((cur) = bpf_iter_##type##_next(&___tsbpf_it));)

#define bpf_for(i, start, end)                                                                     \
	for (struct bpf_iter_num ___tsbpf_it __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *___tsbpf_once __attribute__((unused)) =                                                \
		     (bpf_iter_num_new(&___tsbpf_it, (start), (end)), (void *)0);                    \
	     ({                                                                                      \
		     int *___tsbpf_at = bpf_iter_num_next(&___tsbpf_it);                              \
		     ___tsbpf_at ? ((i) = *___tsbpf_at, 1) : 0;                                       \
	     });)

#define bpf_repeat(n)                                                                              \
	for (struct bpf_iter_num ___tsbpf_it __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *___tsbpf_once __attribute__((unused)) = (bpf_iter_num_new(&___tsbpf_it, 0, (n)), (void *)0); \
	     bpf_iter_num_next(&___tsbpf_it);)

#endif /* __TSBPF_BPF_HELPERS_H */
