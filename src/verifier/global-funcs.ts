/**
 * Global functions (BTF `FUNC` with global linkage): Linux verifies them once on their own, for
 * any arguments of their BTF prototype, instead of at each call (`do_check_subprogs`). A call
 * checks the arguments against the prototype, says `Func#N ('name') is global and assumed valid.`
 * and goes on with R0 an unknown scalar and R1-R5 clobbered; packet pointers are dropped when the
 * function (or one it calls) may change packet data. After the main program, each global function
 * called is walked from its first instruction: `Validating name() func#N...`.
 */
import type { Btf, BtfType, BtfVoid } from '../object/btf.js';
import type { Slots } from './cfg.js';
import type { Lookups } from './lookups.js';
import { CTX_STRUCTS } from './tables/context.js';
import type { VerifierInput } from './types.js';

/** How an argument register starts (`btf_prepare_func_args`). */
export type GlobalArg =
  | { readonly kind: 'scalar' }
  | { readonly kind: 'ctx' }
  | { readonly kind: 'mem'; readonly size: number }
  | { readonly kind: 'unsupported' };

export interface GlobalFunc {
  readonly name: string;
  readonly args: readonly GlobalArg[];
  /** The function, or one it calls, may move packet data (a helper that does, a tail call). */
  readonly changesPktData: boolean;
}

const BPF_FUNC_TAIL_CALL = 12;

function argOf(btf: Btf, typeId: number, ctxStruct: string | undefined): GlobalArg {
  const t = btf.resolve(typeId);
  if (t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64') return { kind: 'scalar' };
  if (t.kind !== 'ptr') return { kind: 'unsupported' };
  const target: BtfType | BtfVoid = btf.resolve(t.typeId);
  if (ctxStruct && target.kind === 'struct' && target.name === ctxStruct) return { kind: 'ctx' };
  const size = 'size' in target && typeof target.size === 'number' ? target.size : undefined;
  return size === undefined ? { kind: 'unsupported' } : { kind: 'mem', size };
}

/**
 * The global functions among the subprograms (index → function), from the object's BTF; empty
 * without BTF func info. The main program (index 0) is never one here.
 */
export function globalFuncs(
  input: VerifierInput,
  slots: Slots,
  subprogs: readonly number[],
  lookups: Lookups,
): Map<number, GlobalFunc> {
  const out = new Map<number, GlobalFunc>();
  const btf = input.btf;
  if (!btf || !input.funcInfo?.length || subprogs.length === 1) return out;
  // which subprograms change packet data, directly or through the ones they call
  const end = (k: number) => subprogs[k + 1] ?? slots.length;
  const calls: number[][] = subprogs.map(() => []);
  const direct = subprogs.map((start, k) => {
    let changes = false;
    for (let pc = start; pc < end(k); pc++) {
      const i = slots[pc];
      if (i?.kind !== 'call') continue;
      if (i.form.target === 'local') calls[k].push(subprogs.indexOf(pc + i.imm + 1));
      if (i.form.target !== 'helper') continue;
      const proto = lookups.helper(i.imm);
      if (i.imm === BPF_FUNC_TAIL_CALL || (typeof proto !== 'string' && proto.changesPktData)) changes = true;
    }
    return changes;
  });
  const changes = [...direct];
  for (let more = true; more; ) {
    more = false;
    calls.forEach((callees, k) => {
      if (!changes[k] && callees.some((c) => c >= 0 && changes[c])) {
        changes[k] = true;
        more = true;
      }
    });
  }
  const ctxStruct = CTX_STRUCTS[input.progType];
  subprogs.forEach((start, k) => {
    if (k === 0) return;
    const typeId = input.funcInfo?.find((f) => f.slot === start)?.typeId;
    if (typeId === undefined) return;
    const fn = btf.typeById(typeId);
    if (fn.kind !== 'func' || fn.linkage !== 'global') return;
    const proto = btf.typeById(fn.typeId);
    if (proto.kind !== 'func_proto') return;
    out.set(k, {
      name: fn.name,
      args: proto.params.map((p) => argOf(btf, p.typeId, ctxStruct)),
      changesPktData: changes[k],
    });
  });
  return out;
}
