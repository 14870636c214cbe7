/**
 * BTF as a C header: {@link dumpBtfC} turns a BTF (an object's, or the kernel's
 * `/sys/kernel/btf/vmlinux`) into the declarations `bpftool btf dump file X format c` prints, the
 * `vmlinux.h` a CO-RE BPF program includes.
 *
 * Three problems make this more than printing each type:
 *
 * - **Order.** C wants a struct or union complete before it is embedded by value, and a typedef
 *   declared before it is named; a pointer only needs a forward declaration (`struct foo;`). Types
 *   are visited in id order; each visit first walks, depth first, everything the type needs
 *   complete (its "strong" references) and queues the named definitions in the order C needs them.
 *   A reference through a pointer to a named struct is "weak": it stops the walk, so cycles
 *   (`struct list_head { struct list_head *next; }`) break there, and the struct gets a forward
 *   declaration when it is named before its definition. An anonymous struct is written inline
 *   where it is used, so it is strong even behind a pointer.
 * - **Layout.** BTF gives every member's bit offset and the struct's size, but C decides offsets
 *   itself. We lay out each struct as clang would for the BPF target (natural alignment, the
 *   SysV bitfield rules), and where clang would place a member before its BTF offset we insert
 *   anonymous bitfields (`long: 64;`) that push it there. When no padding can make natural layout
 *   agree (a misaligned member, a size that is not a multiple of the alignment), the struct is
 *   written `__attribute__((packed))` and padded exactly.
 * - **Declarators.** C writes types inside out (`int (*cb[4])(char *)`), with qualifiers left of a
 *   base type but right of a `*`. A declaration is built from the chain of BTF types from the
 *   outside in, then written from the base type out.
 *
 * Names that would collide in C (two `struct foo`, or a typedef and an enumerator both named
 * `bar`) get `___2`, `___3`… in the order they are first written, as bpftool does.
 *
 * BTF is untrusted input, so before writing anything the type graph is checked once, without
 * recursion: a chain of types that loops without passing through a named struct behind a pointer
 * (`const` of itself, a typedef of a pointer to itself) has no C spelling, a chain deeper than
 * {@link MAX_TYPE_DEPTH} none a compiler would take, and a declaration whose inline expansion
 * (anonymous structs, function prototypes) exceeds {@link MAX_INLINE_TYPES} grows exponentially
 * with nesting: each is a {@link BtfError}, as is output beyond {@link DumpBtfCOptions.maxOutputBytes}
 * (a 2 GiB struct is 2.7 GB of `long: 64;`). Runs of padding are counted, not listed, until written.
 *
 * Where bpftool 7.1 (libbpf 1.1) writes a header whose layouts differ from the BTF, we do not
 * follow it: a 1-, 2- or 8-byte enum gets a GCC `mode` attribute (without it every `struct inode`
 * embedding a 1-byte `enum rw_hint` comes out the wrong size), and the kernel's `va_list` is
 * spelled out (`struct __va_list_tag[1]`) rather than named after the BPF target's builtin.
 */
import {
  type Btf,
  type BtfConst,
  type BtfEnum,
  type BtfEnum64,
  BtfError,
  type BtfRestrict,
  type BtfStruct,
  type BtfType,
  type BtfTypeTag,
  type BtfUnion,
  type BtfVolatile,
} from './btf.js';

/** Options of {@link dumpBtfC}. */
export interface DumpBtfCOptions {
  /** The include guard macro; `__VMLINUX_H__` by default, as bpftool. */
  readonly guard?: string;
  /**
   * Wrap the types in `#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)`
   * (unless the includer defines `BPF_NO_PRESERVE_ACCESS_INDEX`), so every field access through
   * them is a CO-RE relocation. Default true, as bpftool.
   */
  readonly preserveAccessIndex?: boolean;
  /** The most characters the header may have; more is a {@link BtfError}. Default 16 MiB. */
  readonly maxOutputBytes?: number;
}

/**
 * Default of {@link DumpBtfCOptions.maxOutputBytes}: about 6× the vmlinux.h of Linux 6.18 (2.8 MB),
 * and at most a few seconds of writing for BTF built to blow up (nested anonymous types).
 */
export const DEFAULT_MAX_C_OUTPUT = 16 * 1024 * 1024;
/**
 * The longest chain of types one declaration may need (members by value, modifiers, pointers to
 * anonymous types, prototypes). The kernel refuses modifier chains over 32 (`MAX_RESOLVE_DEPTH`);
 * real struct nesting stays far below this.
 */
export const MAX_TYPE_DEPTH = 1024;
/** The most types one declaration may write inline (anonymous structs and prototypes included). */
export const MAX_INLINE_TYPES = 1_000_000;

