/**
 * The VM's load-time verification: a typed program is verified as Linux would before it may run
 * (`src/verifier/`), and a rejection is a {@link VerifierRejectedError} carrying the verifier's
 * explanation. Accepted programs hand the JIT what the verifier proved.
 */
import { TsbpfError } from '../errors.js';
import type { Insn } from '../isa/instruction.js';
import { makeInsn } from '../isa/instruction.js';
import { formatInsn } from '../isa/llvm-print.js';
import { PseudoSrc } from '../isa/opcodes.js';
import type { SourceLine } from '../object/object.js';
import { builtinLookups, verify } from '../verifier/index.js';
import { ctxAccess } from '../verifier/tables/context.js';
import { availableHelpers } from '../verifier/tables/helpers.js';
import type { VerifierInput, VerifierMap, VerifierRejection, VerifierResult } from '../verifier/types.js';
import type { FdArrayEntry } from './map-helpers.js';
import type { VmMap } from './maps/base.js';
import type { VmMapRegistry } from './maps/registry.js';

/**
 * A program the verifier refused: it was not loaded. The message is the kernel's error line with
 * the instruction and source line; the fields carry the verifier's explanation.
 */
export class VerifierRejectedError extends TsbpfError {
  override name = 'VerifierRejectedError';
  /** The program's name ('' when it has none). */
  readonly program: string;
  /** The kernel's exact error line, e.g. `R1 offset is outside of the packet`. */
  readonly reason: string;
  /** Index of the failing instruction in the program. */
  readonly insn: number;
  /** Its slot (8-byte unit), as the kernel's log counts. */
  readonly slot: number;
  /** The instruction as the kernel's log prints it: `(61) r1 = *(u32 *)(r1 +0)`. */
  readonly insnText: string | undefined;
  /** The C source line (BTF.ext line info), when the object has it. */
  readonly source: SourceLine | undefined;
  /** One line in plain words. */
  readonly summary: string;
  /** What to change, when the verifier can tell. */
  readonly hint: string | undefined;
  /** `processed N insns` before the error. */
  readonly insnsProcessed: number;
  /** The whole verdict (the log, at the level asked for). */
  readonly result: VerifierResult;

  constructor(
    program: string,
    insns: readonly Insn[],
    result: VerifierResult & { error: VerifierRejection },
  ) {
    const e = result.error;
    const insn = insns[e.insn];
    const where = `instruction ${e.slot ?? insn?.slot ?? e.insn}: ${e.line ? `${e.line.file}:${e.line.line}:${e.line.column}: ` : ''}`;
    super(`program${program ? ` '${program}'` : ''} rejected by the verifier: ${where}${e.message}`);
    this.program = program;
    this.reason = e.message;
    this.insn = e.insn;
    this.slot = e.slot ?? insn?.slot ?? e.insn;
    this.insnText = insn
      ? `(${insn.opcode.toString(16).padStart(2, '0')}) ${formatInsn(insn, { flavor: 'verifier' })}`
      : undefined;
    this.source = e.line;
    this.summary = e.summary;
    this.hint = e.hint;
    this.insnsProcessed = result.insnsProcessed;
    this.result = result;
  }
}

/** What the verifier knows of one of the VM's maps. */
export function verifierMapOf(map: VmMap): VerifierMap {
  const spec = map.spec;
  return {
    type: spec.type,
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    flags: spec.flags ?? 0,
    frozen: map.isFrozen,
    ...(spec.innerMap
      ? {
          innerMap: {
            type: spec.innerMap.type,
            keySize: spec.innerMap.keySize,
            valueSize: spec.innerMap.valueSize,
            maxEntries: spec.innerMap.maxEntries,
            flags: spec.innerMap.flags ?? 0,
          },
        }
      : {}),
    ...(spec.btfValueTypeId ? { btfValueTypeId: spec.btfValueTypeId } : {}),
    name: spec.name,
  };
}

/**
 * The verifier's input for a program loaded with an fd array: its maps by `MAP_IDX` index, and
 * `MAP_FD`/`MAP_VALUE` references (map ids of the VM) renumbered into the same list, since the
 * verifier names every map by its index.
 */
