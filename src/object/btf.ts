/**
 * BTF, the BPF Type Format: parse a `.BTF` blob (an object file's section, or the kernel's
 * `/sys/kernel/btf/vmlinux`) into typed records, look types up, and write it back byte for byte.
 *
 * A blob is a header followed by two sections, the type section and the string section, whose
 * offsets are counted from the end of the header. Every field is in the producer's byte order; the
 * magic tells which (`0xeB9F` read back as `0x9FeB` means the other order, as in `bpfeb` objects).
 *
 * ```
 *  header (hdr_len bytes, 24 in version 1)
 *   0       2       3       4               8              12             16             20             24
 *  +-------+-------+-------+---------------+--------------+--------------+--------------+--------------+
 *  | magic |version| flags |    hdr_len    |   type_off   |   type_len   |   str_off    |   str_len    |
 *  | eB9F  |   1   |   0   |               |   (bytes after the header)  |                             |
 *  +-------+-------+-------+---------------+--------------+--------------+--------------+--------------+
 *
 *  type record: 12 bytes, then a kind-specific tail (a fixed part, then vlen records)
 *   0              4                                  8             12
 *  +--------------+----------------------------------+-------------+
 *  |   name_off   |               info               | size / type |  then: INT 4 bytes, ARRAY 12,
 *  +--------------+----------------------------------+-------------+  VAR 4, DECL_TAG 4; STRUCT/UNION
 *                  31  30..29  28..24  23..16  15..0                   12 per member, ENUM 8 per value,
 *                  kflag  0    kind      0     vlen                    ENUM64 12, FUNC_PROTO 8 per param,
 *                                                                      DATASEC 12 per variable
 *
 *  INT tail (u32):  31..28 = 0 | 27..24 encoding (1 signed, 2 char, 4 bool) | 23..16 bit offset |
 *                   15..8 = 0  | 7..0 number of bits
 *  member offset with kflag:  31..24 bitfield size | 23..0 bit offset   (without kflag: bit offset)
 * ```
 *
 * String offsets index the string section, which starts and ends with a NUL; offset 0 is the empty
 * name. Type ids count the type records from 1; id 0 is `void`. Split BTF (a kernel module's, since
 * 5.11) continues a base BTF: its ids start after the base's last type and its string offsets after
 * the base's string section.
 */
import { TsbpfError } from '../errors.js';

/** `0xeB9F`, the first two bytes of every BTF blob in its producer's byte order. */
export const BTF_MAGIC = 0xeb9f;
/** The only BTF version there has ever been. */
export const BTF_VERSION = 1;
/** Size of the version 1 header; a longer header must be zero past this. */
export const BTF_HEADER_SIZE = 24;

/** INT encoding bit: the integer is signed. */
export const BTF_INT_SIGNED = 1;
/** INT encoding bit: the integer is a character (for printing only). */
export const BTF_INT_CHAR = 2;
/** INT encoding bit: the integer is a boolean. */
export const BTF_INT_BOOL = 4;

/** Longest chain of typedefs and modifiers we follow, as libbpf's `MAX_RESOLVE_DEPTH`. */
const MAX_RESOLVE_DEPTH = 32;

/** An error in BTF bytes or a failed lookup, with the byte offset and type id where known. */
export class BtfError extends TsbpfError {
  override name = 'BtfError';
  /** Byte offset in the blob where the bad field is, when the error is about bytes. */
  readonly offset: number | undefined;
  /** The type the error is about, when there is one. */
  readonly typeId: number | undefined;
  constructor(message: string, fields: { offset?: number; typeId?: number; cause?: unknown } = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.offset = fields.offset;
    this.typeId = fields.typeId;
  }
}

/** Lower-case name of a BTF kind, the discriminant of {@link BtfType}. */
export type BtfKind =
  | 'int'
  | 'ptr'
  | 'array'
  | 'struct'
  | 'union'
  | 'enum'
  | 'fwd'
  | 'typedef'
  | 'volatile'
  | 'const'
  | 'restrict'
  | 'func'
  | 'func_proto'
  | 'var'
  | 'datasec'
  | 'float'
  | 'decl_tag'
  | 'type_tag'
  | 'enum64';

/** One row of {@link BTF_KINDS}: everything the parser, writer and dumps need to know about a kind. */
export interface BtfKindInfo {
  /** The `BTF_KIND_*` number in `info` bits 24–28. */
  readonly number: number;
  readonly kind: BtfKind;
  /** The upper-case name bpftool prints. */
  readonly label: string;
  /** Bytes of the fixed tail after the 12-byte common part. */
  readonly tailSize: number;
  /** Bytes of each of the vlen records (0: vlen must be 0, except FUNC, which keeps its linkage there). */
  readonly vlenRecordSize: number;
  /** Whether the kind gives kind_flag a meaning (else it must be 0). */
  readonly kindFlag: boolean;
  /** The kernel version that introduced the kind. */
  readonly since: string;
}

