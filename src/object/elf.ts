/**
 * The ELF64 reader for BPF object files (what `clang -target bpf -c` writes): the file header,
 * the sections, the symbol table and the static relocations, checked against each other so that
 * later layers (BTF, program loading, relocation) can index into them without re-checking.
 *
 * Bytes in, values out: no `fs`, no `process`, so it runs in a browser. Every problem found is an
 * {@link ElfError} naming the byte offset and, when there is one, the section; every loop is
 * bounded by a count already checked against the file's length, so hostile input cannot hang it.
 *
 * Layouts (System V gABI, ELF64). Every multi-byte field is in the byte order named by
 * `e_ident[EI_DATA]`: 1 little-endian (`-target bpfel`), 2 big-endian (`-target bpfeb`).
 *
 * ELF header, `Elf64_Ehdr`, 64 bytes at offset 0, 16 bytes a row:
 * ```
 *  0x00 +----+----+----+----+-------+------+---------+-------+----------------------------+
 *       | 7f | 45 | 4c | 46 | class | data | version | osabi | abiversion, padding (8)    |
 *       +----+----+----+----+-------+------+---------+-------+----------------------------+
 *              'E'  'L'  'F'  2=64    1=LE
 *                                     2=BE
 *  0x10 +-----------+-----------+-----------------------+-------------------------------+
 *       |  e_type   | e_machine |    e_version (u32)    |         e_entry (u64)         |
 *       +-----------+-----------+-----------------------+-------------------------------+
 *        1 = ET_REL  247 = EM_BPF
 *  0x20 +-------------------------------+-------------------------------+
 *       |         e_phoff (u64)         |         e_shoff (u64)         |
 *       +-------------------------------+-------------------------------+
 *  0x30 +---------------+-------+-------+-------+-------+-------+-------+
 *       | e_flags (u32) |ehsize |phentsz| phnum |shentsz| shnum |shstrndx
 *       +---------------+-------+-------+-------+-------+-------+-------+
 *                        e_ehsize .. e_shstrndx: u16 each; e_shentsize = 64
 * ```
 * `e_shnum` 0 with `e_shoff` set: the count did not fit and is section 0's `sh_size`;
 * `e_shstrndx` 0xffff (SHN_XINDEX): the index is section 0's `sh_link`.
 *
 * Section header, `Elf64_Shdr`, 64 bytes each, `e_shnum` of them at `e_shoff`:
 * ```
 *  +0x00 sh_name  u32 (offset in .shstrtab) | +0x04 sh_type u32
 *  +0x08 sh_flags u64 | +0x10 sh_addr u64 | +0x18 sh_offset u64 | +0x20 sh_size u64
 *  +0x28 sh_link  u32 | +0x2c sh_info u32 | +0x30 sh_addralign u64 | +0x38 sh_entsize u64
 * ```
 * For SHT_SYMTAB `sh_link` is its string table; for SHT_REL/SHT_RELA `sh_link` is the symbol
 * table and `sh_info` the section the relocations apply to.
 *
 * Symbol, `Elf64_Sym`, 24 bytes:
 * ```
 *  +0x00 +-----------------------+---------+---------+-----------+
 *        |  st_name (u32)        | st_info | st_other| st_shndx  |
 *        +-----------------------+---------+---------+-----------+
 *                                 bind<<4   visibility  section index, or
 *                                 | type    in bits 0-1 0 UNDEF, 0xfff1 ABS, 0xfff2 COMMON,
 *                                                       0xffff XINDEX (see SHT_SYMTAB_SHNDX)
 *  +0x08  st_value (u64)   +0x10  st_size (u64)
 * ```
 *
 * Relocation, `Elf64_Rel` 16 bytes / `Elf64_Rela` 24 bytes:
 * ```
 *  +0x00 r_offset (u64) | +0x08 r_info (u64) = symbol index << 32 | type | +0x10 r_addend (s64, RELA only)
 * ```
 * In an ET_REL file `r_offset` is relative to the start of the target section; in linked files it
 * is a virtual address.
 */
import { TsbpfError } from '../errors.js';

/** `e_machine` of a BPF object (LLVM `EM_BPF`). */
export const EM_BPF = 247;

/** `e_type` values. clang's `-c` output is `REL`. */
export const ElfType = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;