export function vmVerifierInput(
  base: Omit<VerifierInput, 'insns' | 'maps'>,
  insns: readonly Insn[],
  fdArray: readonly FdArrayEntry[],
  registry: VmMapRegistry,
): VerifierInput {
  const maps: VerifierMap[] = [];
  const byIndex = new Map<number, number>();
  const byId = new Map<number, number>();
  const add = (map: VmMap | undefined): number => {
    if (!map) return -1;
    maps.push(verifierMapOf(map));
    return maps.length - 1;
  };
  const mapAt = (entry: FdArrayEntry | undefined): VmMap | undefined =>
    entry === undefined ? undefined : typeof entry === 'number' ? registry.mapById(entry) : entry;
  let renumbered = false;
  const out = insns.map((insn) => {
    if (insn.kind !== 'lddw') return insn;
    const src = insn.src;
    const indexed = src === PseudoSrc.MAP_IDX || src === PseudoSrc.MAP_IDX_VALUE;
    if (!indexed && src !== PseudoSrc.MAP_FD && src !== PseudoSrc.MAP_VALUE) return insn;
    const table = indexed ? byIndex : byId;
    let k = table.get(insn.imm);
    if (k === undefined) {
      k = add(indexed ? mapAt(fdArray[insn.imm]) : registry.mapById(insn.imm));
      table.set(insn.imm, k);
    }
    // An unknown map stays out of range: the verifier's own "fd N is not pointing to valid bpf_map".
    const imm = k < 0 ? 0x7fff_ffff : k;
    if (indexed && imm === insn.imm) return insn;
    renumbered = true;
    const value = src === PseudoSrc.MAP_VALUE || src === PseudoSrc.MAP_IDX_VALUE;
    return makeInsn(
      {
        opcode: insn.opcode,
        dst: insn.dst,
        src: value ? PseudoSrc.MAP_IDX_VALUE : PseudoSrc.MAP_IDX,
        off: insn.off,
        imm,
      },
      insn.slot,
      insn.imm2,
    );
  });
  return { ...base, insns: renumbered ? out : insns, maps };
}

/** The verifier's own words where it stops at something it does not model (not kernel messages). */
const NOT_MODELLED = new Set([
  'kernel BTF is not available for BTF id loads',
  'calling kernel function is not supported without kernel BTF',
]);

/**
 * Why a rejection says more about the verifier than about the program: it stopped at the first
 * construct it does not model yet — a helper Linux offers this program type but the verifier has
 * no prototype for, a kfunc or BTF id (they need the kernel's BTF), a context access Linux allows
 * (measured on Linux 6.18) in a type whose context rules it lacks, `may_goto` — or it failed
 * inside. Undefined when the
 * rejection stands.
 *
 * The walk ends at its first error, so a rejection anywhere else was reached on a path through no
 * such construct: it is the verifier's verdict on code it models.
 */
export function verifierGap(input: VerifierInput, error: VerifierRejection): string | undefined {
  if (NOT_MODELLED.has(error.message)) return error.message;
  // A crash inside the verifier is no verdict on the program.
  if (error.message.startsWith('internal verifier error')) return error.message;
  const insn = input.insns[error.insn];
  const caps = input.caps ?? 'root';
  if (insn?.kind === 'call' && insn.form.target === 'kfunc') return 'kfunc calls need the kernel BTF';
  if (insn?.kind === 'call' && insn.form.target === 'helper' && !builtinLookups(input).helper(insn.imm)) {
    const offered = availableHelpers(input.progType, caps, input.expectedAttachType);
    if (offered === undefined || offered?.has(insn.imm))
      return `no prototype for helper #${insn.imm} in the verifier yet`;
    return undefined;
  }
  // btf_struct_access: reads through PTR_TO_BTF_ID follow the kernel's struct layouts, which
  // only the kernel's BTF has (the verifier refuses such reads without it, or for a pointer whose
  // struct it cannot name); `…ptr_or_null_` refusals are real verdicts.
  if (/^R\d+ invalid mem access '(?:rcu_|untrusted_|trusted_)*ptr_'$/.test(error.message))
    return "reads through BTF-typed pointers need the kernel's BTF";
  const ctx = /^invalid bpf_context access off=(-?\d+) size=(\d+)$/.exec(error.message);
  if (ctx && insn) {
    const kind = insn.kind === 'ldx' ? 'read' : 'write';
    // tp_btf/fentry/lsm contexts are typed by the attach target's prototype in the kernel's BTF.
    if (kind === 'read' && !input.kernelBtf && (input.progType === 'TRACING' || input.progType === 'LSM'))
      return `${input.progType} contexts need the kernel's BTF`;
    const measured = ctxAccess(
      input.progType,
      Number(ctx[1]),
      Number(ctx[2]),
      kind,
      input.expectedAttachType,
      caps,
    );
    if (measured?.allowed) return `no context rules for ${input.progType} in the verifier yet`;
    return undefined;
  }
  const isMayGoto = (i: Insn | undefined) => (i?.form as { op?: string } | undefined)?.op === 'may_goto';
  if (isMayGoto(insn)) return 'may_goto is not modelled by the verifier yet';
  if (input.insns.some(isMayGoto) && /too complex|infinite loop|back-edge/.test(error.message))
    return 'may_goto is not modelled by the verifier yet';
  return undefined;
}

/** What {@link verifyProgram} decided. */
export type VerifyOutcome =
  | { readonly verified: VerifierResult; readonly gap?: undefined }
  | { readonly verified?: undefined; readonly gap: string };

/**
 * Verify `input` for a load: the verdict when accepted, the gap when the verifier stopped at
 * something it does not model ({@link verifierGap}: the program loads unverified), and
 * {@link VerifierRejectedError} when Linux would refuse the program.
 */
export function verifyProgram(name: string, input: VerifierInput): VerifyOutcome {
  const result = verify(input);
  if (result.accepted) return { verified: result };
  const error = result.error ?? { message: 'rejected', insn: 0, summary: 'rejected' };
  const gap = verifierGap(input, error);
  if (gap !== undefined) return { gap };
  throw new VerifierRejectedError(name, input.insns, { ...result, error });
}
