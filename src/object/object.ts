/**
 * Reading a BPF object file (`clang -target bpf -c` output) into specs: programs, maps, global
 * data and externs, the way libbpf reads one, with no syscalls (this runs in a browser too).
 *
 * - Every global function in an executable section other than `.text` is a program; its section
 *   name gives its type and attach target ({@link matchSection}). Static functions and everything
 *   in `.text` are subprograms.
 * - A program's instructions are its own, followed by every subprogram it calls (transitively),
 *   appended once each, with bpf-to-bpf call offsets and function pointers relocated — what
 *   libbpf sends to the kernel.
 * - Maps come from BTF-defined `.maps`, the legacy `maps` section, and the global data sections
 *   (`.data`, `.rodata`, `.bss`, `.data.*`, `.rodata.*`, `.kconfig`), which become one-element
 *   array maps holding their initial bytes.
 * - A reference to a map becomes `lddw` with pseudo source MAP_IDX (5), a reference into global
 *   data MAP_IDX_VALUE (6) with the byte offset in the second immediate; the index is into
 *   {@link ObjectSpec.maps}. Backends turn indexes into file descriptors or VM maps.
 */
import { TsbpfError } from '../errors.js';
import { decode, type Insn, InvalidInstructionError, makeInsn } from '../isa/instruction.js';
import { PseudoSrc } from '../isa/opcodes.js';
import { isPerCpu, MapFlags, type MapSpec } from '../maps/ops.js';
import { MapType, type MapTypeName } from '../uapi.js';
import { Btf, BtfError, type BtfType, parseBtf } from './btf.js';
import { type BtfExt, type BtfExtCoreRelo, parseBtfExt } from './btf-ext.js';
import {
  type ElfFile,
  type ElfRelocation,
  type ElfSection,
  type ElfSymbol,
  parseElf,
  SectionFlag,
  SectionType,
} from './elf.js';
import { matchSection, type SectionInfo } from './sections.js';

/**
 * A problem in an object file, naming the section (and instruction) it is in, and for a bad
 * relocation or symbol the symbol and the byte offset in question.
 */
