/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Register access for kprobe/uprobe-style programs (their context is the traced task's struct pt_regs):
 * PT_REGS_PARM1..5, PT_REGS_RC, PT_REGS_IP, PT_REGS_SP, PT_REGS_FP.
 *
 * Pick the architecture with -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64 (scripts/build-examples.sh
 * passes the host's). The plain forms dereference the context directly, with CO-RE relocation, which
 * is what a kprobe program may do; the _CORE forms read through bpf_probe_read_kernel for a pt_regs
 * pointer obtained any other way. Needs vmlinux.h (for struct pt_regs) and bpf_core_read.h.
 *
 * Program definitions with typed arguments (the body sees `ctx` too):
 *   SEC("kprobe/do_unlinkat") int BPF_KPROBE(name, int dfd, struct filename *fn) { ... }
 *   BPF_KRETPROBE(name, long ret)   the return value; BPF_UPROBE / BPF_URETPROBE the same for uprobes
 *   BPF_KSYSCALL(name, args...)     a syscall's own arguments, read from the pt_regs the syscall
 *                                   wrapper (x86-64 since 4.17, arm64 since 4.19) passes as PARM1
 *   BPF_PROG(name, args...)         fentry/fexit/fmod_ret/tp_btf/lsm/struct_ops: u64 argument array
 */
#ifndef __TSBPF_BPF_TRACING_H
#define __TSBPF_BPF_TRACING_H

#if defined(__TARGET_ARCH_x86)
/* x86-64 System V: rdi, rsi, rdx, rcx, r8; return value in rax. */
#define ___tsbpf_reg_parm1 di
#define ___tsbpf_reg_parm2 si
#define ___tsbpf_reg_parm3 dx
#define ___tsbpf_reg_parm4 cx
#define ___tsbpf_reg_parm5 r8
#define ___tsbpf_reg_rc ax
#define ___tsbpf_reg_ip ip
#define ___tsbpf_reg_sp sp
#define ___tsbpf_reg_fp bp
/* The syscall ABI passes the fourth argument in r10 (rcx is clobbered by `syscall`). */
#define ___tsbpf_reg_sys4 r10
#define ___tsbpf_regs_t struct pt_regs
#elif defined(__TARGET_ARCH_arm64)
/* AArch64 AAPCS: x0-x4; return value in x0; frame pointer x29. */
#define ___tsbpf_reg_parm1 regs[0]
#define ___tsbpf_reg_parm2 regs[1]
#define ___tsbpf_reg_parm3 regs[2]
#define ___tsbpf_reg_parm4 regs[3]
#define ___tsbpf_reg_parm5 regs[4]
#define ___tsbpf_reg_rc regs[0]
#define ___tsbpf_reg_ip pc
#define ___tsbpf_reg_sp sp
#define ___tsbpf_reg_fp regs[29]
#define ___tsbpf_reg_sys4 regs[3]
/* The arm64 kernel's struct pt_regs embeds the user-visible user_pt_regs first. */
#define ___tsbpf_regs_t struct user_pt_regs
#endif

#ifdef ___tsbpf_regs_t
#define ___tsbpf_reg(x, r) (__builtin_preserve_access_index(((const ___tsbpf_regs_t *)(x))->r))
#define ___tsbpf_reg_core(x, r) BPF_CORE_READ((const ___tsbpf_regs_t *)(x), r)

#define PT_REGS_PARM1(x) ___tsbpf_reg(x, ___tsbpf_reg_parm1)
#define PT_REGS_PARM2(x) ___tsbpf_reg(x, ___tsbpf_reg_parm2)
#define PT_REGS_PARM3(x) ___tsbpf_reg(x, ___tsbpf_reg_parm3)
#define PT_REGS_PARM4(x) ___tsbpf_reg(x, ___tsbpf_reg_parm4)
#define PT_REGS_PARM5(x) ___tsbpf_reg(x, ___tsbpf_reg_parm5)
#define PT_REGS_RC(x) ___tsbpf_reg(x, ___tsbpf_reg_rc)
#define PT_REGS_IP(x) ___tsbpf_reg(x, ___tsbpf_reg_ip)
#define PT_REGS_SP(x) ___tsbpf_reg(x, ___tsbpf_reg_sp)
#define PT_REGS_FP(x) ___tsbpf_reg(x, ___tsbpf_reg_fp)

#define PT_REGS_PARM1_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_parm1)
#define PT_REGS_PARM2_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_parm2)
#define PT_REGS_PARM3_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_parm3)
#define PT_REGS_PARM4_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_parm4)
#define PT_REGS_PARM5_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_parm5)
#define PT_REGS_RC_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_rc)
#define PT_REGS_IP_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_ip)
#define PT_REGS_SP_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_sp)
#define PT_REGS_FP_CORE(x) ___tsbpf_reg_core(x, ___tsbpf_reg_fp)

/* A syscall's arguments, from the user pt_regs a syscall wrapper receives (read with probe reads). */
#define ___tsbpf_reg_sys(x, r) BPF_CORE_READ((___tsbpf_regs_t *)(x), r)
#define PT_REGS_PARM1_SYSCALL(x) ___tsbpf_reg_sys(x, ___tsbpf_reg_parm1)
#define PT_REGS_PARM2_SYSCALL(x) ___tsbpf_reg_sys(x, ___tsbpf_reg_parm2)
#define PT_REGS_PARM3_SYSCALL(x) ___tsbpf_reg_sys(x, ___tsbpf_reg_parm3)
#define PT_REGS_PARM4_SYSCALL(x) ___tsbpf_reg_sys(x, ___tsbpf_reg_sys4)
#define PT_REGS_PARM5_SYSCALL(x) ___tsbpf_reg_sys(x, ___tsbpf_reg_parm5)
#else
#define ___tsbpf_no_arch _Pragma("GCC error \"bpf_tracing.h: define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64\"")
#define PT_REGS_PARM1(x) ({ ___tsbpf_no_arch 0l; })
#define PT_REGS_PARM2(x) ({ ___tsbpf_no_arch 0l; })
#define PT_REGS_PARM3(x) ({ ___tsbpf_no_arch 0l; })
#define PT_REGS_PARM4(x) ({ ___tsbpf_no_arch 0l; })
#define PT_REGS_PARM5(x) ({ ___tsbpf_no_arch 0l; })
#define PT_REGS_RC(x) ({ ___tsbpf_no_arch 0l; })
#define PT_REGS_IP(x) ({ ___tsbpf_no_arch 0l; })
#define PT_REGS_SP(x) ({ ___tsbpf_no_arch 0l; })
#define PT_REGS_FP(x) ({ ___tsbpf_no_arch 0l; })
#endif

/* ---- typed program definitions -------------------------------------------------------------------- */

/*
 * Each macro declares the real entry point `name(ctx)`, which unpacks the context into the typed
 * arguments and calls an always-inlined `____name(ctx, args...)` whose body the user writes after
 * the macro. Integer arguments arrive as `void *` casts; -Wint-conversion is silenced for them.
 */
#define ___tsbpf_quiet_begin _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wint-conversion\"")
#define ___tsbpf_quiet_end _Pragma("GCC diagnostic pop")

/* The values passed for a definition's arguments, one per declared argument. */
#define ___tsbpf_list(kind, ...) ___tsbpf_apply(___tsbpf_##kind##_, ___tsbpf_nargs(__VA_ARGS__))
#define ___tsbpf_kprobe_1 (void *)PT_REGS_PARM1(ctx)
#define ___tsbpf_kprobe_2 ___tsbpf_kprobe_1, (void *)PT_REGS_PARM2(ctx)
#define ___tsbpf_kprobe_3 ___tsbpf_kprobe_2, (void *)PT_REGS_PARM3(ctx)
#define ___tsbpf_kprobe_4 ___tsbpf_kprobe_3, (void *)PT_REGS_PARM4(ctx)
#define ___tsbpf_kprobe_5 ___tsbpf_kprobe_4, (void *)PT_REGS_PARM5(ctx)
#define ___tsbpf_kret_1 (void *)PT_REGS_RC(ctx)
#define ___tsbpf_sys_1 (void *)PT_REGS_PARM1_SYSCALL(___tsbpf_uregs)
#define ___tsbpf_sys_2 ___tsbpf_sys_1, (void *)PT_REGS_PARM2_SYSCALL(___tsbpf_uregs)
#define ___tsbpf_sys_3 ___tsbpf_sys_2, (void *)PT_REGS_PARM3_SYSCALL(___tsbpf_uregs)
#define ___tsbpf_sys_4 ___tsbpf_sys_3, (void *)PT_REGS_PARM4_SYSCALL(___tsbpf_uregs)
#define ___tsbpf_sys_5 ___tsbpf_sys_4, (void *)PT_REGS_PARM5_SYSCALL(___tsbpf_uregs)
#define ___tsbpf_prog_1 (void *)ctx[0]
#define ___tsbpf_prog_2 ___tsbpf_prog_1, (void *)ctx[1]
#define ___tsbpf_prog_3 ___tsbpf_prog_2, (void *)ctx[2]
#define ___tsbpf_prog_4 ___tsbpf_prog_3, (void *)ctx[3]
#define ___tsbpf_prog_5 ___tsbpf_prog_4, (void *)ctx[4]
#define ___tsbpf_prog_6 ___tsbpf_prog_5, (void *)ctx[5]
#define ___tsbpf_prog_7 ___tsbpf_prog_6, (void *)ctx[6]
#define ___tsbpf_prog_8 ___tsbpf_prog_7, (void *)ctx[7]
#define ___tsbpf_prog_9 ___tsbpf_prog_8, (void *)ctx[8]
#define ___tsbpf_prog_10 ___tsbpf_prog_9, (void *)ctx[9]
#define ___tsbpf_prog_11 ___tsbpf_prog_10, (void *)ctx[10]
#define ___tsbpf_prog_12 ___tsbpf_prog_11, (void *)ctx[11]

/* The call `____name(ctx, unpack)` with no arguments must not leave a trailing comma. */
#define ___tsbpf_call(name, kind, args...) ____##name(ctx ___tsbpf_comma_list(kind, args))
#define ___tsbpf_comma_list(kind, args...) ___tsbpf_apply(___tsbpf_comma_, ___tsbpf_nargs(args))(kind, args)
#define ___tsbpf_comma_0(kind, ...)
#define ___tsbpf_comma_1(kind, ...) , ___tsbpf_list(kind, __VA_ARGS__)
#define ___tsbpf_comma_2 ___tsbpf_comma_1
#define ___tsbpf_comma_3 ___tsbpf_comma_1
#define ___tsbpf_comma_4 ___tsbpf_comma_1
#define ___tsbpf_comma_5 ___tsbpf_comma_1
#define ___tsbpf_comma_6 ___tsbpf_comma_1
#define ___tsbpf_comma_7 ___tsbpf_comma_1
#define ___tsbpf_comma_8 ___tsbpf_comma_1
#define ___tsbpf_comma_9 ___tsbpf_comma_1
#define ___tsbpf_comma_10 ___tsbpf_comma_1
#define ___tsbpf_comma_11 ___tsbpf_comma_1
#define ___tsbpf_comma_12 ___tsbpf_comma_1

#define ___tsbpf_entry(name, ctx_type, setup, kind, args...)                                         \
	name(ctx_type ctx);                                                                          \
	static __always_inline typeof(name(0)) ____##name(ctx_type ctx __attribute__((unused)), ##args); \
	typeof(name(0)) name(ctx_type ctx)                                                           \
	{                                                                                            \
		setup ___tsbpf_quiet_begin return ___tsbpf_call(name, kind, args);                    \
		___tsbpf_quiet_end                                                                    \
	}                                                                                            \
	static __always_inline typeof(name(0)) ____##name(ctx_type ctx __attribute__((unused)), ##args)

#define BPF_KPROBE(name, args...) ___tsbpf_entry(name, struct pt_regs *, , kprobe, ##args)
#define BPF_KRETPROBE(name, args...) ___tsbpf_entry(name, struct pt_regs *, , kret, ##args)
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)
#define BPF_KSYSCALL(name, args...)                                                                  \
	___tsbpf_entry(name, struct pt_regs *,                                                    \
		       struct pt_regs *___tsbpf_uregs = (struct pt_regs *)PT_REGS_PARM1(ctx);, sys, ##args)
#define BPF_PROG(name, args...) ___tsbpf_entry(name, unsigned long long *, , prog, ##args)

#endif /* __TSBPF_BPF_TRACING_H */
