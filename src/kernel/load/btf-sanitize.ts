/**
 * Making an object's BTF acceptable to the running kernel before `BPF_BTF_LOAD`, as libbpf does in
 * `bpf_object__sanitize_btf` and `bpf_object__collect_externs`:
 *
 * 1. **Extern fix-ups** (every kernel): the kernel rejects `extern` linkage on VARs and FUNCs, and
 *    DATASEC members that are not VARs. `.kconfig` externs become allocated variables at the
 *    offsets the loader gives them; `.ksyms` variables become 4-byte ints and kfunc declarations a
 *    dummy VAR, so the DATASECs pass the kernel's checks.
 * 2. **Kind sanitisation** (older kernels): each BTF feature the kernel lacks has one row in
 *    {@link BTF_FEATURES}: a probe (the smallest BTF that uses it) and a rewrite of the types that
 *    need it into older kinds of the same meaning for the verifier (FLOAT → empty STRUCT,
 *    TYPE_TAG → CONST, ENUM64 → UNION…). Type ids never change, so the map key/value ids and
 *    `func_info` records written against the original BTF stay valid.
 *
 * Strings are only ever appended, so every existing string offset (line info uses them) holds.
 */
import {
  BTF_HEADER_SIZE,
  BTF_INT_SIGNED,
  BTF_MAGIC,
  BTF_VERSION,
  Btf,
  type BtfDatasec,
  type BtfFuncProto,
  type BtfInt,
  type BtfType,
  type BtfVar,
} from '../../object/btf.js';
import { bpfTry } from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';

/** A BTF feature that appeared after BTF itself (4.18). */
export type BtfFeatureName =
  | 'func'
  | 'globalFunc'
  | 'datasec'
  | 'qmarkDatasec'
  | 'float'
  | 'declTag'
  | 'typeTag'
  | 'enum64'
  | 'tagKindFlag';

/** Which BTF features this kernel accepts; `btf` is BTF at all. */
export type BtfFeatures = Readonly<Record<BtfFeatureName | 'btf', boolean>>;

/** A kernel that accepts everything this module knows (what 6.14 and later accept). */
export const ALL_BTF_FEATURES: BtfFeatures = {
  btf: true,
  func: true,
  globalFunc: true,
  datasec: true,
  qmarkDatasec: true,
  float: true,
  declTag: true,
  typeTag: true,
  enum64: true,
  tagKindFlag: true,
};

/** What a rewrite may need beyond the type itself. */
interface RewriteContext {
  readonly btf: Btf;
  /** Append a string; returns its offset. */
  addString(text: string): number;
  /** Append a type (after every existing one); returns its id. */
  addType(make: (id: number) => BtfType): number;
  /** An id of a 1-byte INT named `enum64_placeholder`, added once on first use. */
  enum64Placeholder(): number;
}

/** One row: a feature, its probe, and what to do with types that need it on a kernel without it. */
interface BtfFeatureRow {
  readonly feature: BtfFeatureName;
  /** The kernel version that introduced it. */
  readonly since: string;
  /** Raw probe BTF: type records (u32 words) and the string section. */
  readonly probe: { readonly types: readonly number[]; readonly strings: string };
  /** The replacement of `t`, or undefined when `t` does not use the feature. */
  rewrite(t: BtfType, ctx: RewriteContext): BtfType | undefined;
}

/** `info` word of a type record. */
const info = (kind: number, vlen: number, kindFlag = false): number =>
  ((kindFlag ? 1 : 0) << 31) | (kind << 24) | vlen;
/** `int` named at string offset `name`, 4 bytes signed. */
const INT = (name = 0): number[] => [name, info(1, 0), 4, (BTF_INT_SIGNED << 24) | 32];

/**
 * The rows, in the order libbpf applies them. Probes follow libbpf's `probe_kern_btf_*`: each is
 * a complete BTF blob that only a kernel with the feature loads.
 */