/**
 * A C header declaring every type of `btf` (and of its base, for split BTF): structs, unions,
 * enums, typedefs and forward declarations, in an order C accepts, with the layout of every struct
 * equal to the BTF's when compiled by clang for the BPF target. FUNC, VAR and DATASEC are not
 * types and are left out, as bpftool does.
 *
 * Throws a {@link BtfError} for BTF no C can express (a cycle of types embedding each other by
 * value, a modifier or typedef loop), and for BTF whose header would be unreasonably deep or big
 * (see the module comment); never anything else, however malformed the graph.
 */
export function dumpBtfC(btf: Btf, options: DumpBtfCOptions = {}): string {
  return new CDumper(btf, options.maxOutputBytes ?? DEFAULT_MAX_C_OUTPUT).dump(
    options.guard ?? '__VMLINUX_H__',
    options.preserveAccessIndex ?? true,
  );
}

type Composite = BtfStruct | BtfUnion;
type AnyEnum = BtfEnum | BtfEnum64;

/** Order states of a type while queueing definitions (0: not visited yet). */
const ORDERING = 1;
const ORDERED = 2;
/** Emit states of a type while writing definitions. */
const NOT_EMITTED = 0;
const EMITTING = 1;
const EMITTED = 2;

/**
 * An anonymous bitfield that moves the next member (or the struct's end) to its BTF offset,
 * `count` times in a row (a run of `long: 64;` is counted, not listed: a huge gap stays small
 * until it is written).
 */
interface Padding {
  readonly type: 'long' | 'int' | 'short' | 'char';
  readonly bits: number;
  readonly count?: number;
}

/** How a struct or union is written: its members in order, with padding between them. */
interface Layout {
  readonly packed: boolean;
  /** `__attribute__((aligned(N)))` on a union that is bigger than its members (0: none). */
  readonly aligned: number;
  /** Alignment in bytes of the type as written. */
  readonly align: number;
  /** A member index, or a padding bitfield before the next member. */
  readonly items: readonly (number | Padding)[];
}

/** The unit types padding bitfields are made of, widest first. */
const PAD_UNITS: readonly Padding[] = [
  { type: 'long', bits: 64 },
  { type: 'int', bits: 32 },
  { type: 'short', bits: 16 },
  { type: 'char', bits: 8 },
];

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * Where clang puts a bitfield of `width` bits, declared with a type of `sizeBits` and
 * `alignBits`, when the previous member ends at bit `cur`: a bitfield may not straddle a unit of
 * its type, unless the struct is packed.
 */
function placeBitfield(
  cur: number,
  width: number,
  sizeBits: number,
  alignBits: number,
  packed: boolean,
): number {
  if (packed) return cur;
  return (cur % alignBits) + width > sizeBits ? roundUp(cur, alignBits) : cur;
}

/**
 * Anonymous bitfields that take the layout from bit `cur` to exactly bit `end`. Each is placed by
 * the same rule as any bitfield, so a full-width `long: 64` at an unaligned offset skips to the
 * next 64-bit boundary by itself: the implicit part of the gap needs no line.
 */
function padding(cur: number, end: number, packed: boolean): Padding[] {
  const pads: Padding[] = [];
  next: while (cur < end) {
    const gap = end - cur;
    // The whole gap in one bitfield that does not straddle a unit: `int: 31;`.
    for (let i = PAD_UNITS.length - 1; i >= 0; i--) {
      const unit = PAD_UNITS[i]!;
      if (gap <= unit.bits && placeBitfield(cur, gap, unit.bits, unit.bits, packed) === cur) {
        pads.push({ type: unit.type, bits: gap });
        break next;
      }
    }
    // A long run of whole longs from a long boundary (or from anywhere, packed: nothing aligns
    // them there): all but the last in one item (the last part of the gap is then a single
    // bitfield, as the loop would have found it).
    if (gap > 128 && (cur % 64 === 0 || packed)) {
      const count = Math.ceil(gap / 64) - 1;
      pads.push({ type: 'long', bits: 64, count });
      cur += count * 64;
      continue;
    }
    // Else the widest whole unit that ends in the gap, wherever clang aligns it.
    for (const unit of PAD_UNITS) {
      const start = placeBitfield(cur, unit.bits, unit.bits, unit.bits, packed);
      if (start + unit.bits <= end) {
        pads.push(unit);
        cur = start + unit.bits;
        continue next;
      }
    }
    // Else fill the current byte, which never straddles.
    const bits = 8 - (cur % 8);
    pads.push({ type: 'char', bits });
    cur += bits;
  }
  return pads;
}

/** The largest power of two that divides `n` (n > 0), capped at 16 (clang's largest natural alignment). */
function naturalAlign(size: number): number {
  let a = 1;
  while (a < 16 && size % (a * 2) === 0) a *= 2;
  return a;
}

