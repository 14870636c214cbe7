/**
 * CO-RE (compile once, run everywhere): rewrite the instructions a compiler marked in `.BTF.ext`
 * so that a program built against one set of kernel types runs on a kernel with another, the way
 * libbpf does before it loads a program (`relo_core.c`, `bpf_object__relocate_core`).
 *
 * Each relocation names a *local* type (in the object's BTF), an access string and a kind:
 *
 * ```
 *  field kinds (byte offset, byte size, exists, signed, lshift, rshift):
 *    access "0:3:2:1" on struct task  ──►  task[0] . member 3 (times) [2] . member 1 (end)
 *    only named members and array indexes are "high-level" accessors; anonymous members are
 *    stepped through, so the target may nest a field differently and still match by name
 *  type kinds (id local, id target, exists, size, matches): access "0", the root type itself
 *  enumerator kinds (exists, value): access "N", the N-th enumerator of the root enum
 * ```
 *
 * Resolution, per relocation:
 * 1. Candidates: every target type of a compatible kind (enum and enum64 count as one) whose name
 *    equals the local type's once a `___flavor` suffix is cut from both (`task_struct___old` and
 *    `task_struct` are candidates for each other). Results are cached per local type id, and a
 *    relocation that matches some candidates prunes the cached list to those, as libbpf does.
 * 2. Each candidate is matched: named members are found by name (through anonymous members), array
 *    indexes must be in bounds (flexible arrays excepted), and the leaf types must be compatible;
 *    type kinds use `types_are_compat` or, for type_matches, the stricter `types_match`.
 * 3. Every matching candidate must give the same bit offset and the same value, else the
 *    relocation is ambiguous (a {@link CoreError}). No match gives 0 for the exists kinds, for
 *    type_id_target, type_size and type_matches, and poisons the instruction for the others.
 *
 * Patching: an ALU immediate (`r1 += 8`, `r1 = 1`), the offset of a LDX/ST/STX (and, for a load
 * or store of a pointer or an unsigned integer whose target size differs, its size), or the 64-bit
 * immediate of `lddw`. The instruction's value must first equal what the local types give (libbpf
 * checks this to catch a relocation pointing at the wrong instruction), except where the value
 * is ambiguous (bitfield offsets and sizes, type ids). A poisoned instruction becomes
 * `call 0xbad2310` ("bad relo"), which the verifier only rejects if the path is reachable
 * (`invalid func unknown#195896080`); both slots of a poisoned `lddw` become such calls.
 *
 * No syscalls and no files: the target BTF is passed in (e.g. `/sys/kernel/btf/vmlinux`, read by
 * the caller), so this runs in a browser too.
 */
import { TsbpfError } from '../errors.js';
import { type Insn, makeInsn } from '../isa/instruction.js';
import { type AccessSize, SLOT_SIZE, sizeBytes, sizeCodeOf } from '../isa/opcodes.js';
import { BTF_INT_SIGNED, type Btf, BtfError, type BtfType, type BtfVoid, describeBtfType } from './btf.js';
import type { BtfExtCoreRelo, CoreReloKind } from './btf-ext.js';
import type { ProgramSpec } from './object.js';

/** The helper id a poisoned instruction calls: `0xbad2310`, "bad relo" (libbpf's choice). */
export const CORE_POISON_HELPER = 0xbad2310;

/** Longest access path libbpf accepts (`BPF_CORE_SPEC_MAX_LEN`), in low-level steps. */
export const CORE_SPEC_MAX_LEN = 64;

/** Depth limit of the type comparisons, as libbpf's (recursion level and loop depth both 32). */
const MAX_DEPTH = 32;

/** Opcode classes (low three bits) the patcher tells apart. */
const CLASS_LD = 0x00;
const CLASS_LDX = 0x01;
const CLASS_ST = 0x02;
const CLASS_STX = 0x03;
const CLASS_ALU = 0x04;
const CLASS_ALU64 = 0x07;
/** Source bit of ALU/JMP opcodes: set means a register operand (BPF_X). */
const SOURCE_REG = 0x08;
/** `lddw`: BPF_LD | BPF_IMM | BPF_DW. */
const OPCODE_LDDW = 0x18;
/** `call imm`: BPF_JMP | BPF_CALL. */
const OPCODE_CALL = 0x85;
const SHRT_MAX = 0x7fffn;

/** Where a CO-RE problem is: which program, relocation and instruction. */
export interface CoreErrorContext {
  /** The program's name. */
  readonly program?: string;
  /** Index of the relocation in {@link ProgramSpec.coreRelos}. */
  readonly relo?: number;
  /** Slot of the relocated instruction in the linked program. */
  readonly insn?: number;
  readonly kind?: CoreReloKind;
  /** The local type id the relocation starts from. */
  readonly typeId?: number;
  readonly accessStr?: string;
}

/**
 * A relocation that cannot be applied: a malformed access string, an index out of range, an
 * instruction of the wrong kind or with an unexpected value, or an ambiguous result. (A field or
 * type that just is not in the target is not an error: the instruction is poisoned instead.)
 */
