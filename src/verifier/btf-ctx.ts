/**
 * The context of BTF-typed programs (`tp_btf/`, `fentry/`, `fexit/`, `fmod_ret/`, `lsm/`): an
 * array of u64, one slot per argument of the attach target's prototype in the kernel's BTF
 * (`btf_ctx_access`). Pointer-to-struct arguments read as `PTR_TO_BTF_ID` to that struct (trusted
 * for tp_btf and LSM hooks, plain `ptr_` for fentry/fexit), everything else as a scalar; `fexit`/`fmod_ret` also see the return value in the slot after the last argument.
 *
 *   tp_btf/NAME  → typedef btf_trace_NAME = void (*)(void *__data, ARGS…): the first is skipped
 *   fentry/NAME  → FUNC NAME                  lsm/NAME → FUNC bpf_lsm_NAME
 */
import type { Btf } from '../object/btf.js';
import { rawTpArgNullness } from './raw-tp-null.js';
import { BtfFlag, type RegType } from './scalar.js';

/** What a context read gives: a register type (and whether it may be NULL). */
export interface CtxRead {
  readonly type: RegType;
  readonly maybeNull: boolean;
  /** `btf_id`: the struct pointed to, a type id in the kernel's BTF. */
  readonly btfId?: number;
  /** `btf_id`: the kernel struct by name, when the id is looked up later (context tables). */
  readonly btfStruct?: string;
  /** `btf_id`: {@link BtfFlag} bits (PTR_TRUSTED for tp_btf and most LSM hooks). */
  readonly btfFlags?: number;
  /** A line the kernel logs when the read happens (`func 'sched_switch' arg2 has btf_id …`). */
  readonly note?: string;
}

/** The argument slots a BTF-typed program's context holds. */
export interface BtfCtx {
  readonly args: readonly CtxRead[];
  /** `fexit`/`fmod_ret`: what the slot after the last argument holds. */
  readonly ret?: CtxRead;
}

/** MAX_BPF_FUNC_ARGS: reads past 12 slots are refused before the prototype is looked at. */
const MAX_BPF_FUNC_ARGS = 12;

const SCALAR: CtxRead = { type: 'scalar', maybeNull: false };
const NOT_NULL = { maybeNull: false, maybeErr: false } as const;

/**
 * LSM hooks whose arguments are not trusted (`untrusted_lsm_hooks`): objects being freed or not
 * yet set up.
 */
const UNTRUSTED_LSM_HOOKS = new Set([
  'bpf_map_free',
  'bpf_prog_free',
  'file_alloc_security',
  'file_free_security',
  'sk_alloc_security',
  'sk_free_security',
  'task_free',
]);

/**
 * How a u64 slot holding a value of `typeId` reads (`trusted`: `prog_args_trusted`; `func`,
 * `arg`: what the kernel's log line names).
 */
function slotOf(
  btf: Btf,
  typeId: number,
  trusted: boolean,
  func: string,
  arg: number,
  nullness: { readonly maybeNull: boolean; readonly maybeErr: boolean },
): CtxRead {
  const t = btf.resolve(typeId);
  if (t.kind !== 'ptr') return SCALAR;
  const pointee = btf.resolve(t.typeId);
  if (pointee.kind !== 'struct' && pointee.kind !== 'union') return SCALAR;
  // an argument that may hold an ERR_PTR is only a number to the program
  if (nullness.maybeErr) return SCALAR;
  return {
    type: 'btf_id',
    maybeNull: nullness.maybeNull,
    btfId: pointee.id,
    btfFlags: trusted ? BtfFlag.TRUSTED : 0,
    note: `func '${func}' arg${arg} has btf_id ${pointee.id} type ${pointee.kind.toUpperCase()} '${pointee.name}'`,
  };
}

/**
 * The context of a BTF-typed program attached to `target` with `attachType`, from the kernel's
 * BTF; undefined when the target is not in it (the kernel refuses such a load before verifying).
 */
export function btfCtxOf(kernelBtf: Btf, attachType: string | undefined, target: string): BtfCtx | undefined {
  const rawTp = attachType === 'TRACE_RAW_TP';
  const name = rawTp ? `btf_trace_${target}` : attachType === 'LSM_MAC' ? `bpf_lsm_${target}` : target;
  const found = kernelBtf.typesByName(name).find((t) => (rawTp ? t.kind === 'typedef' : t.kind === 'func'));
  if (!found || (found.kind !== 'typedef' && found.kind !== 'func')) return undefined;
  let proto = kernelBtf.resolve(found.typeId);
  if (rawTp && proto.kind === 'ptr') proto = kernelBtf.resolve(proto.typeId);
  if (proto.kind !== 'func_proto') return undefined;
  const params = proto.params.filter((p) => p.typeId !== 0);
  // prog_args_trusted: tp_btf and iterator arguments, and those of most LSM hooks
  const trusted =
    rawTp || attachType === 'TRACE_ITER' || (attachType === 'LSM_MAC' && !UNTRUSTED_LSM_HOOKS.has(target));
  const func = rawTp ? target : name;
  const args = (rawTp ? params.slice(1) : params).map((p, i) =>
    slotOf(kernelBtf, p.typeId, trusted, func, i, {
      ...(rawTp ? rawTpArgNullness(target, i) : NOT_NULL),
      // `__nullable` parameter names (btf_param_match_suffix)
      ...(p.name.endsWith('__nullable') ? { maybeNull: true } : {}),
    }),
  );
  const withRet = attachType === 'TRACE_FEXIT' || attachType === 'MODIFY_RETURN';
  return {
    args,
    ...(withRet
      ? {
          ret:
            proto.returnTypeId === 0
              ? SCALAR
              : slotOf(kernelBtf, proto.returnTypeId, trusted, func, params.length, NOT_NULL),
        }
      : {}),
  };
}

/**
 * A read (or write) of `size` bytes at `off` in a BTF-typed context: what it yields, or the
 * kernel's refusal (`tracing_prog_is_valid_access`, then `btf_ctx_access`). The kernel logs a
 * detail line first (`func 'sched_switch' doesn't have 5-th argument`); its error is the generic one.
 */
export function btfCtxAccess(ctx: BtfCtx, off: number, size: number, write: boolean): CtxRead | string {
  const invalid = `invalid bpf_context access off=${off} size=${size}`;
  if (write || off < 0 || off >= 8 * MAX_BPF_FUNC_ARGS || off % size !== 0 || off % 8 !== 0) return invalid;
  const arg = off / 8;
  if (arg < ctx.args.length) return ctx.args[arg]!;
  if (arg === ctx.args.length && ctx.ret) return ctx.ret;
  return invalid;
}