/** `sh_type` values this reader gives meaning to, plus the ones BPF objects carry. */
export const SectionType = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  INIT_ARRAY: 14,
  FINI_ARRAY: 15,
  GROUP: 17,
  SYMTAB_SHNDX: 18,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** `sh_flags` bits. */
export const SectionFlag = {
  WRITE: 0x1,
  ALLOC: 0x2,
  EXECINSTR: 0x4,
  MERGE: 0x10,
  STRINGS: 0x20,
  INFO_LINK: 0x40,
  GROUP: 0x200,
  TLS: 0x400,
  EXCLUDE: 0x80000000,
} as const;

/** Special `st_shndx` values: a symbol's section index at or above `LORESERVE` is not a section. */
export const SpecialSectionIndex = {
  UNDEF: 0,
  LORESERVE: 0xff00,
  ABS: 0xfff1,
  COMMON: 0xfff2,
  XINDEX: 0xffff,
} as const;

/** BPF relocation types (LLVM `llvm/BinaryFormat/ELFRelocs/BPF.def`). */
export const BpfRelocationType = {
  R_BPF_NONE: 0,
  /** the 64-bit immediate of an `lddw` (map or global variable address) */
  R_BPF_64_64: 1,
  /** a 64-bit absolute address in data (DWARF) */
  R_BPF_64_ABS64: 2,
  /** a 32-bit absolute address in data (DWARF) */
  R_BPF_64_ABS32: 3,
  /** like ABS32 but left alone by RuntimeDyld; BTF and BTF.ext use it */
  R_BPF_64_NODYLD32: 4,
  /** the immediate of a call (bpf-to-bpf call or kfunc), in slots */
  R_BPF_64_32: 10,
} as const;

/** Name of a BPF relocation type. */
export type BpfRelocationName = keyof typeof BpfRelocationType;
/** A relocation type's name: the BPF name on EM_BPF, `unknown(N)` otherwise. */
export type RelocationTypeName = BpfRelocationName | `unknown(${number})`;

/** `ELF64_ST_TYPE` values by name. */
export const SymbolTypes = {
  notype: 0,
  object: 1,
  func: 2,
  section: 3,
  file: 4,
  common: 5,
  tls: 6,
  gnu_ifunc: 10,
} as const;
/** A symbol's type: a name from {@link SymbolTypes}, or `unknown(N)`. */
export type SymbolType = keyof typeof SymbolTypes | `unknown(${number})`;

/** `ELF64_ST_BIND` values by name. */
export const SymbolBinds = { local: 0, global: 1, weak: 2, gnu_unique: 10 } as const;
/** A symbol's binding: a name from {@link SymbolBinds}, or `unknown(N)`. */
export type SymbolBind = keyof typeof SymbolBinds | `unknown(${number})`;

/** `ELF64_ST_VISIBILITY` values, indexed by their number (the low 2 bits of `st_other`). */
export const SymbolVisibilities = ['default', 'internal', 'hidden', 'protected'] as const;
/** A symbol's visibility. */
export type SymbolVisibility = (typeof SymbolVisibilities)[number];

/** One section header and a view of its bytes. */
export interface ElfSection {
  readonly index: number;
  readonly name: string;
  /** `sh_type`, see {@link SectionType} */
  readonly type: number;
  /** `sh_flags`, see {@link SectionFlag} */
  readonly flags: number;
  readonly addr: number;
  /** file offset of the data */
  readonly offset: number;
  /** size in bytes; for SHT_NOBITS the size in memory, with no bytes in the file */
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** A view of the section's bytes in the input (not a copy); empty for SHT_NOBITS. */
  readonly data: Uint8Array;
}

/** One symbol table entry. */
export interface ElfSymbol {
  /** index in the symbol table; 0 is the null symbol */
  readonly index: number;
  /** `st_name` resolved; empty for section symbols, whose name is their section's */
  readonly name: string;
  /** offset in its section for ET_REL files, an address in linked files */
  readonly value: number;
  readonly size: number;
  readonly type: SymbolType;
  readonly bind: SymbolBind;
  readonly visibility: SymbolVisibility;
  /** the section it is defined in, or a {@link SpecialSectionIndex} (0 = undefined) */
  readonly sectionIndex: number;
}

/** One relocation entry, with its symbol resolved. */
export interface ElfRelocation {
  /** `r_offset`: in an ET_REL file, the byte offset in the target section */
  readonly offset: number;
  readonly symbolIndex: number;
  readonly symbol: ElfSymbol;
  /** the machine-specific type number (for BPF, see {@link BpfRelocationType}) */
  readonly type: number;
  readonly typeName: RelocationTypeName;
  /** `r_addend` of a RELA entry; 0 for REL, whose addend is in the patched bytes */
  readonly addend: bigint;
}