class CDumper {
  readonly #btf: Btf;
  readonly #count: number;
  readonly #orderState: Uint8Array;
  readonly #emitState: Uint8Array;
  /** A forward declaration (struct, union) or the typedef itself was written ahead of its turn. */
  readonly #fwdEmitted: Uint8Array;
  /** Some other type refers to this one: an anonymous enum is then written inline, not alone. */
  readonly #referenced: Uint8Array;
  /** The C name of each named type once first written (with a `___N` suffix on a collision). */
  readonly #names: (string | undefined)[];
  /** Struct, union and enum tags written so far, and how many times each. */
  readonly #tagNames = new Map<string, number>();
  /** Ordinary identifiers (typedef names, enumerators) written so far, and how many times each. */
  readonly #identNames = new Map<string, number>();
  readonly #layouts = new Map<number, Layout>();
  readonly #aligns: Uint8Array;
  #queue: number[] = [];
  readonly #out: string[] = [];
  /** Characters written or built so far, against {@link DumpBtfCOptions.maxOutputBytes}. */
  #spent = 0;
  readonly #maxOutput: number;

  constructor(btf: Btf, maxOutput: number) {
    this.#btf = btf;
    this.#maxOutput = maxOutput;
    this.#count = btf.typeCount;
    this.#orderState = new Uint8Array(this.#count);
    this.#emitState = new Uint8Array(this.#count);
    this.#fwdEmitted = new Uint8Array(this.#count);
    this.#referenced = new Uint8Array(this.#count);
    this.#aligns = new Uint8Array(this.#count);
    this.#names = new Array(this.#count);
  }