export const BTF_FEATURES: readonly BtfFeatureRow[] = [
  {
    feature: 'datasec',
    since: '5.2',
    // [1] int, [2] VAR x (global), [3] DATASEC .data { x }
    probe: { types: [...INT(), 1, info(14, 0), 1, 1, 3, info(15, 1), 4, 2, 0, 4], strings: '\0x\0.data\0' },
    rewrite(t, ctx) {
      // VAR → a 1-byte INT of the same name; DATASEC → a STRUCT whose members are the variables.
      if (t.kind === 'var') return int(t.id, t.nameOff, t.name, 1, 8);
      if (t.kind !== 'datasec') return undefined;
      const name = t.name.replace(/[.?]/g, '_');
      return {
        kind: 'struct',
        id: t.id,
        name,
        nameOff: ctx.addString(name),
        size: t.size,
        kindFlag: false,
        members: t.vars.map((v) => {
          const variable = ctx.btf.typeById(v.typeId);
          return {
            name: variable.name,
            nameOff: variable.kind === 'void' ? 0 : variable.nameOff,
            typeId: v.typeId,
            bitsOffset: v.offset * 8,
            bitfieldSize: 0,
          };
        }),
      };
    },
  },
  {
    feature: 'qmarkDatasec',
    since: '5.19',
    probe: { types: [...INT(), 1, info(14, 0), 1, 1, 3, info(15, 1), 4, 2, 0, 4], strings: '\0x\0?.data\0' },
    rewrite(t, ctx) {
      if (t.kind !== 'datasec' || !t.name.includes('?')) return undefined;
      const name = t.name.replace(/\?/g, '_');
      return { ...t, name, nameOff: ctx.addString(name) };
    },
  },
  {
    feature: 'func',
    since: '5.0',
    // [1] int, [2] FUNC_PROTO int(void), [3] FUNC x (static)
    probe: { types: [...INT(), 0, info(13, 0), 1, 1, info(12, 0), 2], strings: '\0x\0' },
    rewrite(t) {
      // FUNC_PROTO → ENUM (a param and an enumerator are both 8 bytes: what libbpf relies on),
      // FUNC → TYPEDEF of it.
      if (t.kind === 'func_proto') {
        return {
          kind: 'enum',
          id: t.id,
          name: t.name,
          nameOff: t.nameOff,
          size: 4,
          signed: false,
          values: t.params.map((p) => ({ name: p.name, nameOff: p.nameOff, value: 0 })),
        };
      }
      if (t.kind === 'func')
        return { kind: 'typedef', id: t.id, name: t.name, nameOff: t.nameOff, typeId: t.typeId };
      return undefined;
    },
  },
  {
    feature: 'globalFunc',
    since: '5.6',
    probe: { types: [...INT(), 0, info(13, 0), 1, 1, info(12, 1), 2], strings: '\0x\0' },
    rewrite(t) {
      return t.kind === 'func' && t.linkage === 'global' ? { ...t, linkage: 'static' } : undefined;
    },
  },
  {
    feature: 'float',
    since: '5.13',
    probe: { types: [1, info(16, 0), 4], strings: '\0float\0' },
    rewrite(t) {
      // An anonymous empty STRUCT of the same size: `float` is no valid struct name.
      if (t.kind !== 'float') return undefined;
      return { kind: 'struct', id: t.id, name: '', nameOff: 0, size: t.size, kindFlag: false, members: [] };
    },
  },
  {
    feature: 'declTag',
    since: '5.16',
    // [1] int, [2] VAR x, [3] DECL_TAG tag → [2]
    probe: { types: [...INT(), 1, info(14, 0), 1, 1, 3, info(17, 0), 2, -1 >>> 0], strings: '\0x\0tag\0' },
    rewrite(t) {
      // A DECL_TAG record is exactly as long as an INT one.
      return t.kind === 'decl_tag' ? int(t.id, 0, '', 1, 8) : undefined;
    },
  },
  {
    feature: 'typeTag',
    since: '5.17',
    // [1] int, [2] TYPE_TAG tag → [1], [3] PTR → [2]
    probe: { types: [...INT(), 1, info(18, 0), 1, 0, info(2, 0), 2], strings: '\0tag\0' },
    rewrite(t) {
      return t.kind === 'type_tag'
        ? { kind: 'const', id: t.id, name: '', nameOff: 0, typeId: t.typeId }
        : undefined;
    },
  },
  {
    feature: 'enum64',
    since: '6.0',
    // [1] ENUM64 e { v = 1 << 32 }
    probe: { types: [1, info(19, 1), 8, 3, 0, 1], strings: '\0e\0v\0' },
    rewrite(t, ctx) {
      // ENUM's kind_flag (signedness) came with ENUM64; an ENUM64 becomes a UNION of placeholders.
      if (t.kind === 'enum' && t.signed) return { ...t, signed: false };
      if (t.kind !== 'enum64') return undefined;
      const placeholder = ctx.enum64Placeholder();
      return {
        kind: 'union',
        id: t.id,
        name: t.name,
        nameOff: t.nameOff,
        size: t.size,
        kindFlag: false,
        members: t.values.map((v) => ({
          name: v.name,
          nameOff: v.nameOff,
          typeId: placeholder,
          bitsOffset: 0,
          bitfieldSize: 0,
        })),
      };
    },
  },
  {
    feature: 'tagKindFlag',
    since: '6.14',
    probe: {
      types: [...INT(), 1, info(14, 0), 1, 1, 3, info(17, 0, true), 2, -1 >>> 0],
      strings: '\0x\0tag\0',
    },
    rewrite(t) {
      // A plain `__attribute__` tag read as a btf_decl_tag/btf_type_tag: harmless to the verifier.
      if ((t.kind === 'decl_tag' || t.kind === 'type_tag') && t.attribute) return { ...t, attribute: false };
      return undefined;
    },
  },
];