/** A parsed ELF64 file. Everything in it has been checked against everything else. */
export interface ElfFile {
  readonly bigEndian: boolean;
  /** `e_machine`; {@link EM_BPF} for BPF objects */
  readonly machine: number;
  /** `e_type`, see {@link ElfType} */
  readonly type: number;
  /** every section header, indexed by section number (0 is the null section) */
  readonly sections: readonly ElfSection[];
  /** the SHT_SYMTAB entries, indexed by symbol number; empty if there is no symbol table */
  readonly symbols: readonly ElfSymbol[];
  /**
   * The static relocations that apply to a section (from every SHT_REL/SHT_RELA section whose
   * `sh_info` names it, in section order). Relocation sections linked to `.dynsym` (dynamic
   * relocations of linked executables) are not read.
   */
  relocations(section: ElfSection | number): readonly ElfRelocation[];
  /** The first section with this name. */
  sectionByName(name: string): ElfSection | undefined;
  /** The symbols defined in a section, in symbol table order. */
  symbolsIn(sectionIndex: number): readonly ElfSymbol[];
}

/** A section an {@link ElfError} is about. */
export interface ElfSectionRef {
  readonly index: number;
  readonly name?: string;
}

/**
 * A malformed ELF file. The message reads
 * `ELF: section 5 '.rel.text': relocation 3 names symbol 99, … (byte offset 0x2a8)`.
 */
export class ElfError extends TsbpfError {
  override name = 'ElfError';
  /** why, without the prefix and the byte offset */
  readonly reason: string;
  /** byte offset in the file of the field or data at fault */
  readonly offset: number;
  /** the section's name when known, else its index; undefined for file-level problems */
  readonly section: string | number | undefined;
  /** the section's index, when the error is about a section */
  readonly sectionIndex: number | undefined;
  constructor(reason: string, offset: number, section?: ElfSectionRef, options?: { cause?: unknown }) {
    super(
      `ELF: ${section ? `${sectionLabel(section)}: ` : ''}${reason} (byte offset ${hex(offset)})`,
      options,
    );
    this.reason = reason;
    this.offset = offset;
    this.section = section?.name ?? section?.index;
    this.sectionIndex = section?.index;
  }
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;

/** Bytes an R_BPF_* relocation patches, from `r_offset`: how far into the target it must fit. */
const BPF_PATCH_WIDTH: Readonly<Record<number, number>> = {
  [BpfRelocationType.R_BPF_NONE]: 0,
  [BpfRelocationType.R_BPF_64_64]: 16, // both slots of the lddw: imm at +4 and +12
  [BpfRelocationType.R_BPF_64_ABS64]: 8,
  [BpfRelocationType.R_BPF_64_ABS32]: 4,
  [BpfRelocationType.R_BPF_64_NODYLD32]: 4,
  [BpfRelocationType.R_BPF_64_32]: 8, // the call instruction, imm at +4
};

const BPF_RELOCATION_NAMES = invert(BpfRelocationType);
const SYMBOL_TYPE_NAMES = invert(SymbolTypes);
const SYMBOL_BIND_NAMES = invert(SymbolBinds);

/**
 * Parses an ELF64 file. Accepts any machine and either byte order; reads sections, the symbol
 * table and static relocations, and checks every offset, size, index and string reference.
 *
 * @throws {ElfError} for anything malformed, with the byte offset and section.
 */
export function parseElf(bytes: Uint8Array): ElfFile {
  return new ElfParser(bytes).parse();
}

/** Raw section header fields before names and data are resolved. */
interface RawSection {
  readonly index: number;
  /** file offset of this header */
  readonly at: number;
  readonly nameOffset: number;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

// Field offsets inside a section header, for error offsets.
const SH_NAME = 0x00;
const SH_OFFSET = 0x18;
const SH_SIZE = 0x20;
const SH_LINK = 0x28;
const SH_INFO = 0x2c;
const SH_ENTSIZE = 0x38;

/** A string table's bytes and lazily built indexes, so each lookup costs O(1), not O(length). */
class StringTable {
  /** for each byte offset, the offset of the next NUL at or after it, or -1 */
  private nextNul: Int32Array | undefined;
  /** the whole table as text when it is pure ASCII, so names are O(1) slices of it */
  private ascii: string | undefined;
  private readonly cache = new Map<number, string>();
  constructor(
    readonly index: number,
    readonly data: Uint8Array,
  ) {}