function row(
  number: number,
  kind: BtfKind,
  tailSize: number,
  vlenRecordSize: number,
  kindFlag: boolean,
  since: string,
): BtfKindInfo {
  return { number, kind, label: kind.toUpperCase(), tailSize, vlenRecordSize, kindFlag, since };
}

/**
 * The kinds, indexed by their `BTF_KIND_*` number (0, UNKN, is not a kind a type can have). Kind
 * flags: STRUCT/UNION bitfield member offsets (4.20), FWD of a union, ENUM/ENUM64 signedness (6.0),
 * DECL_TAG/TYPE_TAG written as a plain `__attribute__` (6.14).
 */
export const BTF_KINDS: readonly (BtfKindInfo | undefined)[] = [
  undefined,
  row(1, 'int', 4, 0, false, '4.18'),
  row(2, 'ptr', 0, 0, false, '4.18'),
  row(3, 'array', 12, 0, false, '4.18'),
  row(4, 'struct', 0, 12, true, '4.18'),
  row(5, 'union', 0, 12, true, '4.18'),
  row(6, 'enum', 0, 8, true, '4.18'),
  row(7, 'fwd', 0, 0, true, '4.18'),
  row(8, 'typedef', 0, 0, false, '4.18'),
  row(9, 'volatile', 0, 0, false, '4.18'),
  row(10, 'const', 0, 0, false, '4.18'),
  row(11, 'restrict', 0, 0, false, '4.18'),
  row(12, 'func', 0, 0, false, '5.0'),
  row(13, 'func_proto', 0, 8, false, '5.0'),
  row(14, 'var', 4, 0, false, '5.2'),
  row(15, 'datasec', 0, 12, false, '5.2'),
  row(16, 'float', 0, 0, false, '5.13'),
  row(17, 'decl_tag', 4, 0, true, '5.16'),
  row(18, 'type_tag', 0, 0, true, '5.17'),
  row(19, 'enum64', 0, 12, true, '6.0'),
];

/** The {@link BTF_KINDS} row of a kind name. */
export const BTF_KIND_INFO: Readonly<Record<BtfKind, BtfKindInfo>> = Object.fromEntries(
  BTF_KINDS.filter((k): k is BtfKindInfo => k !== undefined).map((k) => [k.kind, k]),
) as Record<BtfKind, BtfKindInfo>;

/** Linkage of a FUNC (kept in its vlen) or a VAR (0 static, 1 global, 2 extern). */
export type BtfLinkage = 'static' | 'global' | 'extern';
const LINKAGES: readonly BtfLinkage[] = ['static', 'global', 'extern'];

interface TypeCommon<K extends BtfKind> {
  readonly kind: K;
  /** The type id (1-based; 0 is void). */
  readonly id: number;
  /** The name, '' when anonymous. */
  readonly name: string;
  /** The name's offset in the string table. */
  readonly nameOff: number;
}