export class CoreError extends TsbpfError {
  override name = 'CoreError';
  readonly program: string | undefined;
  readonly relo: number | undefined;
  readonly insn: number | undefined;
  readonly kind: CoreReloKind | undefined;
  readonly typeId: number | undefined;
  readonly accessStr: string | undefined;
  /** The reason without the location prefix. */
  readonly reason: string;
  constructor(reason: string, context: CoreErrorContext = {}, options?: { cause?: unknown }) {
    const where = [
      context.program !== undefined ? `program '${context.program}'` : '',
      context.relo !== undefined ? `relocation #${context.relo}` : '',
      context.kind !== undefined
        ? `<${context.kind}> [${context.typeId ?? '?'}] '${context.accessStr ?? ''}'`
        : '',
      context.insn !== undefined ? `instruction ${context.insn}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    super(`CO-RE: ${where ? `${where}: ` : ''}${reason}`, options);
    this.program = context.program;
    this.relo = context.relo;
    this.insn = context.insn;
    this.kind = context.kind;
    this.typeId = context.typeId;
    this.accessStr = context.accessStr;
    this.reason = reason;
  }
}

/**
 * Thrown inside the resolver, where the location is not known; the public functions turn it into
 * a {@link CoreError} carrying their context.
 */
class CoreFault extends Error {
  override name = 'CoreFault';
}

function fault(reason: string, cause?: unknown): never {
  throw new CoreFault(reason, cause === undefined ? undefined : { cause });
}

/** A relocation record as the resolver needs it (a {@link BtfExtCoreRelo} is one). */
export type CoreReloInput = Pick<BtfExtCoreRelo, 'typeId' | 'accessStr' | 'kind'>;

/** One high-level step of an access path: the root, a named member, an array index, or an enumerator. */
export interface CoreAccessor {
  /**
   * The type the step is taken in, typedefs and modifiers skipped: the struct/union holding a
   * named member, the element type for an array index or the root, the enum for an enumerator.
   */
  readonly typeId: number;
  /** Member, element or enumerator index. */
  readonly index: number;
  /** Member or enumerator name; undefined for an array index (and the root). */
  readonly name: string | undefined;
}

/** An access path resolved in one BTF (libbpf's `bpf_core_spec`). */
export interface CoreSpec {
  readonly btf: Btf;
  /** The type the path starts from (for a target: the candidate). */
  readonly rootTypeId: number;
  readonly kind: CoreReloKind;
  /** High-level steps: the root, named members, array indexes (empty for type kinds). */
  readonly accessors: readonly CoreAccessor[];
  /** Low-level steps, one per access string element, anonymous members included. */
  readonly raw: readonly number[];
  /** Bit offset of the field from the start of the root (0 for type and enumerator kinds). */
  readonly bitOffset: number;
}

interface MutableSpec {
  btf: Btf;
  rootTypeId: number;
  kind: CoreReloKind;
  accessors: CoreAccessor[];
  raw: number[];
  bitOffset: number;
}

/** A target type whose essential name and kind fit a local type. */
export interface CoreCandidate {
  readonly btf: Btf;
  readonly id: number;
}

/**
 * Candidates by local type id, shared between relocations (and programs) of one object against
 * one target, as libbpf's `cand_cache`: a relocation that matches prunes the list for the next.
 */
export type CoreCandidateCache = Map<number, readonly CoreCandidate[]>;

/** What a relocation resolves to (libbpf's `bpf_core_relo_res`, plus the specs behind it). */
export interface CoreResolution {
  readonly kind: CoreReloKind;
  /** The value the local types give: what the instruction must hold (when {@link validate}). */
  readonly origValue: bigint;
  /** The value for the target, unsigned 64-bit. */
  readonly newValue: bigint;
  /** No target to relocate to: the instruction becomes `call 0xbad2310`. */
  readonly poison: boolean;
  /** Whether the instruction's value must equal {@link origValue} (not for bitfields and type ids). */
  readonly validate: boolean;
  /** For field_byte_offset of a non-bitfield: the field's byte size, locally and in the target. */
  readonly origSize: number;
  readonly newSize: number;
  /** The size differs and the field is not a pointer or unsigned integer: a load or store of it is poisoned. */
  readonly failMemSizeAdjust: boolean;
  readonly localSpec: CoreSpec;
  /** The first matching candidate's spec; undefined when none matched (or for type_id_local). */
  readonly targetSpec: CoreSpec | undefined;
  /** Every candidate found by name (before matching). */
  readonly candidates: readonly CoreCandidate[];
  /** The candidates that matched. */
  readonly matches: readonly CoreCandidate[];
}

/** Options of {@link resolveCoreRelo} and {@link applyCoreRelocations}. */
export interface CoreOptions {
  /** Candidate cache to share across calls with the same local and target BTF. */
  readonly cache?: CoreCandidateCache;
  /**
   * Module BTFs (split on the target), searched only when the target itself has no candidate
   * for a type, as libbpf searches vmlinux first and then the kernel modules.
   */
  readonly moduleBtfs?: readonly Btf[];
  /** Location for error messages. */
  readonly context?: CoreErrorContext;
}

/** What {@link applyCoreRelocations} did for one relocation. */
export interface CoreResult {
  /** Index in {@link ProgramSpec.coreRelos}. */
  readonly relo: number;
  readonly record: BtfExtCoreRelo & { readonly slot: number };
  readonly resolution: CoreResolution;
  /** Whether the instruction was replaced by `call 0xbad2310`. */
  readonly poisoned: boolean;
  /** The instruction before and after (two calls when a `lddw` was poisoned). */
  readonly before: Insn;
  readonly after: readonly Insn[];
}

// ---------------------------------------------------------------------------------------------
// Names and kinds

/**
 * The name with its flavor cut: everything from the last `___` that has a non-underscore on each
 * side (`task_struct___old` → `task_struct`; `a____b` and `___x` keep their names).
 */
export function coreEssentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (
      name[i] !== '_' &&
      name[i + 1] === '_' &&
      name[i + 2] === '_' &&
      name[i + 3] === '_' &&
      name[i + 4] !== '_'
    ) {
      return name.slice(0, i + 1);
    }
  }
  return name;
}

type AnyType = BtfType | BtfVoid;

function isAnyEnum(t: AnyType): t is Extract<BtfType, { kind: 'enum' | 'enum64' }> {
  return t.kind === 'enum' || t.kind === 'enum64';
}

function isComposite(t: AnyType): t is Extract<BtfType, { kind: 'struct' | 'union' }> {
  return t.kind === 'struct' || t.kind === 'union';
}

/** Same kind, where enum and enum64 count as one (libbpf's `btf_kind_core_compat`). */
function kindsCompatible(a: AnyType, b: AnyType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}

const FIELD_KINDS: ReadonlySet<CoreReloKind> = new Set([
  'field_byte_offset',
  'field_byte_size',
  'field_exists',
  'field_signed',
  'field_lshift_u64',
  'field_rshift_u64',
]);
const TYPE_KINDS: ReadonlySet<CoreReloKind> = new Set([
  'type_id_local',
  'type_id_target',
  'type_exists',
  'type_size',
  'type_matches',
]);

/** Whether a kind relocates a field access. */
export function isFieldReloKind(kind: CoreReloKind): boolean {
  return FIELD_KINDS.has(kind);
}
/** Whether a kind is about a whole type (access string "0"). */
export function isTypeReloKind(kind: CoreReloKind): boolean {
  return TYPE_KINDS.has(kind);
}
/** Whether a kind is about an enumerator. */
export function isEnumvalReloKind(kind: CoreReloKind): boolean {
  return kind === 'enumval_exists' || kind === 'enumval_value';
}

// BTF lookups that turn a BtfError (bad id, type without a size, typedef loop) into a fault.
function typeAt(btf: Btf, id: number): AnyType {
  try {
    return btf.typeById(id);
  } catch (error) {
    return fault(error instanceof BtfError ? error.message : String(error), error);
  }
}
function skip(btf: Btf, id: number): AnyType {
  try {
    return btf.resolve(id);
  } catch (error) {
    return fault(error instanceof BtfError ? error.message : String(error), error);
  }
}
function sizeOf(btf: Btf, id: number): number {
  try {
    return btf.sizeof(id);
  } catch (error) {
    return fault(error instanceof BtfError ? error.message : String(error), error);
  }
}

/** `[12] STRUCT 'task'` for messages. */
function describe(btf: Btf, id: number): string {
  try {
    return `[${id}] ${describeBtfType(btf.typeById(id))}`;
  } catch {
    return `[${id}]`;
  }
}

// ---------------------------------------------------------------------------------------------
// Candidates

function addCandidates(
  local: AnyType,
  essential: string,
  target: Btf,
  startId: number,
  out: CoreCandidate[],
): void {
  for (let id = startId; id < target.typeCount; id++) {
    const t = target.typeById(id);
    if (!kindsCompatible(t, local) || t.name === '') continue;
    // Most names do not even start with the essential name: skip the suffix scan for them.
    if (!t.name.startsWith(essential) || coreEssentialName(t.name) !== essential) continue;
    out.push({ btf: target, id });
  }
}

/**
 * Target types a local type may relocate to: same kind (enum ~ enum64), same name once flavors
 * are cut. The target is searched first; the module BTFs only when it has none.
 */
export function findCoreCandidates(
  localBtf: Btf,
  localTypeId: number,
  targetBtf: Btf,
  moduleBtfs: readonly Btf[] = [],
): CoreCandidate[] {
  const local = localBtf.typeById(localTypeId);
  if (local.name === '') {
    throw new CoreError(`no candidates for anonymous ${describe(localBtf, localTypeId)}`, {
      typeId: localTypeId,
    });
  }
  const essential = coreEssentialName(local.name);
  const out: CoreCandidate[] = [];
  addCandidates(local, essential, targetBtf, 1, out);
  if (out.length > 0) return out;
  for (const module of moduleBtfs) addCandidates(local, essential, module, module.firstTypeId, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Access specs

/** A zero-length array as the last member of a struct, which may be indexed past its bounds. */
function isFlexArray(btf: Btf, previous: CoreAccessor | undefined, nelems: number): boolean {
  if (previous?.name === undefined || nelems > 0) return false;
  const t = typeAt(btf, previous.typeId);
  return isComposite(t) && previous.index === t.members.length - 1;
}

function parseAccessString(accessStr: string): number[] {
  if (accessStr === '') fault('empty access string');
  const parts = accessStr.split(':');
  const raw: number[] = [];
  for (const part of parts) {
    // libbpf reads each element with sscanf("%d"); a negative index would then index before the
    // members, so only plain decimal numbers are accepted.
    if (!/^[0-9]+$/.test(part) || Number(part) > 0x7fffffff) {
      fault(`malformed access string '${accessStr}': element '${part}' is not an index`);
    }
    if (raw.length === CORE_SPEC_MAX_LEN) {
      fault(`access string '${accessStr}' is longer than ${CORE_SPEC_MAX_LEN} elements`);
    }
    raw.push(Number(part));
  }
  return raw;
}

function parseSpec(btf: Btf, relo: CoreReloInput): CoreSpec {
  const spec: MutableSpec = {
    btf,
    rootTypeId: relo.typeId,
    kind: relo.kind,
    accessors: [],
    raw: [],
    bitOffset: 0,
  };
  if (relo.accessStr === '' || relo.accessStr.startsWith(':')) {
    fault(`malformed access string '${relo.accessStr}'`);
  }
  if (isTypeReloKind(relo.kind)) {
    if (relo.accessStr !== '0') fault(`type relocation with access string '${relo.accessStr}', want '0'`);
    return spec;
  }
  const raw = parseAccessString(relo.accessStr);
  spec.raw = raw;
  let t = skip(btf, relo.typeId);
  let id = t.id;
  const first = raw[0]!;
  if (isEnumvalReloKind(relo.kind)) {
    if (!isAnyEnum(t)) fault(`enumerator relocation on ${describe(btf, id)}, which is not an enum`);
    if (raw.length > 1) fault(`enumerator relocation with access string '${relo.accessStr}', want one index`);
    const value = t.values[first];
    if (value === undefined) {
      fault(`enumerator index ${first} out of range: ${describe(btf, id)} has ${t.values.length} values`);
    }
    spec.accessors.push({ typeId: id, index: first, name: value.name });
    return spec;
  }
  if (!isFieldReloKind(relo.kind)) fault(`unknown relocation kind '${relo.kind}'`);
  spec.accessors.push({ typeId: id, index: first, name: undefined });
  spec.bitOffset = first * sizeOf(btf, id) * 8;
  for (let i = 1; i < raw.length; i++) {
    t = skip(btf, id);
    id = t.id;
    const index = raw[i]!;
    if (isComposite(t)) {
      const member = t.members[index];
      if (member === undefined) {
        fault(`member index ${index} out of range: ${describe(btf, id)} has ${t.members.length} members`);
      }
      spec.bitOffset += member.bitsOffset;
      if (member.nameOff !== 0) {
        if (member.name === '') fault(`member ${index} of ${describe(btf, id)} has an empty name`);
        spec.accessors.push({ typeId: id, index, name: member.name });
      }
      id = member.typeId;
    } else if (t.kind === 'array') {
      const element = skip(btf, t.typeId);
      const flex = isFlexArray(btf, spec.accessors[spec.accessors.length - 1], t.nelems);
      if (!flex && index >= t.nelems) {
        fault(`array index ${index} out of range: ${describe(btf, id)} has ${t.nelems} elements`);
      }
      id = element.id;
      spec.accessors.push({ typeId: id, index, name: undefined });
      spec.bitOffset += index * sizeOf(btf, id) * 8;
    } else {
      fault(
        `access string element ${i} (${index}) steps into ${describe(btf, id)}, not a struct, union or array`,
      );
    }
  }
  return spec;
}

/**
 * Parse a relocation's access string against the local BTF (libbpf's `bpf_core_parse_spec`):
 * member and array indexes are checked against the types, and the field's bit offset computed.
 * Throws {@link CoreError} for a malformed string or an index out of range.
 */
export function parseCoreSpec(btf: Btf, relo: CoreReloInput, context: CoreErrorContext = {}): CoreSpec {
  return withContext(() => parseSpec(btf, relo), { ...reloContext(relo), ...context });
}

/**
 * Whether a local field's type fits a target field's (libbpf's `bpf_core_fields_are_compat`):
 * any two structs/unions, any two pointers or floats, ints that are not old-style bitfields,
 * enums and forward declarations of the same essential name (or one anonymous), arrays of
 * compatible elements of any length.
 */
export function coreFieldsAreCompatible(
  localBtf: Btf,
  localId: number,
  targetBtf: Btf,
  targetId: number,
): boolean {
  for (;;) {
    const l = skip(localBtf, localId);
    const t = skip(targetBtf, targetId);
    if (isComposite(l) && isComposite(t)) return true;
    if (!kindsCompatible(l, t)) return false;
    switch (l.kind) {
      case 'ptr':
      case 'float':
        return true;
      case 'fwd':
      case 'enum':
      case 'enum64': {
        const ln = coreEssentialName(l.name);
        const tn = coreEssentialName(t.name);
        return ln === '' || tn === '' || ln === tn;
      }
      case 'int':
        return l.bitsOffset === 0 && (t as typeof l).bitsOffset === 0;
      case 'array':
        localId = l.typeId;
        targetId = (t as typeof l).typeId;
        continue;
      default:
        return false;
    }
  }
}

/**
 * Find the target member named like the local accessor's, looking through anonymous members, and
 * extend the target spec with it. Returns the member's type id, or undefined when there is none
 * or it is incompatible.
 */
function matchMember(
  localBtf: Btf,
  local: CoreAccessor,
  targetBtf: Btf,
  targetId: number,
  spec: MutableSpec,
): number | undefined {
  const target = skip(targetBtf, targetId);
  targetId = target.id;
  if (!isComposite(target)) return undefined;
  const localType = typeAt(localBtf, local.typeId);
  if (!isComposite(localType))
    return fault(`accessor type ${describe(localBtf, local.typeId)} is not a struct or union`);
  const localMember = localType.members[local.index]!;
  for (let i = 0; i < target.members.length; i++) {
    const member = target.members[i]!;
    if (spec.raw.length === CORE_SPEC_MAX_LEN)
      fault(`target access path longer than ${CORE_SPEC_MAX_LEN} steps`);
    // Speculate that this member is the one, and undo it below if not.
    spec.bitOffset += member.bitsOffset;
    spec.raw.push(i);
    if (member.name === '') {
      const found = matchMember(localBtf, local, targetBtf, member.typeId, spec);
      if (found !== undefined) return found;
    } else if (member.name === localMember.name) {
      spec.accessors.push({ typeId: targetId, index: i, name: member.name });
      if (coreFieldsAreCompatible(localBtf, localMember.typeId, targetBtf, member.typeId))
        return member.typeId;
      // As libbpf: an incompatible namesake ends the search in this struct, and only the accessor
      // is undone (the speculated step stays, which matters only inside an anonymous member).
      spec.accessors.pop();
      return undefined;
    }
    spec.bitOffset -= member.bitsOffset;
    spec.raw.pop();
  }
  return undefined;
}

function matchSpec(local: CoreSpec, targetBtf: Btf, targetId: number): CoreSpec | undefined {
  const spec: MutableSpec = {
    btf: targetBtf,
    rootTypeId: targetId,
    kind: local.kind,
    accessors: [],
    raw: [],
    bitOffset: 0,
  };
  if (isTypeReloKind(local.kind)) {
    const ok =
      local.kind === 'type_matches'
        ? coreTypesMatch(local.btf, local.rootTypeId, targetBtf, targetId)
        : coreTypesAreCompatible(local.btf, local.rootTypeId, targetBtf, targetId);
    return ok ? spec : undefined;
  }
  if (isEnumvalReloKind(local.kind)) {
    const t = skip(targetBtf, targetId);
    if (!isAnyEnum(t)) return undefined;
    const name = coreEssentialName(local.accessors[0]!.name ?? '');
    const index = t.values.findIndex((v) => coreEssentialName(v.name) === name);
    if (index < 0) return undefined;
    spec.accessors.push({ typeId: t.id, index, name: t.values[index]!.name });
    spec.raw.push(index);
    return spec;
  }
  for (let i = 0; i < local.accessors.length; i++) {
    const accessor = local.accessors[i]!;
    const t = skip(targetBtf, targetId);
    targetId = t.id;
    if (accessor.name !== undefined) {
      const next = matchMember(local.btf, accessor, targetBtf, targetId, spec);
      if (next === undefined) return undefined;
      targetId = next;
      continue;
    }
    // The root (i = 0) is already the element type: `p->x` is `p[0].x`.
    if (i > 0) {
      if (t.kind !== 'array') return undefined;
      const flex = isFlexArray(targetBtf, spec.accessors[i - 1], t.nelems);
      if (!flex && accessor.index >= t.nelems) return undefined;
      targetId = skip(targetBtf, t.typeId).id;
    }
    if (spec.raw.length === CORE_SPEC_MAX_LEN)
      fault(`target access path longer than ${CORE_SPEC_MAX_LEN} steps`);
    spec.accessors.push({ typeId: targetId, index: accessor.index, name: undefined });
    spec.raw.push(accessor.index);
    spec.bitOffset += accessor.index * sizeOf(targetBtf, targetId) * 8;
  }
  return spec;
}

/**
 * Match a local spec against one candidate (libbpf's `bpf_core_spec_match`): the target spec, or
 * undefined when the candidate does not have the field, type or enumerator.
 */
export function matchCoreSpec(local: CoreSpec, targetBtf: Btf, targetId: number): CoreSpec | undefined {
  return withContext(() => matchSpec(local, targetBtf, targetId), {
    kind: local.kind,
    typeId: local.rootTypeId,
    accessStr: local.raw.join(':') || '0',
  });
}

// ---------------------------------------------------------------------------------------------
// Type compatibility

/**
 * Type compatibility for the type-based kinds (libbpf's `bpf_core_types_are_compat`); the root
 * names are assumed to match already. Modifiers and typedefs are skipped; structs, unions, enums
 * and forward declarations of the same kind are compatible; ints unless old-style bitfields;
 * pointers and arrays by their targets; function prototypes by arity, parameters and return type.
 */
export function coreTypesAreCompatible(
  localBtf: Btf,
  localId: number,
  targetBtf: Btf,
  targetId: number,
  level = MAX_DEPTH,
): boolean {
  if (!kindsCompatible(typeAt(localBtf, localId), typeAt(targetBtf, targetId))) return false;
  for (let depth = MAX_DEPTH; ; ) {
    if (--depth < 0) fault('type compatibility check nested too deep');
    const l = skip(localBtf, localId);
    const t = skip(targetBtf, targetId);
    if (!kindsCompatible(l, t)) return false;
    switch (l.kind) {
      case 'void':
      case 'struct':
      case 'union':
      case 'enum':
      case 'enum64':
      case 'fwd':
        return true;
      case 'int':
        return l.bitsOffset === 0 && (t as typeof l).bitsOffset === 0;
      case 'ptr':
        localId = l.typeId;
        targetId = (t as typeof l).typeId;
        continue;
      case 'array':
        localId = l.typeId;
        targetId = (t as typeof l).typeId;
        continue;
      case 'func_proto': {
        const tp = t as typeof l;
        if (l.params.length !== tp.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (level <= 0) fault('type compatibility check nested too deep');
          const lp = skip(localBtf, l.params[i]!.typeId).id;
          const tpid = skip(targetBtf, tp.params[i]!.typeId).id;
          if (!coreTypesAreCompatible(localBtf, lp, targetBtf, tpid, level - 1)) return false;
        }
        localId = skip(localBtf, l.returnTypeId).id;
        targetId = skip(targetBtf, tp.returnTypeId).id;
        continue;
      }
      default:
        // libbpf warns "unexpected kind relocated" and calls it incompatible (floats included).
        return false;
    }
  }
}

/** Names equal once flavors are cut; an anonymous target only matches an anonymous local. */
function namesMatch(local: string, target: string): boolean {
  if (target === '') return local === '';
  return coreEssentialName(local) === coreEssentialName(target);
}

/**
 * The type_matches relation (libbpf's `bpf_core_types_match`), stricter than compatibility: names
 * match at every level (flavors cut), kinds are the same (a struct or union behind a pointer may
 * match a forward declaration, enum may match enum64), ints agree in size and signedness, arrays
 * in length, every local member and enumerator has a namesake in the target, and function
 * prototypes agree parameter by parameter.
 */
export function coreTypesMatch(
  localBtf: Btf,
  localId: number,
  targetBtf: Btf,
  targetId: number,
  behindPointer = false,
  level = MAX_DEPTH,
): boolean {
  if (level <= 0) fault('type match check nested too deep');
  for (let depth = MAX_DEPTH; ; ) {
    if (--depth < 0) fault('type match check nested too deep');
    const l = skip(localBtf, localId);
    const t = skip(targetBtf, targetId);
    if (!namesMatch(l.name, t.name)) return false;
    switch (l.kind) {
      case 'void':
        return t.kind === 'void';
      case 'fwd':
        if (t.kind === 'fwd') return l.fwdKind === t.fwdKind;
        // A forward declaration only stands for a struct or union behind a pointer.
        return behindPointer && (t.kind === 'struct' || t.kind === 'union') && t.kind === l.fwdKind;
      case 'enum':
      case 'enum64': {
        if (!isAnyEnum(t) || l.size !== t.size || l.values.length > t.values.length) return false;
        return l.values.every((lv) => t.values.some((tv) => namesMatch(lv.name, tv.name)));
      }
      case 'struct':
      case 'union': {
        if (behindPointer) {
          if (t.kind === l.kind) return true;
          return t.kind === 'fwd' && t.fwdKind === l.kind;
        }
        if (t.kind !== l.kind || l.members.length > t.members.length) return false;
        return l.members.every((lm) =>
          t.members.some(
            (tm) =>
              namesMatch(lm.name, tm.name) &&
              coreTypesMatch(localBtf, lm.typeId, targetBtf, tm.typeId, behindPointer, level - 1),
          ),
        );
      }
      case 'int':
        return (
          t.kind === 'int' &&
          l.size === t.size &&
          (l.encoding & BTF_INT_SIGNED) === (t.encoding & BTF_INT_SIGNED)
        );
      case 'ptr':
        if (t.kind !== 'ptr') return false;
        behindPointer = true;
        localId = l.typeId;
        targetId = t.typeId;
        continue;
      case 'array':
        if (t.kind !== 'array' || l.nelems !== t.nelems) return false;
        localId = l.typeId;
        targetId = t.typeId;
        continue;
      case 'func_proto': {
        if (t.kind !== 'func_proto' || l.params.length !== t.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (
            !coreTypesMatch(
              localBtf,
              l.params[i]!.typeId,
              targetBtf,
              t.params[i]!.typeId,
              behindPointer,
              level - 1,
            )
          ) {
            return false;
          }
        }
        localId = l.returnTypeId;
        targetId = t.returnTypeId;
        continue;
      }
      default:
        return false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Values

interface Calc {
  value: bigint;
  /** Byte size of a non-bitfield field (field_byte_offset), for load/store size adjustment. */
  size: number;
  /** Its type id (typedefs skipped), to tell whether the size may be adjusted. */
  typeId: number;
  validate: boolean;
  poison: boolean;
}

function calcField(kind: CoreReloKind, spec: CoreSpec | undefined): Calc {
  const out: Calc = { value: 0n, size: 0, typeId: 0, validate: true, poison: false };
  if (kind === 'field_exists') {
    out.value = spec ? 1n : 0n;
    return out;
  }
  if (!spec) {
    out.poison = true;
    return out;
  }
  const btf = spec.btf;
  const accessor = spec.accessors[spec.accessors.length - 1]!;
  if (accessor.name === undefined) {
    // The path ends at an array element (or the root): only its offset and size mean anything.
    if (kind === 'field_byte_offset') {
      out.value = BigInt(Math.floor(spec.bitOffset / 8));
      out.size = sizeOf(btf, accessor.typeId);
      out.typeId = accessor.typeId;
    } else if (kind === 'field_byte_size') {
      out.value = BigInt(sizeOf(btf, accessor.typeId));
    } else {
      fault(`${kind} cannot be applied to an array element`);
    }
    return out;
  }
  const holder = typeAt(btf, accessor.typeId);
  if (!isComposite(holder))
    return fault(`accessor type ${describe(btf, accessor.typeId)} is not a struct or union`);
  const member = holder.members[accessor.index]!;
  const fieldType = skip(btf, member.typeId);
  const bitOff = spec.bitOffset;
  let bitSize = holder.kindFlag ? member.bitfieldSize : 0;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    // The smallest naturally aligned load, starting at the declared type's size, that covers
    // every bit of the bitfield.
    byteSize = 'size' in fieldType ? fieldType.size : 0;
    if (byteSize === 0)
      fault(`bitfield '${member.name}' of ${describeBtfType(fieldType)}, which has no size`);
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) fault(`bitfield '${member.name}' cannot be read with one 64-bit load`);
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = sizeOf(btf, fieldType.id);
    byteOff = Math.floor(bitOff / 8);
    bitSize = byteSize * 8;
  }
  // Where a compiler may pick a bitfield's load differently, the instruction's value is not checked.
  out.validate = !bitfield;
  switch (kind) {
    case 'field_byte_offset':
      out.value = BigInt(byteOff);
      if (!bitfield) {
        out.size = byteSize;
        out.typeId = fieldType.id;
      }
      break;
    case 'field_byte_size':
      out.value = BigInt(byteSize);
      break;
    case 'field_signed':
      out.value =
        (isAnyEnum(fieldType) && fieldType.signed) ||
        (fieldType.kind === 'int' && (fieldType.encoding & BTF_INT_SIGNED) !== 0)
          ? 1n
          : 0n;
      out.validate = true;
      break;
    case 'field_lshift_u64':
      // libbpf computes this for its host's byte order, which is the target kernel's.
      out.value = BigInt.asUintN(
        64,
        BigInt(
          btf.bigEndian ? (8 - byteSize) * 8 + (bitOff - byteOff * 8) : 64 - (bitOff + bitSize - byteOff * 8),
        ),
      );
      break;
    case 'field_rshift_u64':
      out.value = BigInt.asUintN(64, BigInt(64 - bitSize));
      out.validate = true;
      break;
    default:
      fault(`unsupported field relocation kind '${kind}'`);
  }
  return out;
}

function calcType(kind: CoreReloKind, spec: CoreSpec | undefined): Calc {
  const out: Calc = { value: 0n, size: 0, typeId: 0, validate: true, poison: false };
  if (!spec) return out;
  switch (kind) {
    case 'type_id_target':
      out.value = BigInt(spec.rootTypeId);
      // Linking may renumber types, so the id the compiler wrote proves nothing.
      out.validate = false;
      break;
    case 'type_exists':
    case 'type_matches':
      out.value = 1n;
      break;
    case 'type_size':
      out.value = BigInt(sizeOf(spec.btf, spec.rootTypeId));
      break;
    default:
      fault(`unsupported type relocation kind '${kind}'`);
  }
  return out;
}

function calcEnumval(kind: CoreReloKind, spec: CoreSpec | undefined): Calc {
  const out: Calc = { value: 0n, size: 0, typeId: 0, validate: true, poison: false };
  if (kind === 'enumval_exists') {
    out.value = spec ? 1n : 0n;
    return out;
  }
  if (!spec) {
    out.poison = true;
    return out;
  }
  const accessor = spec.accessors[0]!;
  const t = typeAt(spec.btf, accessor.typeId);
  if (t.kind === 'enum') {
    // A 32-bit enumerator is an s32 in BTF; libbpf widens it with sign extension either way.
    out.value = BigInt.asUintN(64, BigInt(t.values[accessor.index]!.value | 0));
  } else if (t.kind === 'enum64') {
    out.value = BigInt.asUintN(64, t.values[accessor.index]!.value);
  } else {
    fault(`enumerator accessor type ${describe(spec.btf, accessor.typeId)} is not an enum`);
  }
  return out;
}

type CalcResult = Omit<CoreResolution, 'localSpec' | 'targetSpec' | 'candidates' | 'matches'>;

function calcRelo(kind: CoreReloKind, local: CoreSpec, target: CoreSpec | undefined): CalcResult {
  let orig: Calc;
  let next: Calc;
  let failMemSizeAdjust = false;
  if (isFieldReloKind(kind)) {
    orig = calcField(kind, local);
    next = calcField(kind, target);
    if (!next.poison && orig.size !== next.size && target) {
      // Only a pointer (a 32-bit kernel's, read as a zero-extended 64-bit value) or an unsigned
      // integer keeps its value when the load is resized; anything else would be read wrong.
      const o = typeAt(local.btf, orig.typeId);
      const n = typeAt(target.btf, next.typeId);
      const pointers = o.kind === 'ptr' && n.kind === 'ptr';
      const unsigned =
        o.kind === 'int' &&
        n.kind === 'int' &&
        o.encoding !== BTF_INT_SIGNED &&
        n.encoding !== BTF_INT_SIGNED;
      failMemSizeAdjust = !pointers && !unsigned;
    }
  } else if (isTypeReloKind(kind)) {
    orig = calcType(kind, local);
    next = calcType(kind, target);
  } else if (isEnumvalReloKind(kind)) {
    orig = calcEnumval(kind, local);
    next = calcEnumval(kind, target);
  } else {
    return fault(`unrecognized relocation kind '${kind}'`);
  }
  return {
    kind,
    origValue: orig.value,
    newValue: next.poison ? 0n : next.value,
    poison: next.poison,
    validate: orig.validate,
    origSize: orig.size,
    newSize: next.poison ? 0 : next.size,
    failMemSizeAdjust,
  };
}

function reloContext(relo: CoreReloInput): CoreErrorContext {
  return { kind: relo.kind, typeId: relo.typeId, accessStr: relo.accessStr };
}

function withContext<T>(run: () => T, context: CoreErrorContext): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof CoreFault)
      throw new CoreError(error.message, context, { cause: error.cause ?? error });
    if (error instanceof CoreError) {
      throw new CoreError(error.reason, { ...context, ...definedFields(error) }, { cause: error.cause });
    }
    if (error instanceof BtfError) throw new CoreError(error.message, context, { cause: error });
    throw error;
  }
}

function definedFields(error: CoreError): CoreErrorContext {
  const out: { -readonly [K in keyof CoreErrorContext]: CoreErrorContext[K] } = {};
  if (error.program !== undefined) out.program = error.program;
  if (error.relo !== undefined) out.relo = error.relo;
  if (error.insn !== undefined) out.insn = error.insn;
  return out;
}

function resolve(relo: CoreReloInput, localBtf: Btf, targetBtf: Btf, options: CoreOptions): CoreResolution {
  const localType = typeAt(localBtf, relo.typeId);
  let localSpec: CoreSpec;
  try {
    localSpec = parseSpec(localBtf, relo);
  } catch (error) {
    if (error instanceof CoreFault) {
      fault(
        `parsing ${describe(localBtf, relo.typeId)} + '${relo.accessStr}' failed: ${error.message}`,
        error,
      );
    }
    throw error;
  }
  if (relo.kind === 'type_id_local') {
    // The object's own type id needs no target; linking may renumber it, so it is not checked.
    const id = BigInt(localSpec.rootTypeId);
    return {
      kind: relo.kind,
      origValue: id,
      newValue: id,
      poison: false,
      validate: false,
      origSize: 0,
      newSize: 0,
      failMemSizeAdjust: false,
      localSpec,
      targetSpec: undefined,
      candidates: [],
      matches: [],
    };
  }
  if (localType.name === '') fault(`<${relo.kind}> relocation of an anonymous type is not supported`);
  const cache = options.cache;
  let candidates = cache?.get(relo.typeId);
  if (candidates === undefined) {
    candidates = findCoreCandidates(localBtf, relo.typeId, targetBtf, options.moduleBtfs);
    cache?.set(relo.typeId, candidates);
  }
  const matches: CoreCandidate[] = [];
  let targetSpec: CoreSpec | undefined;
  let result: CalcResult | undefined;
  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    let spec: CoreSpec | undefined;
    try {
      spec = matchSpec(localSpec, candidate.btf, candidate.id);
    } catch (error) {
      if (error instanceof CoreFault) {
        fault(
          `error matching candidate #${i} ${describe(candidate.btf, candidate.id)}: ${error.message}`,
          error,
        );
      }
      throw error;
    }
    if (!spec) continue;
    const res = calcRelo(relo.kind, localSpec, spec);
    if (result === undefined || targetSpec === undefined) {
      result = res;
      targetSpec = spec;
    } else if (spec.bitOffset !== targetSpec.bitOffset) {
      fault(
        `field offset ambiguity: candidate ${describe(candidate.btf, candidate.id)} has bit offset ${spec.bitOffset}, ` +
          `${describe(targetSpec.btf, targetSpec.rootTypeId)} ${targetSpec.bitOffset}`,
      );
    } else if (res.poison !== result.poison || res.newValue !== result.newValue) {
      fault(
        `relocation decision ambiguity: candidate ${describe(candidate.btf, candidate.id)} gives ` +
          `${res.poison ? 'failure' : 'success'} ${res.newValue}, ` +
          `${describe(targetSpec.btf, targetSpec.rootTypeId)} ${result.poison ? 'failure' : 'success'} ${result.newValue}`,
      );
    }
    matches.push(candidate);
  }
  // As libbpf: the candidates that matched are all the next relocation of this type will try;
  // when none did (a field that exists only on some kernels), the list stays as it was.
  if (matches.length > 0) cache?.set(relo.typeId, matches);
  if (result === undefined) result = calcRelo(relo.kind, localSpec, undefined);
  return { ...result, localSpec, targetSpec, candidates, matches };
}