  /** The NUL-terminated string at `offset`, or why there is none. */
  lookup(offset: number, budget: { left: number }): string | 'past-end' | 'unterminated' | 'over-budget' {
    // gABI: an empty string table is allowed, and index 0 in it is the empty name.
    if (offset === 0 && this.data.length === 0) return '';
    if (offset >= this.data.length) return 'past-end';
    if (!this.nextNul) this.build();
    const end = this.nextNul![offset];
    if (end < 0) return 'unterminated';
    if (this.ascii !== undefined) return this.ascii.slice(offset, end);
    const hit = this.cache.get(offset);
    if (hit !== undefined) return hit;
    // Non-ASCII names are decoded one by one; the budget stops a hostile file from pointing
    // thousands of names into one long string and making us decode it thousands of times.
    budget.left -= end - offset;
    if (budget.left < 0) return 'over-budget';
    const text = UTF8.decode(this.data.subarray(offset, end));
    this.cache.set(offset, text);
    return text;
  }

  private build(): void {
    const { data } = this;
    const next = new Int32Array(data.length);
    let nul = -1;
    let ascii = true;
    for (let i = data.length - 1; i >= 0; i--) {
      if (data[i] === 0) nul = i;
      else if (data[i] >= 0x80) ascii = false;
      next[i] = nul;
    }
    this.nextNul = next;
    // For ASCII, UTF-8 decoding maps byte offsets 1:1 to string indexes.
    if (ascii) this.ascii = UTF8.decode(data);
  }
}

const UTF8 = new TextDecoder('utf-8');

class ElfParser {
  private readonly view: DataView;
  private le = true;
  private raw: RawSection[] = [];
  private sections: ElfSection[] = [];
  /** shared decode budget for non-ASCII names: generous for real files, bounded for hostile ones */
  private readonly budget: { left: number };
  private readonly stringTables = new Map<number, StringTable>();

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = { left: Math.max(1 << 20, 16 * bytes.length) };
  }

  parse(): ElfFile {
    const header = this.header();
    this.readSectionHeaders(header.shoff, header.shnum, header.shentsize);
    const shstrndx = this.resolveShstrndx(header.shoff, header.shstrndx);
    this.resolveSections(shstrndx);
    this.checkOverlaps(header.shoff);
    const symtab = this.findSymbolTable();
    const symbols = symtab ? this.readSymbols(symtab) : [];
    const relocations = this.readRelocations(symtab, symbols, header.type, header.machine);
    return new ParsedElf(!this.le, header.machine, header.type, this.sections, symbols, relocations);
  }

  // --- the file header ------------------------------------------------------------------------

  private header() {
    const { bytes } = this;
    if (
      bytes.length < 4 ||
      bytes[0] !== 0x7f ||
      bytes[1] !== 0x45 ||
      bytes[2] !== 0x4c ||
      bytes[3] !== 0x46
    ) {
      const got = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new ElfError(`not an ELF file: magic is [${got}], expected [7f 45 4c 46]`, 0);
    }
    if (bytes.length < 16) {
      throw new ElfError(`truncated ELF header: ${bytes.length} bytes, need ${EHDR_SIZE}`, bytes.length);
    }
    if (bytes[4] !== 2) {
      const what = bytes[4] === 1 ? ' (ELF32)' : '';
      throw new ElfError(`not ELF64: EI_CLASS is ${bytes[4]}${what}, expected 2`, 4);
    }
    if (bytes[5] !== 1 && bytes[5] !== 2) {
      throw new ElfError(
        `bad byte order: EI_DATA is ${bytes[5]}, expected 1 (little-endian) or 2 (big-endian)`,
        5,
      );
    }
    this.le = bytes[5] === 1;
    if (bytes.length < EHDR_SIZE) {
      throw new ElfError(`truncated ELF header: ${bytes.length} bytes, need ${EHDR_SIZE}`, bytes.length);
    }
    return {
      type: this.u16(0x10),
      machine: this.u16(0x12),
      shoff: this.u64(0x28, 'e_shoff'),
      shentsize: this.u16(0x3a),
      shnum: this.u16(0x3c),
      shstrndx: this.u16(0x3e),
    };
  }

