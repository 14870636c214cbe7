/**
 * BTF-typed tracing attachments: `tp_btf` (BTF-enabled raw tracepoints), `fentry`/`fexit`/
 * `fmod_ret` (BPF trampolines) and `lsm`. Each is loaded against a vmlinux BTF id
 * ({@link tracingBtfId}) and attached with `BPF_LINK_CREATE` (or `BPF_RAW_TRACEPOINT_OPEN`).
 *
 * Trampoline programs (fentry, fexit, fmod_ret, LSM) need the kernel to patch function entry
 * points. Kernels under lockdown, or platforms whose security policy forbids it (this one's does:
 * `PROG_LOAD` says EPERM even to root), refuse them; {@link TracingDeniedError} says so instead of
 * the generic "needs root" advice.
 */
import { TsbpfError } from '../../errors.js';
import type { Btf } from '../../object/btf.js';
import { AttachType, type AttachTypeName } from '../../uapi.js';
// One parse of the kernel's BTF per process, shared with the object loader.
import { vmlinuxBtf } from '../load/object.js';
import { type KernelProgram, type LoadProgramOptions, loadProgram } from '../load/program.js';
import { SyscallError } from '../sys/errors.js';
import { bpfCall } from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';
import { Link } from './links.js';

/** The kinds of BTF-typed tracing programs. */
export type TracingKind = 'tp_btf' | 'fentry' | 'fexit' | 'fmod_ret' | 'lsm';

/** The expected attach type each kind loads with. */
export const TRACING_ATTACH_TYPES: Readonly<Record<TracingKind, AttachTypeName>> = {
  tp_btf: 'TRACE_RAW_TP',
  fentry: 'TRACE_FENTRY',
  fexit: 'TRACE_FEXIT',
  fmod_ret: 'MODIFY_RETURN',
  lsm: 'LSM_MAC',
};

/** Trampoline-based kinds: the ones lockdown and security policies deny. */
const TRAMPOLINE_KINDS = new Set<TracingKind>(['fentry', 'fexit', 'fmod_ret', 'lsm']);

/** Where the running kernel's BTF is. */
export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

/** A tracing target that this kernel's BTF does not have. */
export class TracingTargetError extends TsbpfError {
  override name = 'TracingTargetError';
  readonly kind: TracingKind;
  readonly target: string;
  constructor(kind: TracingKind, target: string, detail: string) {
    super(`${kind}/${target}: ${detail}`);
    this.kind = kind;
    this.target = target;
  }
}

/**
 * The vmlinux BTF id a tracing program of `kind` loads against (`attach_btf_id`), as libbpf
 * finds it: the typedef `btf_trace_<name>` for `tp_btf/<name>`, the FUNC `<name>` for fentry,
 * fexit and fmod_ret, the FUNC `bpf_lsm_<hook>` for `lsm/<hook>`.
 */
export function tracingBtfId(kind: TracingKind, target: string, btf: Btf = vmlinuxBtf()): number {
  const [typeName, wanted] =
    kind === 'tp_btf'
      ? [`btf_trace_${target}`, 'typedef']
      : kind === 'lsm'
        ? [`bpf_lsm_${target}`, 'func']
        : [target, 'func'];
  const found = btf.typesByName(typeName).find((type) => type.kind === wanted);
  if (!found) {
    throw new TracingTargetError(
      kind,
      target,
      `no ${wanted === 'typedef' ? 'BTF typedef' : 'BTF FUNC'} '${typeName}' in ${VMLINUX_BTF_PATH}` +
        (kind === 'tp_btf'
          ? ' (is the tracepoint name right? see /sys/kernel/tracing/available_events)'
          : ''),
    );
  }
  return found.id;
}

/**
 * The kernel refused a trampoline program (fentry/fexit/fmod_ret/LSM) with EPERM although we
 * have the privileges: the platform's kernel lockdown or security policy denies it.
 */
