/**
 * `.BTF.ext`: what a compiler says about the code of a BPF object, in three tables keyed by ELF
 * section: func_info (which BTF FUNC starts at which instruction), line_info (source file, line
 * text, line and column per instruction) and core_relo (the CO-RE relocations libbpf applies before
 * loading). Names and text are offsets into the `.BTF` string table, so it is parsed against a
 * {@link Btf}.
 *
 * ```
 *  header (hdr_len bytes: 24, or 32 with core_relo, since LLVM 12 / kernel 5.11)
 *   0       2       3       4             8               12              16              20
 *  +-------+-------+-------+-------------+---------------+---------------+---------------+---------------+
 *  | magic |version| flags |   hdr_len   | func_info_off | func_info_len | line_info_off | line_info_len |
 *  +-------+-------+-------+-------------+---------------+---------------+---------------+---------------+
 *   24              28              (offsets count from the end of the header)
 *  +---------------+---------------+
 *  | core_relo_off | core_relo_len |
 *  +---------------+---------------+
 *
 *  each table: u32 record_size, then per ELF section: u32 sec_name_off, u32 num_info, records
 *  func_info record (8):   insn_off | type_id
 *  line_info record (16):  insn_off | file_name_off | line_off | line_col (line << 10 | column)
 *  core_relo record (16):  insn_off | type_id | access_str_off | kind
 * ```
 *
 * `insn_off` is a byte offset into the section in an object file (libbpf turns it into an
 * instruction index before loading), so we give both. A record_size larger than we know is a newer
 * producer's: its known prefix is read and the rest skipped, as libbpf does.
 */
import { type Btf, BtfError } from './btf.js';

/** The CO-RE relocation kinds (`enum bpf_core_relo_kind`), by number. */
export const CORE_RELO_KINDS = [
  { kind: 'field_byte_offset', llvmName: 'byte_off' },
  { kind: 'field_byte_size', llvmName: 'byte_sz' },
  { kind: 'field_exists', llvmName: 'field_exists' },
  { kind: 'field_signed', llvmName: 'signed' },
  { kind: 'field_lshift_u64', llvmName: 'lshift_u64' },
  { kind: 'field_rshift_u64', llvmName: 'rshift_u64' },
  { kind: 'type_id_local', llvmName: 'local_type_id' },
  { kind: 'type_id_target', llvmName: 'target_type_id' },
  { kind: 'type_exists', llvmName: 'type_exists' },
  { kind: 'type_size', llvmName: 'type_size' },
  { kind: 'enumval_exists', llvmName: 'enumval_exists' },
  { kind: 'enumval_value', llvmName: 'enumval_value' },
  { kind: 'type_matches', llvmName: 'type_matches' },
] as const;

/** A CO-RE relocation kind, libbpf's `BPF_CORE_*` in lower case; `llvmName` is how llvm-objdump prints it. */
export type CoreReloKind = (typeof CORE_RELO_KINDS)[number]['kind'];

/** `BTF_EXT_MAGIC` is the BTF magic too. */
const BTF_EXT_MAGIC = 0xeb9f;
/** Header without core_relo: magic..line_info_len. */
const BTF_EXT_HEADER_MIN = 24;
/** Header with core_relo_off/len. */
const BTF_EXT_HEADER_CORE = 32;
const INSN_SIZE = 8;

/** The header fields as read (offsets relative to the end of the header). */
export interface BtfExtHeader {
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly funcInfoOff: number;
  readonly funcInfoLen: number;
  readonly lineInfoOff: number;
  readonly lineInfoLen: number;
  /** 0 when the header has no core_relo fields. */
  readonly coreReloOff: number;
  readonly coreReloLen: number;
}

/** Which BTF FUNC starts at an instruction. */
export interface BtfExtFuncInfo {
  /** Byte offset in the ELF section. */
  readonly insnOff: number;
  /** `insnOff / 8`: the slot index. */
  readonly insnIndex: number;
  readonly typeId: number;
}

/** Where an instruction came from in the source. */
export interface BtfExtLineInfo {
  readonly insnOff: number;
  readonly insnIndex: number;
  readonly fileNameOff: number;
  readonly fileName: string;
  readonly lineOff: number;
  /** The source line's text. */
  readonly line: string;
  readonly lineNumber: number;
  readonly column: number;
}