  // --- section headers ------------------------------------------------------------------------

  private readSectionHeaders(shoff: number, shnum: number, shentsize: number): void {
    const len = this.bytes.length;
    if (shoff === 0) {
      if (shnum !== 0) throw new ElfError(`e_shnum is ${shnum} but e_shoff is 0`, 0x3c);
      return;
    }
    if (shentsize !== SHDR_SIZE) {
      throw new ElfError(`e_shentsize is ${shentsize}, expected ${SHDR_SIZE}`, 0x3a);
    }
    if (shoff > len || len - shoff < SHDR_SIZE) {
      throw new ElfError(
        `section header table at ${hex(shoff)} is past the end of the file (${hex(len)} bytes)`,
        0x28,
      );
    }
    // More than 0xff00 sections: e_shnum is 0 and the count lives in section 0's sh_size.
    const count = shnum !== 0 ? shnum : this.u64(shoff + SH_SIZE, 'section 0 sh_size (section count)');
    if (count > (len - shoff) / SHDR_SIZE) {
      throw new ElfError(
        `section header table (${count} entries at ${hex(shoff)}) ` +
          `runs past the end of the file (${hex(len)} bytes)`,
        0x28,
      );
    }
    for (let index = 0; index < count; index++) {
      const at = shoff + index * SHDR_SIZE;
      const ref = { index };
      this.raw.push({
        index,
        at,
        nameOffset: this.u32(at),
        type: this.u32(at + 0x04),
        flags: this.u64(at + 0x08, 'sh_flags', ref),
        addr: this.u64(at + 0x10, 'sh_addr', ref),
        offset: this.u64(at + SH_OFFSET, 'sh_offset', ref),
        size: this.u64(at + SH_SIZE, 'sh_size', ref),
        link: this.u32(at + SH_LINK),
        info: this.u32(at + SH_INFO),
        addralign: this.u64(at + 0x30, 'sh_addralign', ref),
        entsize: this.u64(at + SH_ENTSIZE, 'sh_entsize', ref),
      });
    }
  }

  private resolveShstrndx(shoff: number, shstrndx: number): number {
    const { raw } = this;
    // e_shstrndx 0xffff: the real index did not fit and lives in section 0's sh_link.
    const index = shstrndx === SpecialSectionIndex.XINDEX && raw.length > 0 ? raw[0].link : shstrndx;
    const at = shstrndx === SpecialSectionIndex.XINDEX && raw.length > 0 ? shoff + SH_LINK : 0x3e;
    if (index === SpecialSectionIndex.UNDEF) return 0; // no section names; every name is ''
    if (index >= raw.length) {
      throw new ElfError(`e_shstrndx is ${index}, but there are only ${raw.length} sections`, at);
    }
    if (raw[index].type !== SectionType.STRTAB) {
      throw new ElfError(
        `e_shstrndx names section ${index}, which is not a string table (sh_type ${raw[index].type})`,
        at,
      );
    }
    return index;
  }

  /** Checks every section's file range, then resolves names and data views. */
  private resolveSections(shstrndx: number): void {
    const len = this.bytes.length;
    const data: Uint8Array[] = this.raw.map((s) => {
      // Section 0's size may hold the section count, and NOBITS occupies no file bytes.
      if (s.index === 0 || s.type === SectionType.NOBITS) return this.bytes.subarray(0, 0);
      if (s.offset > len || len - s.offset < s.size) {
        throw new ElfError(
          `data (${hex(s.size)} bytes at ${hex(s.offset)}) runs past the end of the file (${hex(len)} bytes)`,
          s.at + SH_OFFSET,
          { index: s.index },
        );
      }
      return this.bytes.subarray(s.offset, s.offset + s.size);
    });
    const shstrtab = shstrndx !== 0 ? this.stringTable(shstrndx, data[shstrndx]) : undefined;
    for (const s of this.raw) {
      const name = shstrtab
        ? this.string(shstrtab, s.nameOffset, s.at + SH_NAME, { index: s.index }, 'section name')
        : '';
      this.sections.push({
        index: s.index,
        name,
        type: s.type,
        flags: s.flags,
        addr: s.addr,
        offset: s.offset,
        size: s.size,
        link: s.link,
        info: s.info,
        addralign: s.addralign,
        entsize: s.entsize,
        data: data[s.index],
      });
    }
  }