function int(id: number, nameOff: number, name: string, size: number, bits: number): BtfInt {
  return { kind: 'int', id, name, nameOff, size, encoding: 0, bitsOffset: 0, nrBits: bits };
}

/** A raw little-endian BTF blob from type words and a string section. */
export function rawBtf(types: readonly number[], strings: string): Uint8Array {
  const text = new TextEncoder().encode(strings);
  const bytes = new Uint8Array(new ArrayBuffer(BTF_HEADER_SIZE + types.length * 4 + text.length));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, BTF_MAGIC, true);
  view.setUint8(2, BTF_VERSION);
  view.setUint32(4, BTF_HEADER_SIZE, true);
  view.setUint32(12, types.length * 4, true);
  view.setUint32(16, types.length * 4, true);
  view.setUint32(20, text.length, true);
  types.forEach((word, i) => {
    view.setUint32(BTF_HEADER_SIZE + i * 4, word >>> 0, true);
  });
  bytes.set(text, BTF_HEADER_SIZE + types.length * 4);
  return bytes;
}

/** Whether the kernel loads this BTF blob (the fd is closed at once). */
function loads(sys: Sys, blob: Uint8Array): boolean {
  const call = bpfTry(sys, 'BTF_LOAD', { btf: blob, btf_size: blob.length });
  if (call.error) {
    // EPERM says nothing about the kernel's BTF support: let the caller see it.
    if (call.error.is('EPERM')) throw call.error;
    return false;
  }
  sys.close(call.result);
  return true;
}

const probed = new WeakMap<Sys, BtfFeatures>();

/**
 * Probe which BTF features the kernel accepts (one `BTF_LOAD` per row, cached per {@link Sys}).
 * Throws the EPERM error when BTF loads are not permitted at all.
 */
export function probeBtfFeatures(options: { sys?: Sys } = {}): BtfFeatures {
  const sys = getSys(options.sys);
  const cached = probed.get(sys);
  if (cached) return cached;
  const features: Record<string, boolean> = { btf: loads(sys, rawBtf(INT(), '\0')) };
  for (const row of BTF_FEATURES)
    features[row.feature] = features.btf && loads(sys, rawBtf(row.probe.types, row.probe.strings));
  const result = features as BtfFeatures;
  probed.set(sys, result);
  return result;
}