/** A CO-RE relocation: how to fix the instruction at `insnOff` for the running kernel's types. */
export interface BtfExtCoreRelo {
  readonly insnOff: number;
  readonly insnIndex: number;
  /** The local type (in this object's BTF) the access starts from. */
  readonly typeId: number;
  readonly accessStrOff: number;
  /** `0:1:2`: member/array indexes from the type, or the enumerator index for enumval kinds. */
  readonly accessStr: string;
  readonly kind: CoreReloKind;
}

/** The records of one table for one ELF section. */
export interface BtfExtSection<R> {
  /** The ELF section name (`kprobe/foo`, `.text`). */
  readonly section: string;
  readonly sectionNameOff: number;
  readonly records: readonly R[];
}

/** A parsed `.BTF.ext`. */
export interface BtfExt {
  readonly header: BtfExtHeader;
  readonly bigEndian: boolean;
  /** record_size of each table as written (0 when the table is empty). */
  readonly funcInfoRecordSize: number;
  readonly lineInfoRecordSize: number;
  readonly coreReloRecordSize: number;
  readonly funcInfo: readonly BtfExtSection<BtfExtFuncInfo>[];
  readonly lineInfo: readonly BtfExtSection<BtfExtLineInfo>[];
  readonly coreRelos: readonly BtfExtSection<BtfExtCoreRelo>[];
}

/** A `.BTF.ext` that cannot be read, with the byte offset of the bad field. */
export class BtfExtError extends BtfError {
  override name = 'BtfExtError';
}

/** Options of {@link parseBtfExt}. */
export interface ParseBtfExtOptions {
  /** Require this byte order; by default the magic decides. */
  readonly bigEndian?: boolean;
}

type Reader<R> = (at: number, where: () => string) => R;

/**
 * Parse `.BTF.ext` bytes whose strings and types live in `btf`. Every field is checked; a
 * {@link BtfExtError} names the byte offset and what is wrong, and nothing else is thrown.
 */