  /** No two of the header, the section header table and the sections' data share a file byte. */
  private checkOverlaps(shoff: number): void {
    interface Range {
      readonly start: number;
      readonly end: number;
      readonly what: string;
      readonly section?: ElfSection;
    }
    const ranges: Range[] = [{ start: 0, end: EHDR_SIZE, what: 'the ELF header' }];
    if (this.raw.length > 0) {
      ranges.push({
        start: shoff,
        end: shoff + this.raw.length * SHDR_SIZE,
        what: 'the section header table',
      });
    }
    for (const s of this.sections) {
      if (s.data.length === 0) continue;
      ranges.push({ start: s.offset, end: s.offset + s.size, what: sectionLabel(s), section: s });
    }
    ranges.sort((a, b) => a.start - b.start || a.end - b.end);
    let widest = ranges[0];
    for (const r of ranges.slice(1)) {
      if (r.start < widest.end) {
        // Report against a section when one of the two is a section, for the error's fields.
        const [culprit, other] = r.section ? [r, widest] : [widest, r];
        const at = culprit.section ? this.raw[culprit.section.index].at + SH_OFFSET : 0;
        throw new ElfError(
          `file range ${hex(culprit.start)}-${hex(culprit.end)} ` +
            `overlaps ${other.what} (${hex(other.start)}-${hex(other.end)})`,
          at,
          culprit.section,
        );
      }
      if (r.end > widest.end) widest = r;
    }
  }

  // --- symbols --------------------------------------------------------------------------------

  private findSymbolTable(): ElfSection | undefined {
    let symtab: ElfSection | undefined;
    for (const s of this.sections) {
      if (s.type !== SectionType.SYMTAB) continue;
      if (symtab) {
        throw new ElfError(
          `a second symbol table; ${sectionLabel(symtab)} is the first, and ELF allows one`,
          this.raw[s.index].at,
          s,
        );
      }
      symtab = s;
    }
    return symtab;
  }

  private readSymbols(symtab: ElfSection): ElfSymbol[] {
    const at = this.raw[symtab.index].at;
    if (symtab.entsize !== SYM_SIZE) {
      throw new ElfError(
        `sh_entsize is ${symtab.entsize}, expected ${SYM_SIZE} for a symbol table`,
        at + SH_ENTSIZE,
        symtab,
      );
    }
    if (symtab.size % SYM_SIZE !== 0) {
      throw new ElfError(
        `sh_size ${hex(symtab.size)} is not a multiple of ${SYM_SIZE}`,
        at + SH_SIZE,
        symtab,
      );
    }
    const strtab = this.linkedStringTable(symtab);
    const count = symtab.data.length / SYM_SIZE;
    const shndxTable = this.extendedIndexes(symtab, count);
    const symbols: ElfSymbol[] = [];
    for (let index = 0; index < count; index++) {
      const base = symtab.offset + index * SYM_SIZE;
      const ref = symtab;
      const name = this.string(strtab, this.u32(base), base, ref, `symbol ${index} name`);
      const info = this.bytes[base + 4];
      const other = this.bytes[base + 5];
      const shndx = this.u16(base + 6);
      let sectionIndex = shndx;
      // Indexes from LORESERVE up are markers (ABS, COMMON), not sections, except XINDEX: the
      // real index did not fit in 16 bits and is in the SHT_SYMTAB_SHNDX section.
      let names = shndx !== SpecialSectionIndex.UNDEF && shndx < SpecialSectionIndex.LORESERVE;
      if (shndx === SpecialSectionIndex.XINDEX) {
        if (!shndxTable) {
          throw new ElfError(
            `symbol ${index} ${quote(name)} has st_shndx XINDEX but there is no SHT_SYMTAB_SHNDX section`,
            base + 6,
            ref,
          );
        }
        sectionIndex = this.u32(shndxTable.offset + index * 4);
        names = true;
      }
      if (names && sectionIndex >= this.sections.length) {
        throw new ElfError(
          `symbol ${index} ${quote(name)} is in section ${sectionIndex}, ` +
            `but there are only ${this.sections.length} sections`,
          base + 6,
          ref,
        );
      }
      symbols.push({
        index,
        name,
        value: this.u64(base + 8, `symbol ${index} st_value`, ref),
        size: this.u64(base + 16, `symbol ${index} st_size`, ref),
        type: SYMBOL_TYPE_NAMES[info & 0xf] ?? `unknown(${info & 0xf})`,
        bind: SYMBOL_BIND_NAMES[info >> 4] ?? `unknown(${info >> 4})`,
        visibility: SymbolVisibilities[other & 3],
        sectionIndex,
      });
    }
    return symbols;
  }