/** How the loader laid out the externs, for {@link fixupExterns}. */
export interface ExternLayout {
  /** `.kconfig` variables by name: offset and size in the `.kconfig` map's value. */
  readonly kconfig: ReadonlyMap<string, { readonly offset: number; readonly size: number }>;
  /** Total size of the `.kconfig` map's value. */
  readonly kconfigSize: number;
}

/** A {@link Btf} under construction: types replaced by id, strings and types appended. */
class BtfEditor implements RewriteContext {
  readonly btf: Btf;
  readonly types: BtfType[];
  readonly #strings: number[] = [];
  #stringBytes: Uint8Array[] = [];
  #stringLength: number;
  #placeholder = 0;
  #changed = false;

  constructor(btf: Btf) {
    this.btf = btf;
    this.types = [...btf.types];
    this.#stringLength = btf.strings.bytes.length;
  }

  get changed(): boolean {
    return this.#changed;
  }

  set(t: BtfType): void {
    this.types[t.id - this.btf.firstTypeId] = t;
    this.#changed = true;
  }

  get(id: number): BtfType | undefined {
    return this.types[id - this.btf.firstTypeId];
  }

  addString(text: string): number {
    if (text === '') return 0;
    const bytes = new TextEncoder().encode(`${text}\0`);
    const offset = this.btf.strings.start + this.#stringLength;
    this.#stringBytes.push(bytes);
    this.#strings.push(offset);
    this.#stringLength += bytes.length;
    this.#changed = true;
    return offset;
  }

  addType(make: (id: number) => BtfType): number {
    const id = this.btf.firstTypeId + this.types.length;
    this.types.push(make(id));
    this.#changed = true;
    return id;
  }

  enum64Placeholder(): number {
    if (this.#placeholder === 0) {
      const nameOff = this.addString('enum64_placeholder');
      this.#placeholder = this.addType((id) => int(id, nameOff, 'enum64_placeholder', 1, 8));
    }
    return this.#placeholder;
  }

  /** An existing 4-byte signed INT, or a new `int`. */
  intType(): number {
    const found = this.types.find(
      (t) => t.kind === 'int' && t.size === 4 && t.nrBits === 32 && t.encoding === BTF_INT_SIGNED,
    );
    if (found) return found.id;
    const nameOff = this.addString('int');
    return this.addType((id) => ({ ...int(id, nameOff, 'int', 4, 32), encoding: BTF_INT_SIGNED }));
  }