export function parseBtfExt(bytes: Uint8Array, btf: Btf, options: ParseBtfExtOptions = {}): BtfExt {
  const fail = (offset: number, what: string): never => {
    throw new BtfExtError(`load BTF.ext: ${what} (byte offset 0x${offset.toString(16)})`, { offset });
  };
  if (bytes.length < 8) fail(0, `${bytes.length} bytes is shorter than the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = view.getUint16(0, true);
  let le: boolean;
  if (magicLe === BTF_EXT_MAGIC) le = true;
  else if (view.getUint16(0, false) === BTF_EXT_MAGIC) le = false;
  else return fail(0, `bad magic 0x${magicLe.toString(16)}, want 0x${BTF_EXT_MAGIC.toString(16)}`);
  if (options.bigEndian !== undefined && options.bigEndian === le) {
    fail(0, `magic says ${le ? 'little' : 'big'}-endian, but ${le ? 'big' : 'little'}-endian was asked for`);
  }
  const version = view.getUint8(2);
  if (version !== 1) fail(2, `unsupported version ${version}, want 1`);
  const flags = view.getUint8(3);
  const hdrLen = view.getUint32(4, le);
  if (hdrLen < BTF_EXT_HEADER_MIN) fail(4, `header length ${hdrLen} is shorter than ${BTF_EXT_HEADER_MIN}`);
  if (hdrLen > bytes.length) fail(4, `header length ${hdrLen} past the end of the ${bytes.length} bytes`);
  const u32 = (at: number): number => view.getUint32(at, le);
  const hasCore = hdrLen >= BTF_EXT_HEADER_CORE;
  const header: BtfExtHeader = {
    version,
    flags,
    hdrLen,
    funcInfoOff: u32(8),
    funcInfoLen: u32(12),
    lineInfoOff: u32(16),
    lineInfoLen: u32(20),
    coreReloOff: hasCore ? u32(24) : 0,
    coreReloLen: hasCore ? u32(28) : 0,
  };

  const string = (at: number, off: number, what: string, where: () => string): string => {
    if (!btf.strings.has(off)) {
      fail(
        at,
        `${where()}: ${what} offset 0x${off.toString(16)} past the end of the BTF string section (0x${btf.strings.length.toString(16)})`,
      );
    }
    return btf.strings.get(off);
  };
  const typeId = (at: number, id: number, where: () => string): number => {
    if (id >= btf.typeCount) fail(at, `${where()}: type ${id} past the last type ${btf.typeCount - 1}`);
    return id;
  };
  const insn = (at: number, where: () => string): { insnOff: number; insnIndex: number } => {
    const insnOff = u32(at);
    if (insnOff % INSN_SIZE !== 0)
      fail(at, `${where()}: instruction offset ${insnOff} is not a multiple of ${INSN_SIZE}`);
    return { insnOff, insnIndex: insnOff / INSN_SIZE };
  };

  /** Read one table: record size, then sections of records, each record read by `read`. */
  function table<R>(
    name: string,
    offField: number,
    off: number,
    len: number,
    minRecord: number,
    read: Reader<R>,
  ): { recordSize: number; sections: BtfExtSection<R>[] } {
    const sections: BtfExtSection<R>[] = [];
    if (len === 0) return { recordSize: 0, sections };
    const start = hdrLen + off;
    const end = start + len;
    if (end > bytes.length) {
      fail(
        offField,
        `${name} 0x${off.toString(16)}+0x${len.toString(16)} past the end of the ${bytes.length} bytes`,
      );
    }
    if (len < 4) fail(start, `${name} of ${len} bytes has no record size`);
    const recordSize = u32(start);
    if (recordSize < minRecord || recordSize % 4 !== 0) {
      fail(start, `${name} record size ${recordSize}, want a multiple of 4 of at least ${minRecord}`);
    }
    for (let p = start + 4; p < end; ) {
      if (p + 8 > end) fail(p, `${name}: section header past the end of ${name}`);
      const sectionNameOff = u32(p);
      const count = u32(p + 4);
      const section = string(p, sectionNameOff, 'section name', () => `${name} section ${sections.length}`);
      const records: R[] = [];
      const first = p + 8;
      if (first + count * recordSize > end) {
        fail(
          p + 4,
          `${name} section '${section}': ${count} records of ${recordSize} bytes past the end of ${name}`,
        );
      }
      for (let i = 0; i < count; i++) {
        records.push(read(first + i * recordSize, () => `${name} section '${section}' record ${i}`));
      }
      sections.push({ section, sectionNameOff, records });
      p = first + count * recordSize;
    }
    return { recordSize, sections };
  }

  const func = table<BtfExtFuncInfo>(
    'func_info',
    8,
    header.funcInfoOff,
    header.funcInfoLen,
    8,
    (at, where) => ({
      ...insn(at, where),
      typeId: typeId(at + 4, u32(at + 4), where),
    }),
  );
  const line = table<BtfExtLineInfo>(
    'line_info',
    16,
    header.lineInfoOff,
    header.lineInfoLen,
    16,
    (at, where) => {
      const fileNameOff = u32(at + 4);
      const lineOff = u32(at + 8);
      const lineCol = u32(at + 12);
      return {
        ...insn(at, where),
        fileNameOff,
        fileName: string(at + 4, fileNameOff, 'file name', where),
        lineOff,
        line: string(at + 8, lineOff, 'line text', where),
        lineNumber: lineCol >>> 10,
        column: lineCol & 0x3ff,
      };
    },
  );
  const core = table<BtfExtCoreRelo>(
    'core_relo',
    24,
    header.coreReloOff,
    header.coreReloLen,
    16,
    (at, where) => {
      const accessStrOff = u32(at + 8);
      const kindNo = u32(at + 12);
      const kind = CORE_RELO_KINDS[kindNo];
      if (kind === undefined) return fail(at + 12, `${where()}: unknown CO-RE relocation kind ${kindNo}`);
      return {
        ...insn(at, where),
        typeId: typeId(at + 4, u32(at + 4), where),
        accessStrOff,
        accessStr: string(at + 8, accessStrOff, 'access string', where),
        kind: kind.kind,
      };
    },
  );
  return {
    header,
    bigEndian: !le,
    funcInfoRecordSize: func.recordSize,
    lineInfoRecordSize: line.recordSize,
    coreReloRecordSize: core.recordSize,
    funcInfo: func.sections,
    lineInfo: line.sections,
    coreRelos: core.sections,
  };
}