  /** The SHT_SYMTAB_SHNDX section for a symbol table, if any, checked to hold one u32 per symbol. */
  private extendedIndexes(symtab: ElfSection, count: number): ElfSection | undefined {
    const table = this.sections.find((s) => s.type === SectionType.SYMTAB_SHNDX && s.link === symtab.index);
    if (table && table.data.length !== count * 4) {
      throw new ElfError(
        `sh_size ${hex(table.size)} does not hold one 4-byte index for each of ${count} symbols`,
        this.raw[table.index].at + SH_SIZE,
        table,
      );
    }
    return table;
  }

  // --- relocations ----------------------------------------------------------------------------

  private readRelocations(
    symtab: ElfSection | undefined,
    symbols: readonly ElfSymbol[],
    fileType: number,
    machine: number,
  ): Map<number, ElfRelocation[]> {
    const byTarget = new Map<number, ElfRelocation[]>();
    for (const rs of this.sections) {
      if (rs.type !== SectionType.REL && rs.type !== SectionType.RELA) continue;
      const at = this.raw[rs.index].at;
      const rela = rs.type === SectionType.RELA;
      const entsize = rela ? RELA_SIZE : REL_SIZE;
      if (rs.entsize !== entsize) {
        const kind = rela ? 'SHT_RELA' : 'SHT_REL';
        throw new ElfError(
          `sh_entsize is ${rs.entsize}, expected ${entsize} for ${kind}`,
          at + SH_ENTSIZE,
          rs,
        );
      }
      if (rs.size % entsize !== 0) {
        throw new ElfError(`sh_size ${hex(rs.size)} is not a multiple of ${entsize}`, at + SH_SIZE, rs);
      }
      const linked = this.sections[rs.link] as ElfSection | undefined;
      // Dynamic relocations (linked executables and shared objects) index .dynsym; out of scope.
      if (linked?.type === SectionType.DYNSYM) continue;
      if (!symtab || rs.link !== symtab.index) {
        const expected = symtab
          ? `the symbol table, ${sectionLabel(symtab)}`
          : 'a symbol table, and there is none';
        throw new ElfError(`sh_link ${rs.link} should name ${expected}`, at + SH_LINK, rs);
      }
      if (rs.info === 0 || rs.info >= this.sections.length || rs.info === rs.index) {
        throw new ElfError(
          `sh_info ${rs.info} does not name a section to relocate (there are ${this.sections.length})`,
          at + SH_INFO,
          rs,
        );
      }
      const target = this.sections[rs.info];
      // In ET_REL files r_offset is relative to the section; in linked files it is an address.
      const base = fileType === ElfType.REL ? 0 : target.addr;
      const list = byTarget.get(target.index) ?? [];
      byTarget.set(target.index, list);
      for (let i = 0; i < rs.data.length / entsize; i++) {
        const entry = rs.offset + i * entsize;
        const offset = this.u64(entry, `relocation ${i} r_offset`, rs);
        const [symbolIndex, type] = this.le
          ? [this.u32(entry + 12), this.u32(entry + 8)]
          : [this.u32(entry + 8), this.u32(entry + 12)];
        if (symbolIndex >= symbols.length) {
          throw new ElfError(
            `relocation ${i} names symbol ${symbolIndex}, but the symbol table has ${symbols.length} entries`,
            entry + 8,
            rs,
          );
        }
        const bpf = machine === EM_BPF;
        const typeName: RelocationTypeName =
          (bpf ? BPF_RELOCATION_NAMES[type] : undefined) ?? `unknown(${type})`;
        const width = (bpf ? BPF_PATCH_WIDTH[type] : undefined) ?? 1;
        const start = offset - base;
        if (start < 0 || start + width > target.data.length) {
          const nobits = target.type === SectionType.NOBITS ? ', which has no file data (SHT_NOBITS)' : '';
          throw new ElfError(
            `relocation ${i} (${typeName}) at offset ${hex(offset)} patches ${width} bytes, past the end of ` +
              `${sectionLabel(target)} (${hex(target.data.length)} bytes${nobits})`,
            entry,
            rs,
          );
        }
        list.push({
          offset,
          symbolIndex,
          symbol: symbols[symbolIndex],
          type,
          typeName,
          addend: rela ? this.view.getBigInt64(entry + 16, this.le) : 0n,
        });
      }
    }
    return byTarget;
  }