/** An integer: size in bytes, and which bits of it hold the value. */
export interface BtfInt extends TypeCommon<'int'> {
  readonly size: number;
  /** {@link BTF_INT_SIGNED} | {@link BTF_INT_CHAR} | {@link BTF_INT_BOOL} (at most one, in practice). */
  readonly encoding: number;
  readonly bitsOffset: number;
  readonly nrBits: number;
}
/** A pointer to `typeId`. */
export interface BtfPtr extends TypeCommon<'ptr'> {
  readonly typeId: number;
}
/** An array of `nelems` elements of `typeId`, indexed by `indexTypeId`. */
export interface BtfArray extends TypeCommon<'array'> {
  readonly typeId: number;
  readonly indexTypeId: number;
  readonly nelems: number;
}
/** A STRUCT or UNION member; `bitfieldSize` is 0 unless it is a bitfield of a kind_flag record. */
export interface BtfMember {
  readonly name: string;
  readonly nameOff: number;
  readonly typeId: number;
  readonly bitsOffset: number;
  readonly bitfieldSize: number;
}
interface Composite<K extends 'struct' | 'union'> extends TypeCommon<K> {
  readonly size: number;
  /** Member offsets are `bitfield size << 24 | bit offset` (set by compilers when any member is a bitfield). */
  readonly kindFlag: boolean;
  readonly members: readonly BtfMember[];
}
/** A struct. */
export type BtfStruct = Composite<'struct'>;
/** A union. */
export type BtfUnion = Composite<'union'>;
/** One enumerator of a 32-bit ENUM, read signed when the enum is signed. */
export interface BtfEnumValue {
  readonly name: string;
  readonly nameOff: number;
  readonly value: number;
}
/** An enum of values up to 32 bits. */
export interface BtfEnum extends TypeCommon<'enum'> {
  readonly size: number;
  /** kind_flag: the values are signed (since 6.0; older BTF leaves it 0). */
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}
/** One enumerator of an ENUM64. */
export interface BtfEnum64Value {
  readonly name: string;
  readonly nameOff: number;
  readonly value: bigint;
}
/** An enum with 64-bit values (since 6.0). */
export interface BtfEnum64 extends TypeCommon<'enum64'> {
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnum64Value[];
}
/** A forward declaration of a struct or (kind_flag) a union. */
export interface BtfFwd extends TypeCommon<'fwd'> {
  readonly fwdKind: 'struct' | 'union';
}
/** A typedef naming `typeId`. */
export interface BtfTypedef extends TypeCommon<'typedef'> {
  readonly typeId: number;
}
/** `volatile typeId`. */
export interface BtfVolatile extends TypeCommon<'volatile'> {
  readonly typeId: number;
}
/** `const typeId`. */
export interface BtfConst extends TypeCommon<'const'> {
  readonly typeId: number;
}
/** `restrict typeId`. */
export interface BtfRestrict extends TypeCommon<'restrict'> {
  readonly typeId: number;
}
/** A function: its name, its FUNC_PROTO, and its linkage. */
export interface BtfFunc extends TypeCommon<'func'> {
  readonly typeId: number;
  readonly linkage: BtfLinkage;
}
/** A FUNC_PROTO parameter; a last one with no name and type 0 means `...`. */
export interface BtfParam {
  readonly name: string;
  readonly nameOff: number;
  readonly typeId: number;
}
/** A function signature. */
export interface BtfFuncProto extends TypeCommon<'func_proto'> {
  readonly returnTypeId: number;
  readonly params: readonly BtfParam[];
}
/** A global or static variable. */
export interface BtfVar extends TypeCommon<'var'> {
  readonly typeId: number;
  readonly linkage: BtfLinkage;
}
/** Where a variable lives in a DATASEC. */
export interface BtfVarSecinfo {
  readonly typeId: number;
  readonly offset: number;
  readonly size: number;
}
/** A data section (`.data`, `.bss`, `.rodata`, `.maps`…) and the variables in it. */
export interface BtfDatasec extends TypeCommon<'datasec'> {
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}
/** A floating-point type. */
export interface BtfFloat extends TypeCommon<'float'> {
  readonly size: number;
}
/** `btf_decl_tag("name")` on `typeId`, or on its member/parameter `componentIdx` (-1: the type itself). */
export interface BtfDeclTag extends TypeCommon<'decl_tag'> {
  readonly typeId: number;
  readonly componentIdx: number;
  /** kind_flag: the tag is a plain `__attribute__((name))` (since 6.14). */
  readonly attribute: boolean;
}
/** `btf_type_tag("name")` on `typeId`. */
export interface BtfTypeTag extends TypeCommon<'type_tag'> {
  readonly typeId: number;
  /** kind_flag: the tag is a plain `__attribute__((name))` (since 6.14). */
  readonly attribute: boolean;
}

/** Any BTF type; switch on `kind`. */
export type BtfType =
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfEnum64
  | BtfFwd
  | BtfTypedef
  | BtfVolatile
  | BtfConst
  | BtfRestrict
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag;

/** Type id 0. */
export interface BtfVoid {
  readonly kind: 'void';
  readonly id: 0;
  readonly name: '';
}
/** The one void. */
export const BTF_VOID: BtfVoid = Object.freeze({ kind: 'void', id: 0, name: '' });

/** The header fields as read (offsets relative to the end of the header). */
export interface BtfHeader {
  readonly magic: number;
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}

const utf8 = new TextDecoder('utf-8');

/**
 * A string section (and, for split BTF, the base's before it). Offsets of the split part continue
 * after the base's last byte.
 */
export class BtfStrings {
  /** This BTF's own string section, as read (NUL-terminated strings). */
  readonly bytes: Uint8Array;
  /** The base BTF's strings, for split BTF. */
  readonly base: BtfStrings | undefined;
  /** Offset of `bytes[0]`: the base's total length, else 0. */
  readonly start: number;
  /** With only ASCII bytes, byte offsets are string indexes, so we decode once and slice. */
  readonly #text: string | undefined;
  readonly #cache = new Map<number, string>();

  constructor(bytes: Uint8Array, base?: BtfStrings) {
    this.bytes = bytes;
    this.base = base;
    this.start = base ? base.length : 0;
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    this.#text = ascii ? utf8.decode(bytes) : undefined;
  }

  /** One past the last valid offset. */
  get length(): number {
    return this.start + this.bytes.length;
  }

  /** Whether `offset` starts a (NUL-terminated) string. */
  has(offset: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset < this.length;
  }

  /** The string at `offset`: the bytes up to the next NUL, decoded as UTF-8. */
  get(offset: number): string {
    if (offset < this.start) {
      if (offset >= 0 && this.base) return this.base.get(offset);
      if (offset === 0) return '';
    }
    if (!this.has(offset)) {
      throw new BtfError(
        `BTF: string offset 0x${hex(offset)} past the end of the string section (length 0x${hex(this.length)})`,
      );
    }
    const at = offset - this.start;
    const text = this.#text;
    if (text !== undefined) {
      const end = text.indexOf('\0', at);
      return end < 0 ? text.slice(at) : text.slice(at, end);
    }
    let s = this.#cache.get(at);
    if (s === undefined) {
      const end = this.bytes.indexOf(0, at);
      s = utf8.decode(this.bytes.subarray(at, end < 0 ? this.bytes.length : end));
      this.#cache.set(at, s);
    }
    return s;
  }
}