export class TracingDeniedError extends TsbpfError {
  override name = 'TracingDeniedError';
  readonly kind: TracingKind;
  readonly target: string;
  readonly errno: number;
  constructor(kind: TracingKind, target: string, operation: string, options: { cause?: unknown } = {}) {
    super(
      `${kind}/${target}: ${operation}: EPERM: this platform denies ${kind} programs. fentry, fexit, ` +
        'fmod_ret and LSM programs run on BPF trampolines that patch kernel functions, which kernel ' +
        "lockdown (/sys/kernel/security/lockdown) or the platform's security policy forbids here even " +
        'for root. Use a tracepoint or tp_btf program instead.',
      options,
    );
    this.kind = kind;
    this.target = target;
    this.errno = 1;
  }
}

/**
 * Turn an EPERM from loading or attaching a trampoline program into a {@link TracingDeniedError};
 * return anything else unchanged. For loaders that load tracing programs themselves.
 */
export function explainTracingError(
  error: unknown,
  kind: TracingKind,
  target: string,
  operation: string,
): unknown {
  if (TRAMPOLINE_KINDS.has(kind) && error instanceof SyscallError && error.is('EPERM') && isPrivileged()) {
    return new TracingDeniedError(kind, target, operation, { cause: error });
  }
  return error;
}

/** Whether we run as root (then an EPERM is the platform's policy, not missing privileges). */
function isPrivileged(): boolean {
  return typeof process.geteuid === 'function' && process.geteuid() === 0;
}

/** What {@link loadTracingProgram} takes: a program load plus what it traces. */
export interface LoadTracingOptions
  extends Omit<LoadProgramOptions, 'type' | 'expectedAttachType' | 'attachBtfId'> {
  readonly kind: TracingKind;
  /** Tracepoint name (`sched_switch`), function (`do_unlinkat`) or LSM hook (`file_open`). */
  readonly target: string;
}

/** Load a tracing program against its vmlinux BTF target; EPERM becomes {@link TracingDeniedError}. */
export function loadTracingProgram(options: LoadTracingOptions): KernelProgram {
  const { kind, target, ...rest } = options;
  const btfId = tracingBtfId(kind, target);
  try {
    return loadProgram({
      ...rest,
      type: kind === 'lsm' ? 'LSM' : 'TRACING',
      expectedAttachType: TRACING_ATTACH_TYPES[kind],
      attachBtfId: btfId,
    });
  } catch (error) {
    throw explainTracingError(error, kind, target, 'load');
  }
}

/**
 * Attach a loaded `tp_btf`, fentry, fexit, fmod_ret or LSM program (its target was fixed at
 * load). `BPF_LINK_CREATE` with the program's attach type (tp_btf links through LINK_CREATE
 * since 6.10); older kernels get `BPF_RAW_TRACEPOINT_OPEN` with no name, which attaches any
 * tracing program to its load-time target.
 */
export function attachTracing(
  program: KernelProgram,
  kind: TracingKind,
  options: { target?: string; cookie?: bigint; sys?: Sys } = {},
): Link {
  const sys = getSys(options.sys);
  const target = options.target ?? program.name;
  const description = `${kind} ${target}`;
  try {
    const { result } = bpfCall(sys, 'LINK_CREATE', {
      prog_fd: program.fd,
      target_fd: 0,
      attach_type: AttachType[TRACING_ATTACH_TYPES[kind]],
      'tracing.cookie': options.cookie ?? 0n,
    });
    return new Link(description, { link: result }, sys);
  } catch (error) {
    if (!(error instanceof SyscallError && error.is('EINVAL')) || options.cookie) {
      throw explainTracingError(error, kind, target, 'attach');
    }
  }
  try {
    const { result } = bpfCall(sys, 'RAW_TRACEPOINT_OPEN', { name: null, prog_fd: program.fd });
    return new Link(description, { link: result }, sys);
  } catch (error) {
    throw explainTracingError(error, kind, target, 'attach');
  }
}
