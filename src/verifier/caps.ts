/**
 * The three capability modes, as Linux 6.18 derives them (`bpf_prog_load`, `bpf_check`):
 *
 * | mode     | capabilities                           | bpf_capable | perfmon (ptr leaks, uninit stack, spectre bypass) |
 * |----------|----------------------------------------|-------------|---------------------------------------------------|
 * | `root`   | CAP_SYS_ADMIN (CAP_BPF, CAP_PERFMON)   | yes         | yes                                               |
 * | `bpf`    | CAP_BPF + CAP_NET_ADMIN                | yes         | no                                                |
 * | `unpriv` | none (`unprivileged_bpf_disabled=0`)   | no          | no                                                |
 *
 * Pure: the rules that refuse a program before the instruction walk, and the switches the walk
 * reads. Pointer-arithmetic limits that depend on the walk's state live in `check.ts`.
 */
import type { Insn } from '../isa/instruction.js';
import { PseudoSrc } from '../isa/opcodes.js';
import type { ProgTypeName } from '../uapi.js';
import type { Caps } from './types.js';

/** The verifier environment's capability switches (`env->…` in the kernel). */
export interface CapsSwitches {
  /** `bpf_capable`: bounded loops, bpf-to-bpf calls, kfuncs, precise scalar spills. */
  readonly bpfCapable: boolean;
  /** `allow_ptr_leaks`: pointers may reach maps, the return value, comparisons, arithmetic. */
  readonly allowPtrLeaks: boolean;
  /** `allow_uninit_stack`: reads of never-written stack bytes. */
  readonly allowUninitStack: boolean;
  /** `bypass_spec_v1`: no Spectre v1 sanitising (`alu_limit`, speculative branch paths). */
  readonly bypassSpecV1: boolean;
  /** `bypass_spec_v4`: no Spectre v4 sanitising of stack stores. */
  readonly bypassSpecV4: boolean;
}

/** The switches of a mode: everything but `bpfCapable` follows CAP_PERFMON. */
export function capsSwitches(caps: Caps): CapsSwitches {
  const perfmon = caps === 'root';
  return {
    bpfCapable: caps !== 'unpriv',
    allowPtrLeaks: perfmon,
    allowUninitStack: perfmon,
    bypassSpecV1: perfmon,
    bypassSpecV4: perfmon,
  };
}

/** Types that need CAP_PERFMON on top of CAP_BPF (`is_perfmon_prog_type`). */
const PERFMON_TYPES: ReadonlySet<ProgTypeName> = new Set<ProgTypeName>([
  'KPROBE',
  'TRACEPOINT',
  'PERF_EVENT',
  'RAW_TRACEPOINT',
  'RAW_TRACEPOINT_WRITABLE',
  'TRACING',
  'LSM',
  'STRUCT_OPS',
  'EXT',
]);

/** The only types a process without CAP_BPF may load. */
const UNPRIV_TYPES: ReadonlySet<ProgTypeName> = new Set<ProgTypeName>(['SOCKET_FILTER', 'CGROUP_SKB']);

/**
 * `bpf_prog_load`'s capability checks: an `(EPERM: …)` line (the kernel writes no log) when the
 * mode may not load programs of `progType`, else undefined. CAP_NET_ADMIN, which the `bpf` mode
 * holds, covers the networking types.
 */
export function progTypeRefusal(progType: ProgTypeName, caps: Caps): string | undefined {
  if (caps === 'unpriv' && !UNPRIV_TYPES.has(progType))
    return `(EPERM: ${progType.toLowerCase()} programs need CAP_BPF)`;
  if (caps !== 'root' && PERFMON_TYPES.has(progType))
    return `(EPERM: ${progType.toLowerCase()} programs need CAP_PERFMON)`;
  return undefined;
}

/** The kernel's words when a program without CAP_BPF calls a subprogram or kfunc. */
export const CALLS_NEED_BPF_CAP =
  'loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN';

/**
 * `add_subprog_and_kfunc`: without CAP_BPF, the first bpf-to-bpf call, kfunc call or
 * `lddw` of a function pointer is refused (before any other check of the program).
 */
export function callsRefusal(insns: readonly Insn[], caps: Caps): string | undefined {
  if (capsSwitches(caps).bpfCapable) return undefined;
  for (const i of insns) {
    if (i.kind === 'call' && (i.form.target === 'local' || i.form.target === 'kfunc'))
      return CALLS_NEED_BPF_CAP;
    if (i.kind === 'lddw' && i.src === PseudoSrc.FUNC) return CALLS_NEED_BPF_CAP;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Spectre v1 sanitising of pointer arithmetic (`sanitize_ptr_alu`), without CAP_PERFMON

/** Why pointer arithmetic cannot be masked (`enum { REASON_BOUNDS, … }`). */
export type SanitizeReason = 'bounds' | 'type' | 'paths' | 'limit';

/** `BPF_ALU_*` bits of an instruction's sanitising state (`insn_aux_data.alu_state`). */
export const ALU_SANITIZE_SRC = 1;
export const ALU_SANITIZE_DST = 2;
export const ALU_NEG_VALUE = 4;
export const ALU_IMMEDIATE = 8;

/** The pointer a masking limit is taken from: its kind and the fields `retrieve_ptr_limit` reads. */
export interface LimitPointer {
  readonly type: string;
  readonly off: number;
  readonly varOffValue: bigint;
  readonly smin: bigint;
  readonly umax: bigint;
  /** Value size of the map, for map value pointers. */
  readonly valueSize: number;
}

/**
 * `retrieve_ptr_limit`: how far the pointer may move (toward lower addresses when `maskToLeft`)
 * and stay in its object, or the reason it cannot be masked. Stack and map value pointers only.
 */
export function ptrLimit(p: LimitPointer, maskToLeft: boolean): number | SanitizeReason {
  let max: number;
  let limit: bigint;
  if (p.type === 'fp') {
    max = 512 + (maskToLeft ? 1 : 0);
    limit = -(p.varOffValue + BigInt(p.off));
  } else if (p.type === 'map_value') {
    max = p.valueSize;
    limit = (maskToLeft ? p.smin : p.umax) + BigInt(p.off);
  } else {
    return 'type';
  }
  const u32 = Number(BigInt.asUintN(32, limit));
  return u32 >= max ? 'limit' : u32;
}

const NOT_ROOT = 'pointer arithmetic with it prohibited for !root';

/** `sanitize_err`: the kernel's line for a refused masking, `dst`/`off` being register numbers. */
export function sanitizeError(
  reason: SanitizeReason,
  op: 'add' | 'sub',
  dstno: number,
  offno: number,
  ptrno: number,
): string {
  switch (reason) {
    case 'bounds':
      return `R${offno} has unknown scalar with mixed signed bounds, ${NOT_ROOT}`;
    case 'type':
      return `R${ptrno} has pointer with unsupported alu operation, ${NOT_ROOT}`;
    case 'paths':
      return `R${dstno} tried to ${op} from different maps, paths or scalars, ${NOT_ROOT}`;
    case 'limit':
      return `R${dstno} tried to ${op} beyond pointer bounds, ${NOT_ROOT}`;
  }
}