function hex(n: number): string {
  return n.toString(16);
}

/** Options of {@link parseBtf}. */
export interface ParseBtfOptions {
  /**
   * Require this byte order; by default the magic decides (`bpfeb` objects and big-endian hosts
   * write big-endian BTF).
   */
  readonly bigEndian?: boolean;
  /** The base BTF of a split BTF (a kernel module's BTF continues vmlinux's). */
  readonly base?: Btf;
}

/** Lookup options of {@link Btf.sizeof}. */
export interface SizeofOptions {
  /** Size of a pointer; BPF programs see 8. */
  readonly pointerSize?: number;
}

/** Fields of a {@link Btf} built by hand (or by {@link parseBtf}). */
export interface BtfInit {
  /** Header fields; the writer recomputes the lengths and offsets but keeps magic, version, flags, hdrLen and the section order. */
  readonly header?: Partial<BtfHeader>;
  readonly bigEndian?: boolean;
  readonly base?: Btf;
  /** This BTF's own string section (starting with a NUL unless split). */
  readonly strings: Uint8Array;
  /** This BTF's own types, ids counting up from the base's last id + 1 (or 1). */
  readonly types: readonly BtfType[];
}

/** A parsed BTF: its types, its strings, and lookups over them. */
export class Btf {
  readonly header: BtfHeader;
  readonly bigEndian: boolean;
  /** The base BTF when this is split BTF. */
  readonly base: Btf | undefined;
  readonly strings: BtfStrings;
  /** This BTF's own types in id order: `types[i].id === firstTypeId + i`. */
  readonly types: readonly BtfType[];
  /** Id of `types[0]`: 1, or one past the base's last id. */
  readonly firstTypeId: number;
  #byName: Map<string, BtfType[]> | undefined;

  constructor(init: BtfInit) {
    this.base = init.base;
    this.bigEndian = init.bigEndian ?? init.base?.bigEndian ?? false;
    this.strings = new BtfStrings(init.strings, init.base?.strings);
    this.types = init.types;
    this.firstTypeId = init.base ? init.base.typeCount : 1;
    const h = init.header ?? {};
    this.header = {
      magic: h.magic ?? BTF_MAGIC,
      version: h.version ?? BTF_VERSION,
      flags: h.flags ?? 0,
      hdrLen: h.hdrLen ?? BTF_HEADER_SIZE,
      typeOff: h.typeOff ?? 0,
      typeLen: h.typeLen ?? 0,
      strOff: h.strOff ?? 0,
      strLen: h.strLen ?? init.strings.length,
    };
  }

  /** One past the highest type id, counting void and the base's types (libbpf's `btf__type_cnt`). */
  get typeCount(): number {
    return this.firstTypeId + this.types.length;
  }

  /** The type with this id (0 gives {@link BTF_VOID}); a {@link BtfError} when there is none. */
  typeById(id: number): BtfType | BtfVoid {
    if (id === 0) return BTF_VOID;
    if (id >= this.firstTypeId) {
      const t = this.types[id - this.firstTypeId];
      if (t !== undefined) return t;
    } else if (this.base && id > 0) {
      return this.base.typeById(id);
    }
    throw new BtfError(`BTF: type id ${id} out of range (last type ${this.typeCount - 1})`, { typeId: id });
  }

  /** All types with this name, the base's first, in id order (the index is built on first use). */
  typesByName(name: string): readonly BtfType[] {
    if (this.#byName === undefined) {
      const index = new Map<string, BtfType[]>();
      for (const t of this.types) {
        if (t.name === '') continue;
        const list = index.get(t.name);
        if (list) list.push(t);
        else index.set(t.name, [t]);
      }
      this.#byName = index;
    }
    const own = this.#byName.get(name) ?? [];
    return this.base ? [...this.base.typesByName(name), ...own] : own;
  }