export class ObjectError extends TsbpfError {
  override name = 'ObjectError';
  readonly section: string | undefined;
  readonly insn: number | undefined;
  readonly symbol: string | undefined;
  /** A byte offset (of a relocation, or a symbol's value plus an addend). */
  readonly offset: number | undefined;
  constructor(
    reason: string,
    where: { section?: string; insn?: number; symbol?: string; offset?: number } = {},
    options?: { cause?: unknown },
  ) {
    const place = [
      where.section !== undefined ? `section '${where.section}'` : '',
      where.insn !== undefined ? `instruction ${where.insn}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    super(`load object: ${place ? `${place}: ` : ''}${reason}`, options);
    this.section = where.section;
    this.insn = where.insn;
    this.symbol = where.symbol;
    this.offset = where.offset;
  }
}

/** A symbol's name for messages: a section symbol has none of its own and is named by its section (as libbpf does). */
function symbolName(elf: ElfFile, symbol: ElfSymbol): string {
  if (symbol.name !== '' || symbol.sectionIndex <= 0) return symbol.name;
  return elf.sections[symbol.sectionIndex]?.name ?? '';
}

/** Where one of a program's instructions came from, and its source line when BTF.ext says. */
export interface SourceLine {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The text of the source line. */
  readonly text: string;
}

/** A map of the object: a {@link MapSpec} plus where it came from and its initial contents. */
export interface ObjectMap extends MapSpec {
  /** `btf` (`.maps`), `legacy` (`maps`), or `data` (a global data section). */
  readonly origin: 'btf' | 'legacy' | 'data' | 'kconfig';
  /** The ELF section it was defined in. */
  readonly section: string;
  /** Initial value of a global data map (its single element); undefined for `.bss`-like zeroes. */
  readonly initialValue?: Uint8Array;
  /** `values` initialisation of a map-in-map or prog array: slot → map or program name. */
  readonly initialSlots?: ReadonlyArray<{
    readonly index: number;
    readonly name: string;
    readonly kind: 'map' | 'program';
  }>;
  /** `.rodata`: freeze after the initial value is written (libbpf does). */
  readonly freeze: boolean;
  /** For data maps: the variables in it (from BTF), by name, with their offsets and sizes. */
  readonly variables?: ReadonlyArray<{
    readonly name: string;
    readonly offset: number;
    readonly size: number;
    readonly typeId: number;
  }>;
}

/** A reference from an instruction to a map, after relocation. */
export interface MapReference {
  /** Index of the lddw in {@link ProgramSpec.insns}. */
  readonly insn: number;
  readonly map: number;
  /** For a reference into the value: the byte offset. */
  readonly offset?: number;
}

/** A reference from an instruction to a kernel symbol (`__ksym` variable or kfunc). */
export interface ExternReference {
  /** Index of the lddw or call in {@link ProgramSpec.insns}. */
  readonly insn: number;
  readonly name: string;
  readonly kind: 'kfunc' | 'variable';
}

/** An `extern` the backend resolves: a kernel config value or a kernel symbol. */
export interface ExternSpec {
  readonly name: string;
  readonly kind: 'kconfig' | 'ksym';
  /** BTF type id of the VAR or FUNC, when BTF says. */
  readonly btfId: number | undefined;
  readonly weak: boolean;
  /** For kconfig: offset in the `.kconfig` map's value. */
  readonly offset?: number;
  readonly size?: number;
}

/** A program of the object, linked with its subprograms. */
export interface ProgramSpec {
  /** The function symbol's name. */
  readonly name: string;
  readonly section: string;
  /** Slot index of the function's first instruction in its section (llvm-objdump's numbering). */
  readonly sectionOffset: number;
  /** Number of slots that are the function's own; the rest are appended subprograms. */
  readonly ownSlots: number;
  /** What the section name says; undefined (and `sectionError` set) for an unknown name. */
  readonly sectionInfo: SectionInfo | undefined;
  readonly sectionError?: string;
  readonly license: string;
  /** Relocated instructions, ready for a backend (maps as MAP_IDX / MAP_IDX_VALUE). */
  readonly insns: readonly Insn[];
  readonly mapReferences: readonly MapReference[];
  /** Kernel symbols the backend must resolve to BTF ids before loading. */
  readonly externReferences: readonly ExternReference[];
  /** Per instruction of {@link insns}: its source line, if known. */
  readonly lines: ReadonlyArray<SourceLine | undefined>;
  /** func_info for the linked program: slot → BTF FUNC id (first entry: the program itself). */
  readonly funcInfo: ReadonlyArray<{ readonly slot: number; readonly typeId: number }>;
  /** line_info for the linked program, in slot order. */
  readonly lineInfo: ReadonlyArray<{
    readonly slot: number;
    readonly fileNameOff: number;
    readonly lineOff: number;
    readonly lineNumber: number;
    readonly column: number;
  }>;
  /** CO-RE relocations for the linked program, by slot. */
  readonly coreRelos: ReadonlyArray<BtfExtCoreRelo & { readonly slot: number }>;
  /** Subprogram names appended, in order. */
  readonly subprograms: readonly string[];
}

/** Everything an object file defines. */
export interface ObjectSpec {
  readonly license: string;
  /** The `version` section (kernel version for old kprobe loaders), if present. */
  readonly kernelVersion: number | undefined;
  readonly bigEndian: boolean;
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly ObjectMap[];
  readonly externs: readonly ExternSpec[];
  readonly btf: Btf | undefined;
  readonly btfExt: BtfExt | undefined;
  readonly elf: ElfFile;
}

const EXEC = SectionFlag.EXECINSTR;

/** Sections whose contents are global data. */
function isDataSection(section: ElfSection): boolean {
  const name = section.name;
  if (section.type !== SectionType.PROGBITS && section.type !== SectionType.NOBITS) return false;
  if (section.flags & EXEC) return false;
  return (
    name === '.data' ||
    name === '.bss' ||
    name === '.rodata' ||
    name.startsWith('.data.') ||
    name.startsWith('.rodata.') ||
    name.startsWith('.bss.')
  );
}

/** Read an object file into specs. Throws {@link ObjectError} (with the cause chained) on bad input. */
export function loadObjectSpec(bytes: Uint8Array): ObjectSpec {
  return new ObjectReader(bytes).read();
}

interface Subprogram {
  readonly name: string;
  readonly section: ElfSection;
  /** First slot in the section. */
  readonly start: number;
  readonly slots: number;
}

/** Per executable section: decoded instructions by slot, and the relocations by slot. */
interface CodeSection {
  readonly section: ElfSection;
  readonly bySlot: ReadonlyArray<Insn | undefined>;
  readonly relocations: ReadonlyMap<number, ElfRelocation>;
}

class ObjectReader {
  private readonly elf: ElfFile;
  private btf: Btf | undefined;
  private btfExt: BtfExt | undefined;
  private readonly maps: ObjectMap[] = [];
  /** Map index by map symbol (BTF/legacy maps) and by data section index. */
  private readonly mapBySymbol = new Map<string, number>();
  private readonly mapBySection = new Map<number, number>();
  private readonly externs: ExternSpec[] = [];
  private readonly code = new Map<number, CodeSection>();
  private license = '';

  constructor(bytes: Uint8Array) {
    try {
      this.elf = parseElf(bytes);
    } catch (error) {
      throw new ObjectError(`not a valid ELF file: ${(error as Error).message}`, {}, { cause: error });
    }
  }

  read(): ObjectSpec {
    const elf = this.elf;
    this.readBtf();
    const licenseSection = elf.sectionByName('license');
    this.license = licenseSection ? cString(licenseSection.data) : '';
    const versionSection = elf.sectionByName('version');
    const kernelVersion =
      versionSection && versionSection.data.length >= 4
        ? new DataView(versionSection.data.buffer, versionSection.data.byteOffset, 4).getUint32(
            0,
            !elf.bigEndian,
          )
        : undefined;
    this.readBtfMaps();
    this.readLegacyMaps();
    this.readDataMaps();
    this.readExterns();
    for (const section of elf.sections) {
      if (section.type === SectionType.PROGBITS && section.flags & EXEC && section.size > 0)
        this.readCode(section);
    }
    const programs: ProgramSpec[] = [];
    for (const [index, code] of this.code) {
      if (code.section.name === '.text') continue;
      for (const symbol of elf.symbolsIn(index)) {
        if (symbol.type !== 'func' || symbol.bind === 'local') continue;
        programs.push(this.link(code, symbol));
      }
    }
    programs.sort((a, b) => (a.section === b.section ? a.sectionOffset - b.sectionOffset : 0));
    return {
      license: this.license,
      kernelVersion,
      bigEndian: elf.bigEndian,
      programs,
      maps: this.maps,
      externs: this.externs,
      btf: this.btf,
      btfExt: this.btfExt,
      elf,
    };
  }

  private readBtf(): void {
    const btfSection = this.elf.sectionByName('.BTF');
    if (!btfSection) return;
    try {
      this.btf = this.fixupDatasecs(parseBtf(btfSection.data, { bigEndian: this.elf.bigEndian }));
    } catch (error) {
      if (error instanceof ObjectError) throw error;
      throw new ObjectError(`.BTF: ${(error as Error).message}`, { section: '.BTF' }, { cause: error });
    }
    const extSection = this.elf.sectionByName('.BTF.ext');
    if (!extSection) return;
    try {
      this.btfExt = parseBtfExt(extSection.data, this.btf, { bigEndian: this.elf.bigEndian });
    } catch (error) {
      throw new ObjectError(
        `.BTF.ext: ${(error as Error).message}`,
        { section: '.BTF.ext' },
        { cause: error },
      );
    }
  }

  /**
   * clang leaves DATASEC sizes (and some variable offsets) 0 for the linker to fill in; like
   * libbpf, take them from the ELF section sizes and symbol values, so the BTF describes the
   * data maps exactly (the kernel checks it against the map's value size).
   */
  private fixupDatasecs(btf: Btf): Btf {
    let changed = false;
    const types = btf.types.map((t) => {
      if (t.kind !== 'datasec') return t;
      const section = this.elf.sectionByName(t.name);
      if (!section) return t;
      const symbols = this.elf.symbolsIn(section.index);
      const vars = t.vars
        .map((v) => {
          const variable = btf.typeById(v.typeId);
          const symbol = symbols.find((s) => s.name === variable.name && s.type !== 'section');
          return symbol && symbol.value !== v.offset ? { ...v, offset: symbol.value } : v;
        })
        .sort((a, b) => a.offset - b.offset);
      if (t.size === section.size && vars.every((v, i) => v === t.vars[i])) return t;
      changed = true;
      return { ...t, size: section.size, vars };
    });
    if (!changed) return btf;
    return new Btf({ header: btf.header, bigEndian: btf.bigEndian, strings: btf.strings.bytes, types });
  }

  private addMap(map: ObjectMap, symbol?: string, sectionIndex?: number): number {
    const index = this.maps.length;
    this.maps.push(map);
    if (symbol !== undefined) this.mapBySymbol.set(symbol, index);
    if (sectionIndex !== undefined) this.mapBySection.set(sectionIndex, index);
    return index;
  }

  /** BTF-defined maps: each VAR of the `.maps` DATASEC is a struct of `__uint`/`__type`/`__array` members. */
  private readBtfMaps(): void {
    const section = this.elf.sectionByName('.maps');
    if (!section) return;
    const btf = this.btf;
    if (!btf)
      throw new ObjectError('BTF-defined maps need the object to carry BTF (compile with -g)', {
        section: '.maps',
      });
    const datasec = btf.typesByName('.maps').find((t) => t.kind === 'datasec');
    if (datasec?.kind !== 'datasec')
      throw new ObjectError('no DATASEC for .maps in BTF', { section: '.maps' });
    const symbols = this.elf
      .symbolsIn(section.index)
      .filter((s) => s.type === 'object' || s.type === 'notype');
    const relocations = this.elf.relocations(section);
    for (const info of datasec.vars) {
      const variable = btf.typeById(info.typeId);
      if (variable.kind !== 'var') continue;
      const definition = btf.resolve(variable.typeId);
      if (definition.kind !== 'struct') {
        throw new ObjectError(`map '${variable.name}' is not a struct definition`, { section: '.maps' });
      }
      const symbol = symbols.find((s) => s.name === variable.name);
      const offset = symbol ? symbol.value : info.offset;
      const spec = this.btfMapDefinition(variable.name, definition, '.maps');
      const slots = this.initialSlots(spec, definition, relocations, offset, variable.name);
      this.addMap({ ...spec, ...(slots.length > 0 ? { initialSlots: slots } : {}) }, variable.name);
    }
  }

  /** Read one map definition struct (also used for the inner map of `__array(values, …)`). */
  private btfMapDefinition(
    name: string,
    definition: Extract<BtfType, { kind: 'struct' }>,
    section: string,
  ): ObjectMap {
    const btf = this.btf!;
    const fields: Record<string, number> = {};
    let keyTypeId: number | undefined;
    let valueTypeId: number | undefined;
    let innerMap: ObjectMap | undefined;
    let pinning: 'none' | 'by_name' = 'none';
    for (const member of definition.members) {
      const memberType = btf.resolve(member.typeId);
      if (member.name === 'key' || member.name === 'value') {
        if (memberType.kind !== 'ptr')
          throw new ObjectError(`map '${name}': ${member.name} must be declared with __type`, { section });
        if (member.name === 'key') keyTypeId = memberType.typeId;
        else valueTypeId = memberType.typeId;
        continue;
      }
      if (member.name === 'values') {
        // __array(values, struct inner): a flexible array of pointers to the inner definition.
        if (memberType.kind !== 'array')
          throw new ObjectError(`map '${name}': values must be declared with __array`, { section });
        const pointer = btf.resolve(memberType.typeId);
        const inner = pointer.kind === 'ptr' ? btf.resolve(pointer.typeId) : pointer;
        if (inner.kind === 'struct') innerMap = this.btfMapDefinition(`${name}.inner`, inner, section);
        else if (inner.kind !== 'func_proto')
          throw new ObjectError(`map '${name}': values must point to a map definition or a program`, {
            section,
          });
        continue;
      }
      // __uint(name, N) is `int (*name)[N]`: the value is the array's element count.
      if (memberType.kind !== 'ptr')
        throw new ObjectError(`map '${name}': member '${member.name}' must be declared with __uint`, {
          section,
        });
      const array = btf.resolve(memberType.typeId);
      if (array.kind !== 'array')
        throw new ObjectError(`map '${name}': member '${member.name}' must be declared with __uint`, {
          section,
        });
      fields[member.name] = array.nelems;
      if (member.name === 'pinning') pinning = array.nelems === 1 ? 'by_name' : 'none';
    }
    const typeNumber = fields.type ?? 0;
    const type = (Object.keys(MapType) as MapTypeName[]).find((key) => MapType[key] === typeNumber);
    if (!type) throw new ObjectError(`map '${name}': unknown map type ${typeNumber}`, { section });
    // A key or value type without a size (void, a function) is the object's fault, named as such.
    const sizeOf = (typeId: number, what: string): number => {
      try {
        return btf.sizeof(typeId);
      } catch (error) {
        if (!(error instanceof BtfError)) throw error;
        throw new ObjectError(`map '${name}': ${what} type: ${error.message}`, { section });
      }
    };
    const keySize = keyTypeId !== undefined ? sizeOf(keyTypeId, 'key') : (fields.key_size ?? 0);
    let valueSize = valueTypeId !== undefined ? sizeOf(valueTypeId, 'value') : (fields.value_size ?? 0);
    // Map-in-map and prog array values are ids/fds in user space: 4 bytes.
    if (innerMap || type === 'PROG_ARRAY') valueSize = fields.value_size ?? 4;
    const isInnerOuter = type === 'ARRAY_OF_MAPS' || type === 'HASH_OF_MAPS';
    return {
      name,
      type,
      keySize: isInnerOuter && keySize === 0 ? 4 : keySize,
      valueSize: isInnerOuter ? 4 : valueSize,
      maxEntries: fields.max_entries ?? 0,
      flags: fields.map_flags ?? 0,
      ...(fields.map_extra !== undefined ? { mapExtra: BigInt(fields.map_extra) } : {}),
      ...(fields.numa_node !== undefined ? { numaNode: fields.numa_node } : {}),
      pinning,
      ...(innerMap ? { innerMap } : {}),
      ...(keyTypeId !== undefined ? { btfKeyTypeId: keyTypeId } : {}),
      ...(valueTypeId !== undefined ? { btfValueTypeId: valueTypeId } : {}),
      origin: 'btf',
      section,
      freeze: false,
    };
  }

  /** `values = { [2] = &inner_a, … }`: relocations inside the map definition's `values` array. */
  private initialSlots(
    spec: ObjectMap,
    definition: Extract<BtfType, { kind: 'struct' }>,
    relocations: readonly ElfRelocation[],
    offset: number,
    name: string,
  ): Array<{ index: number; name: string; kind: 'map' | 'program' }> {
    const member = definition.members.find((m) => m.name === 'values');
    if (!member) return [];
    const start = offset + member.bitsOffset / 8;
    const end = offset + this.btf!.sizeof(definition.id);
    const slots: Array<{ index: number; name: string; kind: 'map' | 'program' }> = [];
    for (const relocation of relocations) {
      if (relocation.offset < start || relocation.offset >= Math.max(end, start + 8 * spec.maxEntries))
        continue;
      const target = relocation.symbol;
      const kind =
        target.sectionIndex > 0 && this.elf.sections[target.sectionIndex]?.flags & EXEC ? 'program' : 'map';
      if (spec.type === 'PROG_ARRAY' && kind !== 'program')
        throw new ObjectError(`map '${name}': values of a prog array must be programs`, { section: '.maps' });
      if ((relocation.offset - start) % 8 !== 0)
        throw new ObjectError(
          `map '${name}': relocation against '${target.name}' at offset ${relocation.offset} is not on a slot of values`,
          { section: '.maps', symbol: target.name, offset: relocation.offset },
        );
      slots.push({ index: (relocation.offset - start) / 8, name: target.name, kind });
    }
    return slots;
  }

  /** The legacy `maps` section: `struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }` per symbol. */
  private readLegacyMaps(): void {
    const section = this.elf.sectionByName('maps');
    if (!section) return;
    const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
    const le = !this.elf.bigEndian;
    const symbols = this.elf
      .symbolsIn(section.index)
      .filter((s) => s.type === 'object' || s.type === 'notype')
      .sort((a, b) => a.value - b.value);
    for (const symbol of symbols) {
      if (symbol.value + 16 > section.data.length) {
        throw new ObjectError(
          `legacy map '${symbol.name}' at offset ${symbol.value} is past the end of the section`,
          { section: 'maps' },
        );
      }
      const field = (i: number) =>
        symbol.value + i * 4 + 4 <= section.data.length ? view.getUint32(symbol.value + i * 4, le) : 0;
      const typeNumber = field(0);
      const type = (Object.keys(MapType) as MapTypeName[]).find((key) => MapType[key] === typeNumber);
      if (!type)
        throw new ObjectError(`legacy map '${symbol.name}': unknown map type ${typeNumber}`, {
          section: 'maps',
        });
      this.addMap(
        {
          name: symbol.name,
          type,
          keySize: field(1),
          valueSize: field(2),
          maxEntries: field(3),
          flags: field(4),
          pinning: 'none',
          origin: 'legacy',
          section: 'maps',
          freeze: false,
        },
        symbol.name,
      );
    }
  }

  /** Global data sections become single-element arrays holding their bytes. */
  private readDataMaps(): void {
    for (const section of this.elf.sections) {
      if (!isDataSection(section)) continue;
      const readOnly = section.name.startsWith('.rodata');
      const datasec = this.btf?.typesByName(section.name).find((t) => t.kind === 'datasec');
      const variables =
        datasec && datasec.kind === 'datasec'
          ? datasec.vars.map((v) => ({
              name: this.btf!.typeById(v.typeId).name,
              offset: v.offset,
              size: v.size,
              typeId: v.typeId,
            }))
          : undefined;
      const zero = section.type === SectionType.NOBITS;
      this.addMap(
        {
          name: section.name,
          type: 'ARRAY',
          keySize: 4,
          valueSize: section.size,
          maxEntries: 1,
          flags: MapFlags.MMAPABLE | (readOnly ? MapFlags.RDONLY_PROG : 0),
          pinning: 'none',
          ...(datasec ? { btfValueTypeId: datasec.id } : {}),
          origin: 'data',
          section: section.name,
          ...(zero ? {} : { initialValue: section.data.slice() }),
          freeze: readOnly,
          ...(variables ? { variables } : {}),
        },
        undefined,
        section.index,
      );
    }
  }

  /** Undefined symbols: `.kconfig` values get a map of their own, `.ksyms` are left for the backend. */
  private readExterns(): void {
    const btf = this.btf;
    const undefinedSymbols = this.elf.symbols.filter(
      (s) => s.sectionIndex === 0 && s.name !== '' && s.bind !== 'local',
    );
    if (undefinedSymbols.length === 0) return;
    const kconfig = btf?.typesByName('.kconfig').find((t) => t.kind === 'datasec');
    const ksyms = btf?.typesByName('.ksyms').find((t) => t.kind === 'datasec');
    const varsOf = (sec: BtfType | undefined) =>
      sec && sec.kind === 'datasec' ? sec.vars.map((v) => ({ ...v, type: btf!.typeById(v.typeId) })) : [];
    let kconfigSize = 0;
    const kconfigVars = varsOf(kconfig);
    for (const symbol of undefinedSymbols) {
      const inKconfig = kconfigVars.find((v) => v.type.name === symbol.name);
      const inKsyms = varsOf(ksyms).find((v) => v.type.name === symbol.name);
      const funcs = btf?.typesByName(symbol.name).filter((t) => t.kind === 'func') ?? [];
      if (inKconfig) {
        const size = btf!.sizeof(inKconfig.type.kind === 'var' ? inKconfig.type.typeId : inKconfig.typeId);
        // libbpf lays kconfig externs out by alignment; we keep the BTF order and natural alignment.
        const offset = Math.ceil(kconfigSize / Math.min(8, size || 1)) * Math.min(8, size || 1);
        kconfigSize = offset + size;
        this.externs.push({
          name: symbol.name,
          kind: 'kconfig',
          btfId: inKconfig.typeId,
          weak: symbol.bind === 'weak',
          offset,
          size,
        });
      } else if (inKsyms || funcs.length > 0) {
        this.externs.push({
          name: symbol.name,
          kind: 'ksym',
          btfId: inKsyms?.typeId ?? funcs[0]?.id,
          weak: symbol.bind === 'weak',
        });
      }
    }
    if (kconfigSize > 0) {
      const index = this.addMap({
        name: '.kconfig',
        type: 'ARRAY',
        keySize: 4,
        valueSize: kconfigSize,
        maxEntries: 1,
        flags: MapFlags.MMAPABLE | MapFlags.RDONLY_PROG,
        pinning: 'none',
        origin: 'kconfig',
        section: '.kconfig',
        freeze: true,
        ...(kconfig ? { btfValueTypeId: kconfig.id } : {}),
      });
      this.mapBySymbol.set('.kconfig', index);
    }
  }

  private readCode(section: ElfSection): void {
    let insns: Insn[];
    try {
      insns = decode(section.data, { bigEndian: this.elf.bigEndian });
    } catch (error) {
      const insn = error instanceof InvalidInstructionError ? error.slot : undefined;
      throw new ObjectError((error as Error).message, { section: section.name, insn }, { cause: error });
    }
    const bySlot: Array<Insn | undefined> = new Array(section.size / 8);
    for (const insn of insns) bySlot[insn.slot] = insn;
    const relocations = new Map<number, ElfRelocation>();
    let number = 0;
    for (const relocation of this.elf.relocations(section)) {
      // libbpf: "sec '%s': invalid offset 0x%zx for relo #%d". Dropping it would load the
      // program unrelocated.
      if (relocation.offset % 8 !== 0 || relocation.offset >= section.size)
        throw new ObjectError(
          `invalid offset 0x${relocation.offset.toString(16)} for relocation #${number} against '${symbolName(this.elf, relocation.symbol)}' (not an instruction of the section)`,
          {
            section: section.name,
            symbol: symbolName(this.elf, relocation.symbol),
            offset: relocation.offset,
          },
        );
      relocations.set(relocation.offset / 8, relocation);
      number++;
    }
    this.code.set(section.index, { section, bySlot, relocations });
  }

  /** A function's extent in its section: from its symbol, or up to the next function symbol. */
  private functionAt(code: CodeSection, symbol: ElfSymbol): Subprogram {
    const where = { section: code.section.name };
    const total = code.bySlot.length;
    if (symbol.value % 8 !== 0 || symbol.size % 8 !== 0) {
      throw new ObjectError(
        `function '${symbol.name}' is not aligned to instructions (offset ${symbol.value}, size ${symbol.size})`,
        { ...where, symbol: symbol.name, offset: symbol.value },
      );
    }
    const start = symbol.value / 8;
    let slots = symbol.size / 8;
    if (slots === 0) {
      const next = this.elf
        .symbolsIn(code.section.index)
        .filter((s) => s.type === 'func' && s.value > symbol.value)
        .reduce((min, s) => Math.min(min, s.value / 8), total);
      slots = next - start;
    }
    if (start + slots > total || slots <= 0) {
      throw new ObjectError(
        `function '${symbol.name}' (slots ${start}-${start + slots - 1}) lies outside its section of ${total} slots`,
        where,
      );
    }
    return { name: symbol.name, section: code.section, start, slots };
  }

  /** The function containing `slot` of a code section (for calls into sections by offset). */
  private functionContaining(code: CodeSection, slot: number): Subprogram {
    const symbol = this.elf
      .symbolsIn(code.section.index)
      .filter((s) => s.type === 'func' && s.value / 8 <= slot)
      .sort((a, b) => b.value - a.value)[0];
    if (!symbol)
      throw new ObjectError(`call target ${slot} is not inside a function`, {
        section: code.section.name,
        insn: slot,
      });
    return this.functionAt(code, symbol);
  }

  private link(entryCode: CodeSection, entry: ElfSymbol): ProgramSpec {
    const main = this.functionAt(entryCode, entry);
    const out: Insn[] = [];
    const origins: Array<{ section: ElfSection; slot: number }> = [];
    const mapReferences: MapReference[] = [];
    const externReferences: ExternReference[] = [];
    const placed = new Map<string, number>(); // `${section}:${start}` → first slot in out
    const pendingCalls: Array<{ outIndex: number; target: Subprogram; targetSlot: number }> = [];
    const funcStarts: Array<{ slot: number; fn: Subprogram }> = [];
    let outSlot = 0;

    const emit = (fn: Subprogram): void => {
      placed.set(`${fn.section.index}:${fn.start}`, outSlot);
      funcStarts.push({ slot: outSlot, fn });
      const code = this.code.get(fn.section.index)!;
      for (let slot = fn.start; slot < fn.start + fn.slots; slot++) {
        const insn = code.bySlot[slot];
        if (!insn) continue;
        const relocation = code.relocations.get(slot);
        const relocated = this.relocate(
          code,
          insn,
          relocation,
          out.length,
          { mapReferences, externReferences, pendingCalls },
          fn,
        );
        out.push(
          makeInsn(
            relocated,
            outSlot,
            relocated === insn && insn.kind === 'lddw'
              ? insn.imm2
              : ((relocated as { imm2?: number }).imm2 ?? 0),
          ),
        );
        origins.push({ section: code.section, slot });
        outSlot += insn.kind === 'lddw' ? 2 : 1;
      }
    };

    emit(main);
    const subprograms: string[] = [];
    // Append each called subprogram once, then fix every call's offset.
    for (let i = 0; i < pendingCalls.length; i++) {
      const { target } = pendingCalls[i];
      const key = `${target.section.index}:${target.start}`;
      if (!placed.has(key)) {
        subprograms.push(target.name);
        emit(target);
      }
    }
    for (const call of pendingCalls) {
      const insn = out[call.outIndex];
      const base = placed.get(`${call.target.section.index}:${call.target.start}`)!;
      const destination = base + (call.targetSlot - call.target.start);
      const imm = destination - (insn.slot + 1);
      out[call.outIndex] = makeInsn({ ...insn, imm }, insn.slot, insn.kind === 'lddw' ? insn.imm2 : 0);
    }

    const { lines, lineInfo, funcInfo, coreRelos } = this.debugInfo(out, origins, funcStarts);
    const info = matchSection(entryCode.section.name);
    return {
      name: entry.name,
      section: entryCode.section.name,
      sectionOffset: main.start,
      ownSlots: main.slots,
      sectionInfo: info,
      ...(info ? {} : { sectionError: `unknown program section '${entryCode.section.name}'` }),
      license: this.license,
      insns: out,
      mapReferences,
      externReferences,
      lines,
      funcInfo,
      lineInfo,
      coreRelos,
      subprograms,
    };
  }

  /**
   * Apply the relocation of one instruction: map and global references become MAP_IDX /
   * MAP_IDX_VALUE loads; calls and function pointers are recorded to be fixed after linking.
   */
  private relocate(
    code: CodeSection,
    insn: Insn,
    relocation: ElfRelocation | undefined,
    outIndex: number,
    refs: {
      mapReferences: MapReference[];
      externReferences: ExternReference[];
      pendingCalls: Array<{ outIndex: number; target: Subprogram; targetSlot: number }>;
    },
    fn: Subprogram,
  ): Insn {
    const { mapReferences, externReferences, pendingCalls } = refs;
    const where = { section: code.section.name, insn: insn.slot };
    const isLocalCall = insn.kind === 'call' && insn.form.target === 'local';
    if (!relocation) {
      if (isLocalCall) {
        // A call within the same section without a relocation: the offset is already relative.
        const targetSlot = insn.slot + 1 + insn.imm;
        const target = this.functionContaining(code, targetSlot);
        if (target.start !== fn.start || target.section !== fn.section)
          pendingCalls.push({ outIndex, target, targetSlot });
        else pendingCalls.push({ outIndex, target: fn, targetSlot });
      }
      return insn;
    }
    const symbol = relocation.symbol;
    const targetSection = symbol.sectionIndex > 0 ? this.elf.sections[symbol.sectionIndex] : undefined;
    if (insn.kind === 'call' && symbol.sectionIndex === 0) {
      // A kfunc: the backend finds its BTF id in the kernel's BTF (BPF_PSEUDO_KFUNC_CALL).
      if (!this.externs.some((e) => e.name === symbol.name)) {
        throw new ObjectError(
          `call to undefined function '${symbol.name}' (declare kfuncs with __ksym)`,
          where,
        );
      }
      externReferences.push({ insn: outIndex, name: symbol.name, kind: 'kfunc' });
      return makeInsn({ ...insn, src: 2, imm: 0 }, insn.slot, 0);
    }
    if (isLocalCall || (insn.kind === 'lddw' && targetSection && targetSection.flags & EXEC)) {
      const targetCode = targetSection ? this.code.get(targetSection.index) : undefined;
      if (!targetCode)
        throw new ObjectError(`call to '${symbol.name}', which is not in a code section`, where);
      // libbpf: the callee slot is the symbol's slot plus the instruction's offset plus one (an
      // STT_FUNC symbol comes with imm = -1); function pointers carry a byte offset instead.
      // Either must land on an instruction ("bad call relo offset", "bad subprog addr relo").
      const byteOffset = isLocalCall ? symbol.value : symbol.value + insn.imm;
      if (byteOffset % 8 !== 0) {
        const named = symbolName(this.elf, symbol);
        throw new ObjectError(
          isLocalCall
            ? `bad call relocation against '${named}': offset ${symbol.value} is not an instruction boundary`
            : `bad function address relocation against '${named}' at offset ${symbol.value}+${insn.imm}: not an instruction boundary`,
          { ...where, symbol: named, offset: byteOffset },
        );
      }
      const targetSlot = isLocalCall ? symbol.value / 8 + insn.imm + 1 : (symbol.value + insn.imm) / 8;
      const target = this.functionContaining(targetCode, targetSlot);
      pendingCalls.push({ outIndex, target, targetSlot });
      return insn.kind === 'lddw' ? makeInsn({ ...insn, src: PseudoSrc.FUNC, imm: 0 }, insn.slot, 0) : insn;
    }
    if (insn.kind === 'call') {
      throw new ObjectError(`call with a relocation against '${symbol.name}' that is not a function`, where);
    }
    if (insn.kind !== 'lddw') {
      // R_BPF_64_ABS32/ABS64/NODYLD32 in code are only emitted for debug info; ignore others.
      throw new ObjectError(
        `relocation ${relocation.typeName} against '${symbol.name}' on a ${insn.form.mnemonic} instruction`,
        where,
      );
    }
    if (symbol.sectionIndex === 0) {
      const external = this.externs.find((e) => e.name === symbol.name);
      if (!external) throw new ObjectError(`reference to undefined symbol '${symbol.name}'`, where);
      if (external.kind === 'kconfig') {
        const map = this.mapBySymbol.get('.kconfig')!;
        mapReferences.push({ insn: outIndex, map, offset: external.offset ?? 0 });
        return makeInsn({ ...insn, src: PseudoSrc.MAP_IDX_VALUE, imm: map }, insn.slot, external.offset ?? 0);
      }
      // A kernel variable: the backend resolves the BTF id (BPF_PSEUDO_BTF_ID).
      externReferences.push({ insn: outIndex, name: symbol.name, kind: 'variable' });
      return makeInsn({ ...insn, src: PseudoSrc.BTF_ID, imm: 0 }, insn.slot, 0);
    }
    const bySymbol = this.mapBySymbol.get(symbol.name);
    if (bySymbol !== undefined && (targetSection?.name === '.maps' || targetSection?.name === 'maps')) {
      mapReferences.push({ insn: outIndex, map: bySymbol });
      return makeInsn({ ...insn, src: PseudoSrc.MAP_IDX, imm: bySymbol }, insn.slot, 0);
    }
    const dataMap = this.mapBySection.get(symbol.sectionIndex);
    if (dataMap !== undefined) {
      // Section symbols carry the offset in the instruction; variable symbols in their value.
      const offset = (symbol.type === 'section' ? 0 : symbol.value) + insn.imm;
      mapReferences.push({ insn: outIndex, map: dataMap, offset });
      return makeInsn({ ...insn, src: PseudoSrc.MAP_IDX_VALUE, imm: dataMap }, insn.slot, offset);
    }
    if (targetSection?.name === '.maps' || targetSection?.name === 'maps') {
      throw new ObjectError(
        `reference to '${symbol.name}' in ${targetSection.name}, which defines no such map`,
        where,
      );
    }
    throw new ObjectError(
      `lddw relocation against '${symbol.name}' in section '${targetSection?.name ?? '?'}', which holds no map or data`,
      where,
    );
  }

  /** Source lines, func_info, line_info and CO-RE relocations of a linked program. */
  private debugInfo(
    out: readonly Insn[],
    origins: ReadonlyArray<{ section: ElfSection; slot: number }>,
    funcStarts: ReadonlyArray<{ slot: number; fn: Subprogram }>,
  ): Pick<ProgramSpec, 'lines' | 'lineInfo' | 'funcInfo' | 'coreRelos'> {
    const ext = this.btfExt;
    const lines: Array<SourceLine | undefined> = new Array(out.length).fill(undefined);
    const lineInfo: Array<ProgramSpec['lineInfo'][number]> = [];
    const funcInfo: Array<ProgramSpec['funcInfo'][number]> = [];
    const coreRelos: Array<BtfExtCoreRelo & { slot: number }> = [];
    if (!ext) return { lines, lineInfo, funcInfo, coreRelos };
    const outIndexOf = new Map<string, number>();
    origins.forEach((origin, index) => {
      outIndexOf.set(`${origin.section.name}:${origin.slot}`, index);
    });
    for (const table of ext.lineInfo) {
      let current: SourceLine | undefined;
      for (const record of table.records) {
        const index = outIndexOf.get(`${table.section}:${record.insnIndex}`);
        if (index === undefined) continue;
        current = {
          file: record.fileName,
          line: record.lineNumber,
          column: record.column,
          text: record.line,
        };
        lines[index] = current;
        lineInfo.push({
          slot: out[index].slot,
          fileNameOff: record.fileNameOff,
          lineOff: record.lineOff,
          lineNumber: record.lineNumber,
          column: record.column,
        });
      }
    }
    // Instructions without a record of their own belong to the line before them.
    for (let i = 1; i < lines.length; i++) {
      if (lines[i] === undefined && origins[i].section === origins[i - 1].section) lines[i] = lines[i - 1];
    }
    lineInfo.sort((a, b) => a.slot - b.slot);
    for (const { slot, fn } of funcStarts) {
      const table = ext.funcInfo.find((t) => t.section === fn.section.name);
      const record = table?.records.find((r) => r.insnIndex === fn.start);
      if (record) funcInfo.push({ slot, typeId: record.typeId });
    }
    for (const table of ext.coreRelos) {
      for (const record of table.records) {
        const index = outIndexOf.get(`${table.section}:${record.insnIndex}`);
        if (index !== undefined) coreRelos.push({ ...record, slot: out[index].slot });
      }
    }
    return { lines, lineInfo, funcInfo, coreRelos };
  }
}

/** A NUL-terminated string from section bytes. */
function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}

/** Whether a map keeps per-CPU values (re-exported for object consumers). */
export { isPerCpu };