/**
 * Resolve one relocation against a target BTF (libbpf's `bpf_core_calc_relo_insn`): find the
 * candidates, match each, check they agree, and compute the local and target values. Throws
 * {@link CoreError} for a malformed relocation or an ambiguous result.
 */
export function resolveCoreRelo(
  relo: CoreReloInput,
  localBtf: Btf,
  targetBtf: Btf,
  options: CoreOptions = {},
): CoreResolution {
  return withContext(() => resolve(relo, localBtf, targetBtf, options), {
    ...reloContext(relo),
    ...options.context,
  });
}

// ---------------------------------------------------------------------------------------------
// Patching

/** `call 0xbad2310` at `slot`. */
function poisonInsn(slot: number): Insn {
  return makeInsn({ opcode: OPCODE_CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_HELPER }, slot);
}

function rebuild(insn: Insn, fields: Partial<Pick<Insn, 'opcode' | 'off' | 'imm'>>, imm2?: number): Insn {
  const raw = {
    opcode: fields.opcode ?? insn.opcode,
    dst: insn.dst,
    src: insn.src,
    off: fields.off ?? insn.off,
    imm: fields.imm ?? insn.imm,
  };
  try {
    return makeInsn(raw, insn.slot, imm2 ?? (insn.kind === 'lddw' ? insn.imm2 : 0));
  } catch (error) {
    return fault(
      `patched instruction is not valid: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
}

function patch(insn: Insn, res: CoreResolution): readonly Insn[] {
  const poison = (): readonly Insn[] =>
    // Both slots of a lddw, so the verifier does not stumble on a lone second half ("unknown opcode 00").
    insn.kind === 'lddw' ? [poisonInsn(insn.slot), poisonInsn(insn.slot + 1)] : [poisonInsn(insn.slot)];
  if (res.poison) return poison();
  const cls = insn.opcode & 0x07;
  const orig = res.origValue;
  const next = res.newValue;
  switch (cls) {
    case CLASS_ALU:
    case CLASS_ALU64: {
      if (insn.opcode & SOURCE_REG)
        fault(`ALU instruction with a register operand cannot take a <${res.kind}> value`);
      // The immediate is an s32 and libbpf compares it widened to 64 bits.
      if (res.validate && BigInt.asUintN(64, BigInt(insn.imm)) !== orig) {
        fault(`unexpected ALU immediate: got ${insn.imm}, expected ${orig} (-> ${next})`);
      }
      return [rebuild(insn, { imm: Number(BigInt.asIntN(32, next)) })];
    }
    case CLASS_LDX:
    case CLASS_ST:
    case CLASS_STX: {
      if (res.validate && BigInt.asUintN(64, BigInt(insn.off)) !== orig) {
        fault(`unexpected memory offset: got ${insn.off}, expected ${orig} (-> ${next})`);
      }
      if (next > SHRT_MAX) fault(`offset ${next} does not fit the 16-bit offset field`);
      if (res.failMemSizeAdjust) return poison();
      let opcode = insn.opcode;
      if (res.newSize !== res.origSize) {
        const current = sizeBytes[insn.opcode & 0x18];
        if (current !== res.origSize) {
          fault(`unexpected memory access size: got ${current} bytes, expected ${res.origSize}`);
        }
        const code = sizeCodeOf[res.newSize as AccessSize];
        if (code === undefined) fault(`target field size ${res.newSize} is not a load/store size`);
        opcode = (insn.opcode & 0xe0) | code | cls;
      }
      return [rebuild(insn, { opcode, off: Number(next) })];
    }
    case CLASS_LD: {
      if (insn.kind !== 'lddw' || insn.opcode !== OPCODE_LDDW || insn.src !== 0 || insn.off !== 0) {
        fault('64-bit immediate load has an unexpected form (pseudo source or offset set)');
      }
      if (res.validate && insn.value !== orig) {
        fault(`unexpected 64-bit immediate: got ${insn.value}, expected ${orig} (-> ${next})`);
      }
      const low = Number(BigInt.asIntN(32, next));
      const high = Number(BigInt.asIntN(32, next >> 32n));
      return [rebuild(insn, { imm: low }, high)];
    }
    default:
      return fault(
        `cannot relocate a ${insn.form.mnemonic} instruction (opcode 0x${insn.opcode.toString(16)})`,
      );
  }
}

/**
 * Patch one instruction with a resolution (libbpf's `bpf_core_patch_insn`): an ALU immediate, a
 * LDX/ST/STX offset (and size), or a `lddw` immediate, after checking the instruction holds the
 * local value; or poison it. Returns the replacement: one instruction, or two one-slot calls for
 * a poisoned `lddw`.
 */
export function patchCoreInsn(
  insn: Insn,
  resolution: CoreResolution,
  context: CoreErrorContext = {},
): readonly Insn[] {
  return withContext(() => patch(insn, resolution), { insn: insn.slot, kind: resolution.kind, ...context });
}

/**
 * Apply a program's CO-RE relocations against a target BTF (the running kernel's vmlinux BTF, as
 * libbpf does before loading). Returns the relocated instructions (slots unchanged; a poisoned
 * `lddw` becomes two one-slot calls, so instruction *indexes* after it shift by one) and what was
 * done for each relocation. Throws {@link CoreError} naming the program, relocation and
 * instruction for a relocation that cannot be applied.
 *
 * To match libbpf exactly across the programs of one object, pass one `cache` to every call and
 * relocate the programs in `.BTF.ext` order.
 */
export function applyCoreRelocations(
  program: ProgramSpec,
  localBtf: Btf,
  targetBtf: Btf,
  options: CoreOptions = {},
): { insns: Insn[]; results: CoreResult[] } {
  const cache = options.cache ?? new Map<number, readonly CoreCandidate[]>();
  // Replacements by slot; relocations apply in order, so a second one on the same instruction
  // sees the first's result, as libbpf patches in place.
  const bySlot = new Map<number, readonly Insn[]>();
  for (const insn of program.insns) bySlot.set(insn.slot, [insn]);
  const results: CoreResult[] = [];
  program.coreRelos.forEach((record, index) => {
    const context: CoreErrorContext = {
      program: program.name,
      relo: index,
      insn: record.slot,
      ...reloContext(record),
      ...options.context,
    };
    const current = bySlot.get(record.slot);
    if (current === undefined) {
      throw new CoreError(
        `no instruction starts at slot ${record.slot} (byte offset ${record.slot * SLOT_SIZE})`,
        context,
      );
    }
    const before = current[0]!;
    const resolution = resolveCoreRelo(record, localBtf, targetBtf, { ...options, cache, context });
    const after = patchCoreInsn(before, resolution, context);
    bySlot.set(record.slot, [...after, ...current.slice(1)]);
    const poisoned =
      after.some((i) => i.kind === 'call' && i.imm === CORE_POISON_HELPER) && !isPoison(before);
    results.push({ relo: index, record, resolution, poisoned, before, after });
  });
  const insns: Insn[] = [];
  for (const insn of program.insns) {
    const replaced = bySlot.get(insn.slot)!;
    // A poisoned lddw's second call already stands in for the slot after it.
    insns.push(...replaced);
  }
  return { insns, results };
}

function isPoison(insn: Insn): boolean {
  return insn.kind === 'call' && insn.imm === CORE_POISON_HELPER && insn.src === 0;
}