  // --- strings --------------------------------------------------------------------------------

  private stringTable(index: number, data: Uint8Array): StringTable {
    let table = this.stringTables.get(index);
    if (!table) {
      table = new StringTable(index, data);
      this.stringTables.set(index, table);
    }
    return table;
  }

  /** The string table a symbol table's sh_link names. */
  private linkedStringTable(owner: ElfSection): StringTable {
    const linked = this.sections[owner.link] as ElfSection | undefined;
    if (owner.link === 0 || !linked || linked.type !== SectionType.STRTAB) {
      throw new ElfError(
        `sh_link ${owner.link} is not a string table`,
        this.raw[owner.index].at + SH_LINK,
        owner,
      );
    }
    return this.stringTable(linked.index, linked.data);
  }

  private string(table: StringTable, offset: number, at: number, owner: ElfSectionRef, what: string): string {
    const result = table.lookup(offset, this.budget);
    if (result === 'past-end' || result === 'unterminated' || result === 'over-budget') {
      const problem = {
        'past-end': 'past the end of the string table',
        unterminated: 'not NUL-terminated before the end of the string table',
        'over-budget': 'one name too many to decode: the names decode to far more text than the file holds',
      }[result];
      throw new ElfError(
        // While section names are being resolved the table's own name may not be known yet.
        `${what} at string offset ${hex(offset)} is ${problem} ` +
          `(${sectionLabel(this.sections[table.index] ?? { index: table.index })}, ` +
          `${hex(table.data.length)} bytes)`,
        at,
        owner,
      );
    }
    return result;
  }

  // --- numbers --------------------------------------------------------------------------------

  private u16(at: number): number {
    return this.view.getUint16(at, this.le);
  }

  private u32(at: number): number {
    return this.view.getUint32(at, this.le);
  }

  /** A u64 field as a number; throws when it does not fit in 53 bits. */
  private u64(at: number, what: string, section?: ElfSectionRef): number {
    const lo = this.view.getUint32(this.le ? at : at + 4, this.le);
    const hi = this.view.getUint32(this.le ? at + 4 : at, this.le);
    if (hi > 0x1fffff) {
      const value = (BigInt(hi) << 32n) | BigInt(lo);
      throw new ElfError(`${what} 0x${value.toString(16)} is too large (more than 2^53)`, at, section);
    }
    return hi * 0x1_0000_0000 + lo;
  }
}

class ParsedElf implements ElfFile {
  private readonly byName = new Map<string, ElfSection>();
  private readonly bySection = new Map<number, ElfSymbol[]>();
  constructor(
    readonly bigEndian: boolean,
    readonly machine: number,
    readonly type: number,
    readonly sections: readonly ElfSection[],
    readonly symbols: readonly ElfSymbol[],
    private readonly relocationsByTarget: ReadonlyMap<number, readonly ElfRelocation[]>,
  ) {
    for (const s of sections) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    for (const sym of symbols) {
      if (sym.index === 0) continue;
      const list = this.bySection.get(sym.sectionIndex) ?? [];
      list.push(sym);
      this.bySection.set(sym.sectionIndex, list);
    }
  }

  relocations(section: ElfSection | number): readonly ElfRelocation[] {
    return this.relocationsByTarget.get(typeof section === 'number' ? section : section.index) ?? [];
  }

  sectionByName(name: string): ElfSection | undefined {
    return this.byName.get(name);
  }

  symbolsIn(sectionIndex: number): readonly ElfSymbol[] {
    return this.bySection.get(sectionIndex) ?? [];
  }
}

function sectionLabel(section: ElfSectionRef): string {
  return section.name !== undefined
    ? `section ${section.index} ${quote(section.name)}`
    : `section ${section.index}`;
}

/** A name for a message, quoted; cut short because a hostile file can make one a megabyte long. */
function quote(name: string): string {
  return name.length <= 64 ? `'${name}'` : `'${name.slice(0, 61)}...' (${name.length} characters)`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** `{ name: value }` → `{ value: name }`, so each name is written once. */
function invert<K extends string>(table: Readonly<Record<K, number>>): Readonly<Record<number, K>> {
  const out: Record<number, K> = {};
  for (const [name, value] of Object.entries(table) as [K, number][]) out[value] = name;
  return out;
}