  #type(id: number): BtfType {
    const t = this.#btf.typeById(id);
    if (t.kind === 'void')
      throw new BtfError('dump BTF as C: type 0 (void) used as a type record', { typeId: 0 });
    return t;
  }

  /** Count `n` more characters of output, or throw once they exceed the limit. */
  #spend(n: number): void {
    this.#spent += n;
    if (this.#spent > this.#maxOutput)
      throw new BtfError(`dump BTF as C: the header would exceed ${this.#maxOutput} bytes`);
  }

  /**
   * Check the type graph before any recursion over it (see the module comment): no loop the
   * writer could follow forever, no chain deeper than {@link MAX_TYPE_DEPTH}, no declaration
   * writing more than {@link MAX_INLINE_TYPES} types inline. Iterative, linear in the graph.
   *
   * The order graph has a node per (type, reached through a pointer) and the edges
   * {@link CDumper.order} follows; a named struct or union behind a pointer ends a path there, so
   * `struct list_head { struct list_head *next; }` is no loop.
   */
  #checkGraph(): void {
    const btf = this.#btf;
    const orderEdges = (node: number): number[] => {
      const id = node >> 1;
      const ptr = node & 1;
      const t = btf.typeById(id);
      switch (t.kind) {
        case 'ptr':
          return [t.typeId * 2 + 1];
        case 'array':
          return [t.typeId * 2];
        case 'struct':
        case 'union':
          return ptr && t.name !== '' ? [] : t.members.map((m) => m.typeId * 2);
        case 'typedef':
        case 'const':
        case 'volatile':
        case 'restrict':
        case 'type_tag':
          return [t.typeId * 2 + ptr];
        case 'func_proto':
          return [t.returnTypeId * 2 + ptr, ...t.params.map((p) => p.typeId * 2 + ptr)];
        default:
          return [];
      }
    };
    walkTypeGraph(this.#count * 2, 1, orderEdges, (node, edges, done) => {
      let depth = 0;
      for (const e of edges) if (e >= 2) depth = Math.max(depth, done[e]! + 1);
      if (depth > MAX_TYPE_DEPTH)
        throw new BtfError(
          `dump BTF as C: type [${node >> 1}] needs a chain of more than ${MAX_TYPE_DEPTH} types`,
          {
            typeId: node >> 1,
          },
        );
      return depth;
    });
    // What one declaration writes inline: modifiers, pointers, arrays, prototypes, anonymous
    // structs. A subset of the order graph, so it has no loop either.
    const inlineEdges = (id: number): number[] => {
      const t = btf.typeById(id);
      switch (t.kind) {
        case 'ptr':
        case 'array':
        case 'const':
        case 'volatile':
        case 'restrict':
        case 'type_tag':
          return [t.typeId];
        case 'typedef':
          return isBuiltin(t.name) ? [t.typeId] : [];
        case 'func_proto':
          return [t.returnTypeId, ...t.params.map((p) => p.typeId)];
        case 'struct':
        case 'union':
          return t.name === '' ? t.members.map((m) => m.typeId) : [];
        default:
          return [];
      }
    };
    walkTypeGraph(this.#count, 0, inlineEdges, (id, edges, done) => {
      let types = 1;
      for (const e of edges) if (e !== 0) types += done[e]!;
      if (types > MAX_INLINE_TYPES)
        throw new BtfError(
          `dump BTF as C: type [${id}] would write more than ${MAX_INLINE_TYPES} types inline`,
          {
            typeId: id,
          },
        );
      return types;
    });
  }

  dump(guard: string, preserveAccessIndex: boolean): string {
    this.#checkGraph();
    const out = this.#out;
    out.push(`#ifndef ${guard}\n#define ${guard}\n\n`);
    if (preserveAccessIndex) {
      out.push(
        '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n' +
          '#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n' +
          '#endif\n\n',
      );
    }
    this.#markReferenced();
    let counted = 0;
    for (let id = 1; id < this.#count; id++) {
      this.#queue = [];
      this.#order(id, false);
      for (const q of this.#queue) this.#emit(q, 0);
      // Everything written goes through `out`: count what this type added.
      for (let i = counted; i < out.length; i++) this.#spend(out[i]!.length);
      counted = out.length;
    }
    if (preserveAccessIndex) {
      out.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n');
    }
    out.push(`#endif /* ${guard} */\n`);
    return out.join('');
  }

  /** An anonymous enum nobody refers to holds constants (`enum { HZ = 1000 };`) and is written alone. */
  #markReferenced(): void {
    const ref = this.#referenced;
    for (let id = 1; id < this.#count; id++) {
      const t = this.#type(id);
      switch (t.kind) {
        case 'ptr':
        case 'typedef':
        case 'const':
        case 'volatile':
        case 'restrict':
        case 'type_tag':
        case 'func':
        case 'var':
        case 'decl_tag':
          ref[t.typeId] = 1;
          break;
        case 'array':
          ref[t.typeId] = 1;
          ref[t.indexTypeId] = 1;
          break;
        case 'struct':
        case 'union':
          for (const m of t.members) ref[m.typeId] = 1;
          break;
        case 'func_proto':
          ref[t.returnTypeId] = 1;
          for (const p of t.params) ref[p.typeId] = 1;
          break;
        case 'datasec':
          for (const v of t.vars) ref[v.typeId] = 1;
          break;
        default:
          break;
      }
    }
  }

  /**
   * Queue the named definitions `id` needs, dependencies first. Returns whether the reference is
   * strong (the type must be complete, or is a typedef that must exist) rather than satisfiable by
   * a forward declaration.
   */
  #order(id: number, throughPtr: boolean): boolean {
    const state = this.#orderState;
    if (state[id] === ORDERED) return true;
    if (id === 0) return false;
    const t = this.#type(id);
    if (state[id] === ORDERING) {
      // A loop back to a struct we are inside: fine through a pointer to a named struct.
      if ((t.kind === 'struct' || t.kind === 'union') && throughPtr && t.name !== '') return false;
      throw new BtfError(
        `dump BTF as C: type [${id}] contains itself by value (an unsatisfiable type cycle)`,
        {
          typeId: id,
        },
      );
    }
    switch (t.kind) {
      case 'int':
      case 'float':
        state[id] = ORDERED;
        return false;
      case 'ptr': {
        const strong = this.#order(t.typeId, true);
        state[id] = ORDERED;
        return strong;
      }
      case 'array':
        return this.#order(t.typeId, false);
      case 'struct':
      case 'union': {
        if (throughPtr && t.name !== '') return false;
        state[id] = ORDERING;
        for (const m of t.members) this.#order(m.typeId, false);
        if (t.name !== '') this.#queue.push(id);
        state[id] = ORDERED;
        return true;
      }
      case 'enum':
      case 'enum64':
      case 'fwd':
        if (t.name !== '' || !this.#referenced[id]) this.#queue.push(id);
        state[id] = ORDERED;
        return true;
      case 'typedef': {
        const strong = this.#order(t.typeId, throughPtr);
        // Like a struct, a typedef reached through a pointer to something weak can wait.
        if (throughPtr && !strong) return false;
        this.#queue.push(id);
        state[id] = ORDERED;
        return true;
      }
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        return this.#order(t.typeId, throughPtr);
      case 'func_proto': {
        let strong = this.#order(t.returnTypeId, throughPtr);
        for (const p of t.params) if (this.#order(p.typeId, throughPtr)) strong = true;
        return strong;
      }
      default:
        // FUNC, VAR, DATASEC, DECL_TAG declare no type.
        state[id] = ORDERED;
        return false;
    }
  }

  /**
   * Write `id`'s definition at top level (`container` 0), or, when it is used inside the
   * definition of `container`, whatever must come before that definition: forward declarations
   * of structs named only through pointers, and typedefs.
   */
  #emit(id: number, container: number): void {
    if (id === 0) return;
    const state = this.#emitState;
    if (state[id] === EMITTED) return;
    const t = this.#type(id);
    const out = this.#out;
    if (state[id] === EMITTING) {
      // A type we are in the middle of writing is named again: a forward declaration will do.
      if (this.#fwdEmitted[id]) return;
      if (t.kind === 'struct' || t.kind === 'union') {
        if (id === container || t.name === '') return;
        out.push(`${t.kind} ${this.#tagName(t)};\n\n`);
        this.#fwdEmitted[id] = 1;
      } else if (t.kind === 'typedef') {
        if (!isBuiltin(t.name)) out.push(`${this.#typedefDef(id)};\n\n`);
        this.#fwdEmitted[id] = 1;
      }
      return;
    }
    switch (t.kind) {
      case 'int':
      case 'float':
        state[id] = EMITTED;
        break;
      case 'enum':
      case 'enum64':
        if (container === 0) out.push(`${this.#enumDef(t, 0)};\n\n`);
        state[id] = EMITTED;
        break;
      case 'ptr':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
      case 'array':
        this.#emit(t.typeId, container);
        break;
      case 'fwd':
        out.push(`${t.fwdKind} ${t.name};\n\n`);
        state[id] = EMITTED;
        break;
      case 'typedef':
        state[id] = EMITTING;
        this.#emit(t.typeId, id);
        if (!this.#fwdEmitted[id] && !isBuiltin(t.name)) out.push(`${this.#typedefDef(id)};\n\n`);
        state[id] = EMITTED;
        break;
      case 'struct':
      case 'union':
        state[id] = EMITTING;
        if (container === 0 || t.name === '') {
          // Its members are about to be written out: declare what they name first.
          const inner = t.name === '' ? container : id;
          for (const m of t.members) this.#emit(m.typeId, inner);
        } else if (!this.#fwdEmitted[id] && id !== container) {
          out.push(`${t.kind} ${this.#tagName(t)};\n\n`);
          this.#fwdEmitted[id] = 1;
        }
        if (container === 0) {
          out.push(`${this.#compositeDef(t, 0)};\n\n`);
          state[id] = EMITTED;
        } else {
          state[id] = NOT_EMITTED;
        }
        break;
      case 'func_proto':
        this.#emit(t.returnTypeId, container);
        for (const p of t.params) this.#emit(p.typeId, container);
        break;
      default:
        break;
    }
  }

  // ---- names ----

  #uniqueName(id: number, name: string, used: Map<string, number>): string {
    let resolved = this.#names[id];
    if (resolved === undefined) {
      const n = (used.get(name) ?? 0) + 1;
      used.set(name, n);
      resolved = n > 1 ? `${name}___${n}` : name;
      this.#names[id] = resolved;
    }
    return resolved;
  }

  /** A struct, union or enum tag, unique among tags (an empty enum is only a declaration). */
  #tagName(t: Composite | AnyEnum): string {
    if (t.name === '') return '';
    if ((t.kind === 'enum' || t.kind === 'enum64') && t.values.length === 0) return t.name;
    return this.#uniqueName(t.id, t.name, this.#tagNames);
  }

  #enumeratorName(name: string): string {
    const n = (this.#identNames.get(name) ?? 0) + 1;
    this.#identNames.set(name, n);
    return n > 1 ? `${name}___${n}` : name;
  }

  // ---- definitions ----

  #typedefDef(id: number): string {
    const t = this.#type(id);
    if (t.kind !== 'typedef')
      throw new BtfError(`dump BTF as C: type [${id}] is not a typedef`, { typeId: id });
    const name = this.#uniqueName(id, t.name, this.#identNames);
    // Old GCC wrote this typedef to void; the compiler's own builtin is what it means.
    if (t.typeId === 0 && name === '__gnuc_va_list') return 'typedef __builtin_va_list __gnuc_va_list';
    return `typedef ${this.#decl(t.typeId, name, 0)}`;
  }

  #enumDef(t: AnyEnum, lvl: number): string {
    const name = this.#tagName(t);
    let s = name === '' ? 'enum' : `enum ${name}`;
    if (t.values.length === 0) return s;
    s += ' {';
    const indent = '\t'.repeat(lvl + 1);
    if (t.kind === 'enum') {
      for (const v of t.values) s += `\n${indent}${this.#enumeratorName(v.name)} = ${v.value},`;
    } else {
      const suffix = t.signed ? 'LL' : 'ULL';
      for (const v of t.values) {
        // -2^63 has no literal: 9223372036854775808 does not fit a signed long long.
        const text = v.value === -(2n ** 63n) ? '(-9223372036854775807LL - 1)' : `${v.value}${suffix}`;
        s += `\n${indent}${this.#enumeratorName(v.name)} = ${text},`;
      }
    }
    s += `\n${'\t'.repeat(lvl)}}`;
    const mode = enumMode(t);
    if (mode !== '') s += ` __attribute__((mode(${mode})))`;
    return s;
  }

  #compositeDef(t: Composite, lvl: number): string {
    const name = this.#tagName(t);
    const layout = this.#layout(t);
    let s = name === '' ? `${t.kind} {` : `${t.kind} ${name} {`;
    const indent = '\t'.repeat(lvl + 1);
    for (const item of layout.items) {
      if (typeof item !== 'number') {
        const line = `\n${indent}${item.type}: ${item.bits};`;
        const count = item.count ?? 1;
        // A run is counted against the limit before it is built.
        this.#spend(line.length * count);
        s += count === 1 ? line : line.repeat(count);
        continue;
      }
      const m = t.members[item]!;
      s += `\n${indent}${this.#decl(m.typeId, m.name, lvl + 1)}`;
      if (m.bitfieldSize !== 0) s += `: ${m.bitfieldSize}`;
      s += ';';
    }
    s += layout.items.length === 0 ? '}' : `\n${'\t'.repeat(lvl)}}`;
    if (layout.packed) s += ' __attribute__((packed))';
    if (layout.aligned !== 0) s += ` __attribute__((aligned(${layout.aligned})))`;
    return s;
  }

  // ---- declarators ----

  /**
   * `id` declared as `name` (`''` for a bare type name, as in a parameter list). The chain of
   * types from `id` to its base type is collected, then written from the base outward: qualifiers
   * before the base go left of it, later ones right of the `*` they qualify; arrays and function
   * prototypes wrap what is outside them in parentheses.
   */
  #decl(id: number, name: string, lvl: number): string {
    const chain: number[] = [];
    for (;;) {
      chain.push(id);
      if (id === 0) break;
      const t = this.#type(id);
      if (t.kind === 'ptr' || t.kind === 'array' || isModifier(t)) id = t.typeId;
      else if (t.kind === 'func_proto') id = t.returnTypeId;
      else if (t.kind === 'typedef' && isBuiltin(t.name)) {
        // The kernel's va_list (x86-64: `struct __va_list_tag[1]`, 24 bytes) is not the BPF
        // target's (`char *`): spell out what the BTF says instead of naming the builtin.
        chain.pop();
        id = t.typeId;
      } else break;
    }
    return this.#chain(chain, chain.length, name, lvl);
  }

  /** Qualifiers on top of the stack (right above a base type), written left of it, nearest first. */
  #popQualifiers(chain: readonly number[], top: { n: number }): string {
    let s = '';
    while (top.n > 0) {
      const t = this.#type(chain[top.n - 1]!);
      if (t.kind !== 'const' && t.kind !== 'volatile' && t.kind !== 'restrict') break;
      s += `${t.kind} `;
      top.n--;
    }
    return s;
  }

  /** Qualifiers on an array or a function mean nothing in C (GCC writes them); drop them. */
  #dropQualifiers(chain: readonly number[], top: { n: number }): void {
    while (top.n > 0 && isModifier(this.#type(chain[top.n - 1]!))) top.n--;
  }

  /** Write `chain[0..n)` (outermost first; the base is at `n - 1`). */
  #chain(chain: readonly number[], n: number, name: string, lvl: number): string {
    const top = { n };
    let s = '';
    // Whether the last thing written is a `*`, which then needs no space before a name or `*`.
    let afterPtr = true;
    while (top.n > 0) {
      const id = chain[--top.n]!;
      if (id === 0) {
        s += `${this.#popQualifiers(chain, top)}void`;
        afterPtr = false;
        continue;
      }
      const t = this.#type(id);
      switch (t.kind) {
        case 'int':
        case 'float':
          s += this.#popQualifiers(chain, top) + t.name;
          break;
        case 'struct':
        case 'union':
          s += this.#popQualifiers(chain, top);
          s += t.name === '' ? this.#compositeDef(t, lvl) : `${t.kind} ${this.#tagName(t)}`;
          break;
        case 'enum':
        case 'enum64':
          s += this.#popQualifiers(chain, top);
          s += t.name === '' ? this.#enumDef(t, lvl) : `enum ${this.#tagName(t)}`;
          break;
        case 'fwd':
          s += `${this.#popQualifiers(chain, top)}${t.fwdKind} ${t.name}`;
          break;
        case 'typedef':
          s += this.#popQualifiers(chain, top) + this.#uniqueName(id, t.name, this.#identNames);
          break;
        case 'ptr':
          s += afterPtr ? '*' : ' *';
          break;
        case 'const':
        case 'volatile':
        case 'restrict':
          s += ` ${t.kind}`;
          break;
        case 'type_tag':
          s += this.#popQualifiers(chain, top);
          // Since 6.14 a kind_flag tag is a plain attribute (`address_space(1)`), else btf_type_tag.
          s += t.attribute ? ` __attribute__((${t.name}))` : ` __attribute__((btf_type_tag("${t.name}")))`;
          break;
        case 'array': {
          this.#dropQualifiers(chain, top);
          if (top.n === 0) return `${s}${spaced(name, afterPtr)}[${t.nelems}]`;
          // Something outside the array (a pointer to it, an outer dimension) binds first.
          const multidim = this.#type(chain[top.n - 1]!).kind === 'array';
          if (name !== '' && !afterPtr) s += ' ';
          const inner = this.#chain(chain, top.n, name, lvl);
          return multidim ? `${s}${inner}[${t.nelems}]` : `${s}(${inner})[${t.nelems}]`;
        }
        case 'func_proto': {
          this.#dropQualifiers(chain, top);
          s += top.n > 0 ? ` (${this.#chain(chain, top.n, name, lvl)})` : spaced(name, afterPtr);
          return `${s}(${this.#params(t.params, lvl)})`;
        }
        default:
          // FUNC, VAR, DATASEC, DECL_TAG never sit in a declarator chain of valid BTF.
          throw new BtfError(`dump BTF as C: type [${id}] ${t.kind} in a type declaration`, { typeId: id });
      }
      afterPtr = t.kind === 'ptr';
    }
    return s + spaced(name, afterPtr);
  }

  #params(params: readonly { readonly typeId: number }[], lvl: number): string {
    // No parameters, or clang's single void parameter, is `(void)`.
    if (params.length === 0 || (params.length === 1 && params[0]!.typeId === 0)) return 'void';
    const parts: string[] = [];
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      // A last parameter of type void is the `...` of a variadic function.
      if (i === params.length - 1 && p.typeId === 0) parts.push('...');
      else parts.push(this.#decl(p.typeId, '', lvl));
    }
    return parts.join(', ');
  }

  // ---- layout ----

  /** Alignment in bytes clang gives `id` as we write it, for the BPF target. */
  #align(id: number): number {
    if (id === 0) return 1;
    const cached = this.#aligns[id]!;
    if (cached !== 0) return cached;
    const t = this.#type(id);
    let a: number;
    switch (t.kind) {
      case 'int':
      case 'float':
      case 'enum':
      case 'enum64':
        a = naturalAlign(t.size);
        break;
      case 'ptr':
        a = 8;
        break;
      case 'array':
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        a = this.#align(t.typeId);
        break;
      case 'struct':
      case 'union':
        a = this.#layout(t).align;
        break;
      default:
        a = 1;
    }
    this.#aligns[id] = a;
    return a;
  }

  #sizeof(id: number): number {
    const t = this.#btf.resolve(id);
    // A function type or forward declaration has no size; as a member (invalid C) it takes none.
    if (t.kind === 'func_proto' || t.kind === 'fwd' || t.kind === 'void') return 0;
    return this.#btf.sizeof(id);
  }

  #layout(t: Composite): Layout {
    let layout = this.#layouts.get(t.id);
    if (layout === undefined) {
      layout =
        t.kind === 'union'
          ? this.#unionLayout(t)
          : (this.#structLayout(t, false) ?? this.#structLayout(t, true)!);
      this.#layouts.set(t.id, layout);
    }
    return layout;
  }

  /**
   * Lay `t` out as clang would, padding before each member clang would place too early. Without
   * `packed`, undefined when natural layout cannot reach some BTF offset or the size; with it,
   * every member is placed where the previous one ended, so padding alone reaches every offset.
   */
  #structLayout(t: BtfStruct, packed: boolean): Layout | undefined {
    const items: (number | Padding)[] = [];
    let cur = 0;
    let maxAlign = 1;
    for (let i = 0; i < t.members.length; i++) {
      const m = t.members[i]!;
      const target = m.bitsOffset;
      const align = this.#align(m.typeId);
      const bitfield = m.bitfieldSize !== 0;
      const sizeBits = bitfield ? this.#sizeof(m.typeId) * 8 : 0;
      // Where clang would put the member if the previous one ended at bit `from`.
      const place = (from: number): number =>
        bitfield
          ? placeBitfield(from, m.bitfieldSize, sizeBits, align * 8, packed)
          : roundUp(from, packed ? 8 : align * 8);
      const natural = place(cur);
      if (natural !== target) {
        if (natural > target || place(target) !== target) {
          // Packed only fails this for overlapping or out-of-order members, which C cannot
          // express at all: write them as they come.
          if (!packed) return undefined;
        } else {
          for (const pad of padding(cur, target, packed)) items.push(pad);
        }
      }
      items.push(i);
      cur = target + (m.bitfieldSize !== 0 ? m.bitfieldSize : this.#sizeof(m.typeId) * 8);
      if (!packed) maxAlign = Math.max(maxAlign, align);
    }
    const size = t.size * 8;
    if (size % (maxAlign * 8) !== 0 || roundUp(cur, maxAlign * 8) > size) {
      if (!packed) return undefined;
    } else if (roundUp(cur, maxAlign * 8) < size) {
      for (const pad of padding(cur, size, packed)) items.push(pad);
    }
    return { packed, aligned: 0, align: packed ? 1 : maxAlign, items };
  }

  /**
   * Members of a union all start at 0; the union is as big as its biggest member, rounded up to
   * its alignment. A union bigger than that was declared aligned, or lost members (pahole drops
   * those of a transparent union): an anonymous bitfield as wide as the union gives up to 8 bytes,
   * else the smallest alignment that rounds the members up to the size.
   */
  #unionLayout(t: BtfUnion): Layout {
    let maxAlign = 1;
    let maxBits = 0;
    for (const m of t.members) {
      maxAlign = Math.max(maxAlign, this.#align(m.typeId));
      maxBits = Math.max(maxBits, m.bitfieldSize !== 0 ? m.bitfieldSize : this.#sizeof(m.typeId) * 8);
    }
    const items: (number | Padding)[] = t.members.map((_, i) => i);
    const natural = roundUp(Math.ceil(maxBits / 8), maxAlign);
    if (natural === t.size) return { packed: false, aligned: 0, align: maxAlign, items };
    if (natural < t.size && t.size % maxAlign === 0) {
      const unit = t.size <= 8 ? [...PAD_UNITS].reverse().find((u) => u.bits >= t.size * 8) : undefined;
      if (unit !== undefined) {
        items.push({ type: unit.type, bits: t.size * 8 });
        return { packed: false, aligned: 0, align: maxAlign, items };
      }
      for (let a = maxAlign * 2; a <= t.size; a *= 2) {
        if (roundUp(natural, a) === t.size) return { packed: false, aligned: a, align: a, items };
      }
    }
    // The size is not a multiple of the members' alignment: only a packed union has it.
    return { packed: true, aligned: 0, align: 1, items };
  }
}