  build(): Btf {
    if (!this.#changed) return this.btf;
    const own = this.btf.strings.bytes;
    const strings = new Uint8Array(this.#stringLength);
    strings.set(own);
    let at = own.length;
    for (const bytes of this.#stringBytes) {
      strings.set(bytes, at);
      at += bytes.length;
    }
    return new Btf({
      header: this.btf.header,
      bigEndian: this.btf.bigEndian,
      base: this.btf.base,
      strings,
      types: this.types,
    });
  }
}

/**
 * Give `extern` VARs and FUNCs a shape the kernel accepts (libbpf's extern handling in
 * `bpf_object__collect_externs`): the kernel rejects the `extern` linkage, a DATASEC member that
 * is not a VAR, a DATASEC of size 0, and a global FUNC whose parameters have no names.
 */
export function fixupExterns(btf: Btf, layout: ExternLayout): Btf {
  const editor = new BtfEditor(btf);
  const datasec = (name: string): BtfDatasec | undefined =>
    editor.types.find((t): t is BtfDatasec => t.kind === 'datasec' && t.name === name);

  const kconfig = datasec('.kconfig');
  if (kconfig) {
    const vars = kconfig.vars
      .map((v) => {
        const variable = editor.get(v.typeId);
        const place = variable ? layout.kconfig.get(variable.name) : undefined;
        if (variable?.kind === 'var') editor.set({ ...variable, linkage: 'global' });
        return place ? { typeId: v.typeId, offset: place.offset, size: place.size } : v;
      })
      .sort((a, b) => a.offset - b.offset);
    editor.set({ ...kconfig, size: Math.max(layout.kconfigSize, 1), vars });
  }

  const ksyms = datasec('.ksyms');
  if (ksyms && ksyms.vars.length > 0) {
    const intId = editor.intType();
    let dummyVar = 0;
    let dummyName = 0;
    const vars = ksyms.vars.map((v, i) => {
      const target = editor.get(v.typeId);
      let typeId = v.typeId;
      if (target?.kind === 'var') {
        editor.set({ ...target, linkage: 'global', typeId: intId });
      } else if (target?.kind === 'func') {
        if (dummyVar === 0) {
          dummyName = editor.addString('dummy_ksym');
          dummyVar = editor.addType(
            (id): BtfVar => ({
              kind: 'var',
              id,
              name: 'dummy_ksym',
              nameOff: dummyName,
              typeId: intId,
              linkage: 'global',
            }),
          );
        }
        typeId = dummyVar;
      }
      return { typeId, offset: i * 4, size: 4 };
    });
    editor.set({ ...ksyms, size: vars.length * 4, vars });
  }

  // Every extern FUNC (a kfunc declaration): global linkage, named parameters.
  for (const t of [...editor.types]) {
    if (t.kind === 'var' && t.linkage === 'extern') editor.set({ ...t, linkage: 'global' });
    if (t.kind !== 'func' || t.linkage !== 'extern') continue;
    editor.set({ ...t, linkage: 'global' });
    const proto = editor.get(t.typeId);
    if (proto?.kind !== 'func_proto' || proto.params.every((p) => p.nameOff !== 0 || p.typeId === 0))
      continue;
    const named: BtfFuncProto = {
      ...proto,
      params: proto.params.map((p, i) =>
        p.nameOff !== 0 || p.typeId === 0
          ? p
          : { ...p, name: `arg${i}`, nameOff: editor.addString(`arg${i}`) },
      ),
    };
    editor.set(named);
  }
  return editor.build();
}

/**
 * Mark the BTF FUNCs of hidden subprograms static, as libbpf does (`mark_btf_static` in
 * `bpf_object__add_programs`, applied before the BTF is loaded): a `__weak __hidden` or
 * `__hidden` global function in `.text` (libbpf's own `bpf_usdt_arg`, for one) is verified by
 * the kernel with its caller's context when static, but alone as a global function otherwise,
 * which rejects code libbpf loads (`R6 invalid mem access 'mem_or_null'`).
 */
export function markHiddenStatic(btf: Btf, names: ReadonlySet<string>): Btf {
  if (names.size === 0) return btf;
  const editor = new BtfEditor(btf);
  for (const t of editor.types)
    if (t.kind === 'func' && t.linkage === 'global' && names.has(t.name))
      editor.set({ ...t, linkage: 'static' });
  return editor.build();
}

/** What {@link sanitizeBtf} did. */
export interface SanitizeResult {
  readonly btf: Btf;
  /** One line per feature the kernel lacked and the object used, e.g. `FLOAT (since 5.13): 2 types rewritten`. */
  readonly changes: readonly string[];
}

/**
 * Rewrite the types that use features the kernel lacks (see {@link BTF_FEATURES}). Type ids are
 * kept; new types and strings are only appended.
 */
export function sanitizeBtf(btf: Btf, features: BtfFeatures): SanitizeResult {
  const editor = new BtfEditor(btf);
  const changes: string[] = [];
  for (const row of BTF_FEATURES) {
    if (features[row.feature]) continue;
    let count = 0;
    const existing = editor.types.length;
    for (let i = 0; i < existing; i++) {
      const t = editor.types[i]!;
      const replacement = row.rewrite(t, editor);
      if (replacement) {
        editor.set(replacement);
        count++;
      }
    }
    if (count > 0) changes.push(`${row.feature} (since ${row.since}): ${count} types rewritten`);
  }
  return { btf: editor.build(), changes };
}