  /** The type `id` names once typedefs, const, volatile, restrict and type tags are skipped. */
  resolve(id: number): BtfType | BtfVoid {
    let t = this.typeById(id);
    for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
      switch (t.kind) {
        case 'typedef':
        case 'const':
        case 'volatile':
        case 'restrict':
        case 'type_tag':
          t = this.typeById(t.typeId);
          break;
        default:
          return t;
      }
    }
    throw new BtfError(`BTF: type [${id}]: more than ${MAX_RESOLVE_DEPTH} typedefs and modifiers (a loop?)`, {
      typeId: id,
    });
  }

  /** Size in bytes of a value of type `id`, as libbpf's `btf__resolve_size`. */
  sizeof(id: number, options: SizeofOptions = {}): number {
    const pointerSize = options.pointerSize ?? 8;
    let multiplier = 1;
    let t = this.typeById(id);
    for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
      let size: number;
      switch (t.kind) {
        case 'int':
        case 'struct':
        case 'union':
        case 'enum':
        case 'enum64':
        case 'datasec':
        case 'float':
          size = t.size;
          break;
        case 'ptr':
          size = pointerSize;
          break;
        case 'typedef':
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'var':
        case 'decl_tag':
        case 'type_tag':
          t = this.typeById(t.typeId);
          continue;
        case 'array':
          multiplier *= t.nelems;
          if (multiplier > 0xffffffff) {
            throw new BtfError(`BTF: sizeof type [${id}]: array of more than 2^32 bytes`, { typeId: id });
          }
          t = this.typeById(t.typeId);
          continue;
        default:
          throw new BtfError(`BTF: sizeof type [${id}]: ${describeBtfType(t)} has no size`, { typeId: id });
      }
      const total = size * multiplier;
      if (total > 0xffffffff) {
        throw new BtfError(`BTF: sizeof type [${id}]: more than 2^32 bytes`, { typeId: id });
      }
      return total;
    }
    throw new BtfError(`BTF: sizeof type [${id}]: more than ${MAX_RESOLVE_DEPTH} levels (a loop?)`, {
      typeId: id,
    });
  }

  /** The string at `offset` in the string table (the base's offsets included). */
  string(offset: number): string {
    return this.strings.get(offset);
  }
}

/** `KIND 'name'` for messages (`void` for id 0). */
export function describeBtfType(t: BtfType | BtfVoid): string {
  if (t.kind === 'void') return 'void';
  return `${BTF_KIND_INFO[t.kind].label} '${t.name}'`;
}

/** Bytes one type record takes, from its kind row and vlen. */
function recordSize(k: BtfKindInfo, vlen: number): number {
  return 12 + k.tailSize + k.vlenRecordSize * vlen;
}

/**
 * Decodes and checks one type record at a time. Its methods, not per-record closures, do the
 * checks, and messages are only built on failure: vmlinux has ~130k records and ~500k members.
 */
class RecordDecoder {
  #id = 0;
  #label = '';
  #name: string | undefined = '';
  readonly #view: DataView;
  readonly #le: boolean;
  readonly #strings: BtfStrings;
  readonly #lastId: number;

  constructor(view: DataView, le: boolean, strings: BtfStrings, lastId: number) {
    this.#view = view;
    this.#le = le;
    this.#strings = strings;
    this.#lastId = lastId;
  }

  fail(at: number, what: string): never {
    const name = this.#name === undefined ? '' : ` '${this.#name}'`;
    throw new BtfError(
      `load BTF: type [${this.#id}] ${this.#label}${name}: ${what} (byte offset 0x${hex(at)})`,
      {
        offset: at,
        typeId: this.#id,
      },
    );
  }

  u32(at: number): number {
    return this.#view.getUint32(at, this.#le);
  }

  /** A type id field: "member 3 type 99999 past the last type 512". */
  typeRef(at: number, what: string, index = -1): number {
    const id = this.#view.getUint32(at, this.#le);
    if (id > this.#lastId) {
      this.fail(at, `${index < 0 ? what : `${what} ${index} type`} ${id} past the last type ${this.#lastId}`);
    }
    return id;
  }

  /** A name offset field of a member, value or parameter. */
  str(at: number, what: string, index: number): string {
    const off = this.#view.getUint32(at, this.#le);
    if (off === 0) return '';
    if (off >= this.#strings.length) {
      this.fail(
        at,
        `${what} ${index} name offset 0x${hex(off)} past the end of the string section (0x${hex(this.#strings.length)})`,
      );
    }
    return this.#strings.get(off);
  }