/**
 * Visit every node of a graph but void's depth first without recursion, calling `finish`
 * once per node after all its successors (post-order) with their results; a node reached again
 * while still open is a loop, a {@link BtfError}. Deep chains only grow an array.
 */
function walkTypeGraph(
  count: number,
  shift: 0 | 1,
  edgesOf: (node: number) => number[],
  finish: (node: number, edges: readonly number[], done: Float64Array) => number,
): void {
  // Node n is type n >> shift (the order graph has two nodes a type); type 0, void, has none.
  const first = 1 << shift;
  const state = new Uint8Array(count);
  const done = new Float64Array(count);
  const nodes: number[] = [];
  const edges: number[][] = [];
  const next: number[] = [];
  for (let root = first; root < count; root++) {
    if (state[root] !== 0) continue;
    state[root] = 1;
    nodes.push(root);
    edges.push(edgesOf(root));
    next.push(0);
    while (nodes.length > 0) {
      const top = nodes.length - 1;
      const list = edges[top]!;
      if (next[top]! < list.length) {
        const to = list[next[top]!++]!;
        if (to < first) continue;
        if (to >= count) throw new BtfError(`dump BTF as C: type [${to >> shift}] does not exist`);
        if (state[to] === 1)
          throw new BtfError(
            `dump BTF as C: type [${nodes[top]! >> shift}] contains itself by value or through modifiers (an unsatisfiable type cycle)`,
            { typeId: nodes[top]! >> shift },
          );
        if (state[to] === 0) {
          state[to] = 1;
          nodes.push(to);
          edges.push(edgesOf(to));
          next.push(0);
        }
        continue;
      }
      const node = nodes.pop()!;
      edges.pop();
      next.pop();
      done[node] = finish(node, list, done);
      state[node] = 2;
    }
  }
}

/** A declarator name after what precedes it: `int x`, but `*x`. */
function spaced(name: string, afterPtr: boolean): string {
  return name !== '' && !afterPtr ? ` ${name}` : name;
}

function isModifier(t: BtfType): t is BtfConst | BtfVolatile | BtfRestrict | BtfTypeTag {
  return t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag';
}

/** Compilers define `__builtin_va_list` themselves; a typedef of it would not compile. */
function isBuiltin(name: string): boolean {
  return name === '__builtin_va_list';
}

/**
 * The GCC `mode` that gives an enum its BTF size when clang's choice (the smallest of int,
 * unsigned int, long, unsigned long that holds every value) would differ; '' when it would not.
 */
function enumMode(t: AnyEnum): string {
  switch (t.size) {
    case 1:
      return 'byte';
    case 2:
      return 'HI';
    case 8: {
      if (t.kind === 'enum') return 'word';
      let min = 0n;
      let max = 0n;
      for (const v of t.values) {
        if (v.value < min) min = v.value;
        if (v.value > max) max = v.value;
      }
      const fits32 = min >= 0n ? max <= 0xffffffffn : min >= -(2n ** 31n) && max < 2n ** 31n;
      return fits32 ? 'word' : '';
    }
    default:
      return '';
  }
}
