/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Register access for kprobe/uprobe-style programs (their context is the traced task's struct pt_regs):
 * PT_REGS_PARM1..5, PT_REGS_RC, PT_REGS_IP, PT_REGS_SP, PT_REGS_FP.
 *
 * Pick the architecture with -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64 (scripts/build-examples.sh
 * passes the host's). The plain forms dereference the context directly, with CO-RE relocation, which
 * is what a kprobe program may do; the _CORE forms read through bpf_probe_read_kernel for a pt_regs
 * pointer obtained any other way. Needs vmlinux.h (for struct pt_regs) and bpf_core_read.h.
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

#endif /* __TSBPF_BPF_TRACING_H */