  decode(p: number, id: number): BtfType {
    const view = this.#view;
    const le = this.#le;
    const nameOff = view.getUint32(p, le);
    const info = view.getUint32(p + 4, le);
    const sizeType = view.getUint32(p + 8, le);
    const k = BTF_KINDS[(info >>> 24) & 0x1f]!;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    this.#id = id;
    this.#label = k.label;
    this.#name = undefined;
    if (nameOff >= this.#strings.length) {
      this.fail(
        p,
        `name offset 0x${hex(nameOff)} past the end of the string section (0x${hex(this.#strings.length)})`,
      );
    }
    const name = nameOff === 0 ? '' : this.#strings.get(nameOff);
    this.#name = name;
    if ((info & 0x60ff0000) !== 0) this.fail(p + 4, `reserved info bits set (info 0x${hex(info)})`);
    if (kflag && !k.kindFlag) this.fail(p + 4, 'kind_flag set on a kind without one');
    if (vlen !== 0 && k.vlenRecordSize === 0 && k.kind !== 'func')
      this.fail(p + 4, `vlen ${vlen} on a kind without records`);
    const q = p + 12;
    switch (k.kind) {
      case 'int': {
        const data = view.getUint32(q, le);
        if ((data & 0xf000ff00) !== 0) this.fail(q, `reserved bits set in the encoding word 0x${hex(data)}`);
        return {
          kind: 'int',
          id,
          name,
          nameOff,
          size: sizeType,
          encoding: (data >>> 24) & 0x0f,
          bitsOffset: (data >>> 16) & 0xff,
          nrBits: data & 0xff,
        };
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
        return { kind: k.kind, id, name, nameOff, typeId: this.typeRef(p + 8, 'type') };
      case 'type_tag':
        return { kind: 'type_tag', id, name, nameOff, typeId: this.typeRef(p + 8, 'type'), attribute: kflag };
      case 'array':
        if (sizeType !== 0) this.fail(p + 8, `size ${sizeType} set (arrays take theirs from the element)`);
        return {
          kind: 'array',
          id,
          name,
          nameOff,
          typeId: this.typeRef(q, 'element type'),
          indexTypeId: this.typeRef(q + 4, 'index type'),
          nelems: view.getUint32(q + 8, le),
        };
      case 'struct':
      case 'union': {
        const members: BtfMember[] = new Array(vlen);
        for (let j = 0; j < vlen; j++) {
          const m = q + j * 12;
          const offset = view.getUint32(m + 8, le);
          members[j] = {
            name: this.str(m, 'member', j),
            nameOff: view.getUint32(m, le),
            typeId: this.typeRef(m + 4, 'member', j),
            bitsOffset: kflag ? offset & 0xffffff : offset,
            bitfieldSize: kflag ? offset >>> 24 : 0,
          };
        }
        return { kind: k.kind, id, name, nameOff, size: sizeType, kindFlag: kflag, members };
      }
      case 'enum': {
        const values: BtfEnumValue[] = new Array(vlen);
        for (let j = 0; j < vlen; j++) {
          const v = q + j * 8;
          values[j] = {
            name: this.str(v, 'value', j),
            nameOff: view.getUint32(v, le),
            value: kflag ? view.getInt32(v + 4, le) : view.getUint32(v + 4, le),
          };
        }
        return { kind: 'enum', id, name, nameOff, size: sizeType, signed: kflag, values };
      }
      case 'enum64': {
        const values: BtfEnum64Value[] = new Array(vlen);
        for (let j = 0; j < vlen; j++) {
          const v = q + j * 12;
          const raw = (BigInt(view.getUint32(v + 8, le)) << 32n) | BigInt(view.getUint32(v + 4, le));
          values[j] = {
            name: this.str(v, 'value', j),
            nameOff: view.getUint32(v, le),
            value: kflag ? BigInt.asIntN(64, raw) : raw,
          };
        }
        return { kind: 'enum64', id, name, nameOff, size: sizeType, signed: kflag, values };
      }
      case 'fwd':
        if (sizeType !== 0) this.fail(p + 8, `size/type ${sizeType} set on a forward declaration`);
        return { kind: 'fwd', id, name, nameOff, fwdKind: kflag ? 'union' : 'struct' };
      case 'func': {
        const linkage = LINKAGES[vlen];
        if (linkage === undefined) this.fail(p + 4, `unknown linkage ${vlen}`);
        return { kind: 'func', id, name, nameOff, typeId: this.typeRef(p + 8, 'type'), linkage };
      }
      case 'func_proto': {
        const params: BtfParam[] = new Array(vlen);
        for (let j = 0; j < vlen; j++) {
          const a = q + j * 8;
          params[j] = {
            name: this.str(a, 'param', j),
            nameOff: view.getUint32(a, le),
            typeId: this.typeRef(a + 4, 'param', j),
          };
        }
        return {
          kind: 'func_proto',
          id,
          name,
          nameOff,
          returnTypeId: this.typeRef(p + 8, 'return type'),
          params,
        };
      }
      case 'var': {
        const linkageNo = view.getUint32(q, le);
        const linkage = LINKAGES[linkageNo];
        if (linkage === undefined) this.fail(q, `unknown linkage ${linkageNo}`);
        return { kind: 'var', id, name, nameOff, typeId: this.typeRef(p + 8, 'type'), linkage };
      }
      case 'datasec': {
        const vars: BtfVarSecinfo[] = new Array(vlen);
        for (let j = 0; j < vlen; j++) {
          const v = q + j * 12;
          vars[j] = {
            typeId: this.typeRef(v, 'variable', j),
            offset: view.getUint32(v + 4, le),
            size: view.getUint32(v + 8, le),
          };
        }
        return { kind: 'datasec', id, name, nameOff, size: sizeType, vars };
      }
      case 'float':
        return { kind: 'float', id, name, nameOff, size: sizeType };
      case 'decl_tag':
        return {
          kind: 'decl_tag',
          id,
          name,
          nameOff,
          typeId: this.typeRef(p + 8, 'type'),
          componentIdx: view.getInt32(q, le),
          attribute: kflag,
        };
    }
  }
}

/**
 * Parse a `.BTF` blob. Every field is checked: a {@link BtfError} names the byte offset and what is
 * wrong; nothing else is thrown for any input.
 */
export function parseBtf(bytes: Uint8Array, options: ParseBtfOptions = {}): Btf {
  const base = options.base;
  const fail = (offset: number, what: string): never => {
    throw new BtfError(`load BTF: ${what} (byte offset 0x${hex(offset)})`, { offset });
  };
  if (bytes.length < BTF_HEADER_SIZE) {
    fail(0, `${bytes.length} bytes is shorter than the ${BTF_HEADER_SIZE}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = view.getUint16(0, true);
  let le: boolean;
  if (magicLe === BTF_MAGIC) le = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) le = false;
  else return fail(0, `bad magic 0x${hex(magicLe)}, want 0x${hex(BTF_MAGIC)}`);
  if (options.bigEndian !== undefined && options.bigEndian === le) {
    fail(0, `magic says ${le ? 'little' : 'big'}-endian, but ${le ? 'big' : 'little'}-endian was asked for`);
  }
  if (base && base.bigEndian === le) fail(0, 'split BTF in another byte order than its base');
  const version = view.getUint8(2);
  if (version !== BTF_VERSION) fail(2, `unsupported version ${version}, want ${BTF_VERSION}`);
  const flags = view.getUint8(3);
  const hdrLen = view.getUint32(4, le);
  if (hdrLen < BTF_HEADER_SIZE) fail(4, `header length ${hdrLen} is shorter than ${BTF_HEADER_SIZE}`);
  if (hdrLen > bytes.length) fail(4, `header length ${hdrLen} past the end of the ${bytes.length} bytes`);
  // A longer header comes from a newer producer; its extra fields are only safe to skip when unset.
  for (let i = BTF_HEADER_SIZE; i < hdrLen; i++) {
    if (bytes[i] !== 0) fail(i, `unknown header field set at header byte ${i}`);
  }
  const typeOff = view.getUint32(8, le);
  const typeLen = view.getUint32(12, le);
  const strOff = view.getUint32(16, le);
  const strLen = view.getUint32(20, le);
  const header: BtfHeader = { magic: BTF_MAGIC, version, flags, hdrLen, typeOff, typeLen, strOff, strLen };
  const dataLen = bytes.length - hdrLen;
  if (typeOff + typeLen > dataLen) {
    fail(
      8,
      `type section 0x${hex(typeOff)}+0x${hex(typeLen)} past the end of the data (0x${hex(dataLen)} bytes)`,
    );
  }
  if (strOff + strLen > dataLen) {
    fail(
      16,
      `string section 0x${hex(strOff)}+0x${hex(strLen)} past the end of the data (0x${hex(dataLen)} bytes)`,
    );
  }
  // As the kernel: the two sections tile the data, in either order, without gaps or overlap, so
  // that writing the types and strings back reproduces every byte.
  const [first, second] = typeOff <= strOff ? [typeOff, typeOff + typeLen] : [strOff, strOff + strLen];
  const [third, fourth] = typeOff <= strOff ? [strOff, strOff + strLen] : [typeOff, typeOff + typeLen];
  if (first !== 0) fail(hdrLen, `${first} bytes between the header and the first section`);
  if (third !== second) {
    fail(
      hdrLen + Math.min(second, third),
      third < second ? 'type and string sections overlap' : 'gap between sections',
    );
  }
  if (fourth !== dataLen) fail(hdrLen + fourth, `${dataLen - fourth} bytes after the last section`);

  // Strings: the kernel's rules, which make every offset below the length a terminated string.
  const strStart = hdrLen + strOff;
  if (strLen === 0 && !base) fail(strStart, 'empty string section (it must hold at least the empty name)');
  if (!base && bytes[strStart] !== 0) fail(strStart, 'string section does not start with the empty name');
  if (strLen > 0 && bytes[strStart + strLen - 1] !== 0) {
    fail(strStart + strLen - 1, 'string section does not end with a NUL: the last string is unterminated');
  }
  const strings = new BtfStrings(bytes.slice(strStart, strStart + strLen), base?.strings);

  // Pass 1: find where each record starts, so pass 2 knows the last type id when it checks references.
  const typeStart = hdrLen + typeOff;
  const typeEnd = typeStart + typeLen;
  let offsets = new Uint32Array(Math.max(16, typeLen >>> 4));
  let count = 0;
  const firstId = base ? base.typeCount : 1;
  for (let p = typeStart; p < typeEnd; ) {
    const id = firstId + count;
    if (p + 12 > typeEnd) fail(p, `type [${id}]: record header past the end of the type section`);
    const info = view.getUint32(p + 4, le);
    const kindNo = (info >>> 24) & 0x1f;
    const k = BTF_KINDS[kindNo];
    if (k === undefined) return fail(p + 4, `type [${id}]: unknown kind ${kindNo}`);
    const vlen = info & 0xffff;
    const size = recordSize(k, vlen);
    if (p + size > typeEnd) {
      fail(
        p,
        `type [${id}] ${k.label}: ${size}-byte record (vlen=${vlen}) past the end of the type section at 0x${hex(typeEnd)}`,
      );
    }
    if (count === offsets.length) {
      const grown = new Uint32Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[count++] = p;
    p += size;
  }
  const lastId = firstId + count - 1;

  // Pass 2: decode and check each record.
  const d = new RecordDecoder(view, le, strings, lastId);
  const types: BtfType[] = new Array(count);
  for (let i = 0; i < count; i++) types[i] = d.decode(offsets[i]!, firstId + i);
  return new Btf({ header, bigEndian: !le, base, strings: strings.bytes, types });
}

/** Bytes the type section of these types takes. */
function typeSectionSize(types: readonly BtfType[]): number {
  let n = 0;
  for (const t of types) n += recordSize(BTF_KIND_INFO[t.kind], vlenOf(t));
  return n;
}

function vlenOf(t: BtfType): number {
  switch (t.kind) {
    case 'struct':
    case 'union':
      return t.members.length;
    case 'enum':
    case 'enum64':
      return t.values.length;
    case 'func_proto':
      return t.params.length;
    case 'datasec':
      return t.vars.length;
    case 'func':
      return LINKAGES.indexOf(t.linkage);
    default:
      return 0;
  }
}

function kindFlagOf(t: BtfType): boolean {
  switch (t.kind) {
    case 'struct':
    case 'union':
      return t.kindFlag;
    case 'enum':
    case 'enum64':
      return t.signed;
    case 'fwd':
      return t.fwdKind === 'union';
    case 'decl_tag':
    case 'type_tag':
      return t.attribute;
    default:
      return false;
  }
}

/**
 * Encode a BTF: the header (keeping its magic, version, flags, header length and section order),
 * the types in order, and the string section as it is. For a {@link Btf} from {@link parseBtf} the
 * result is the parsed bytes, byte for byte.
 */
export function writeBtf(btf: Btf): Uint8Array {
  const le = !btf.bigEndian;
  const h = btf.header;
  const hdrLen = Math.max(h.hdrLen, BTF_HEADER_SIZE);
  const typeLen = typeSectionSize(btf.types);
  const strings = btf.strings.bytes;
  const stringsFirst = h.strOff < h.typeOff;
  const typeOff = stringsFirst ? strings.length : 0;
  const strOff = stringsFirst ? 0 : typeLen;
  const out = new Uint8Array(hdrLen + typeLen + strings.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, h.magic, le);
  view.setUint8(2, h.version);
  view.setUint8(3, h.flags);
  view.setUint32(4, hdrLen, le);
  view.setUint32(8, typeOff, le);
  view.setUint32(12, typeLen, le);
  view.setUint32(16, strOff, le);
  view.setUint32(20, strings.length, le);
  out.set(strings, hdrLen + strOff);
  let p = hdrLen + typeOff;
  const u32 = (value: number): void => {
    view.setUint32(p, value >>> 0, le);
    p += 4;
  };
  for (const t of btf.types) {
    const k = BTF_KIND_INFO[t.kind];
    u32(t.nameOff);
    u32(((kindFlagOf(t) ? 1 : 0) << 31) | (k.number << 24) | vlenOf(t));
    switch (t.kind) {
      case 'int':
        u32(t.size);
        u32((t.encoding << 24) | (t.bitsOffset << 16) | t.nrBits);
        break;
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'func':
        u32(t.typeId);
        break;
      case 'array':
        u32(0);
        u32(t.typeId);
        u32(t.indexTypeId);
        u32(t.nelems);
        break;
      case 'struct':
      case 'union':
        u32(t.size);
        for (const m of t.members) {
          u32(m.nameOff);
          u32(m.typeId);
          u32(t.kindFlag ? (m.bitfieldSize << 24) | m.bitsOffset : m.bitsOffset);
        }
        break;
      case 'enum':
        u32(t.size);
        for (const v of t.values) {
          u32(v.nameOff);
          u32(v.value);
        }
        break;
      case 'enum64':
        u32(t.size);
        for (const v of t.values) {
          const raw = BigInt.asUintN(64, v.value);
          u32(v.nameOff);
          u32(Number(raw & 0xffffffffn));
          u32(Number(raw >> 32n));
        }
        break;
      case 'fwd':
        u32(0);
        break;
      case 'func_proto':
        u32(t.returnTypeId);
        for (const a of t.params) {
          u32(a.nameOff);
          u32(a.typeId);
        }
        break;
      case 'var':
        u32(t.typeId);
        u32(LINKAGES.indexOf(t.linkage));
        break;
      case 'datasec':
        u32(t.size);
        for (const v of t.vars) {
          u32(v.typeId);
          u32(v.offset);
          u32(v.size);
        }
        break;
      case 'float':
        u32(t.size);
        break;
      case 'decl_tag':
        u32(t.typeId);
        u32(t.componentIdx);
        break;
    }
  }
  return out;
}
