/**
 * What `tsbpf objdump` shows of an object: its sections, programs, maps, globals, relocations, and
 * the instructions as they stand in the ELF sections — per program, and per executable section
 * with every function (`.text` subprograms too) — in `llvm-objdump-19 -d` text, with the source
 * line each came from. Data only; the CLI renders it.
 */
import { decode, type Insn } from '../isa/instruction.js';
import { formatInsn, jumpTarget } from '../isa/llvm.js';
import { enumName, ProgType } from '../uapi.js';
import { type ElfSection, SectionFlag, SectionType } from './elf.js';
import type { ObjectSpec, SourceLine } from './object.js';

export interface ObjdumpInsn {
  /** Slot index within the ELF section, as llvm-objdump numbers it. */
  readonly index: number;
  /** The raw bytes of the instruction (16 for lddw). */
  readonly bytes: readonly number[];
  /** Exactly `llvm-objdump-19 -d`'s text, branch annotations included. */
  readonly text: string;
  readonly line: SourceLine | null;
  /** The relocation on this instruction, if any: `R_BPF_64_64 packets`. */
  readonly relocation: string | null;
}

export interface ObjdumpProgram {
  readonly name: string;
  readonly section: string;
  /** Program type (`XDP`), or null for an unknown section name. */
  readonly type: string | null;
  readonly attachType: string | null;
  /** Attach target from the section name (`syscalls/sys_enter_execve`), or null. */
  readonly attach: string | null;
  readonly error: string | null;
  /** Instruction slots of the function itself and after linking its subprograms. */
  readonly slots: number;
  readonly linkedSlots: number;
  readonly subprograms: readonly string[];
  readonly insns: readonly ObjdumpInsn[];
}

/** A symbol inside a code section where llvm-objdump starts a block (`<name>:`). */
export interface ObjdumpFunction {
  readonly name: string;
  /** The slot it starts at. */
  readonly index: number;
  /** `func` for functions (programs and subprograms), `label` for local labels (LBB…). */
  readonly kind: 'func' | 'label';
}

/**
 * One executable section as `llvm-objdump-19 -d` shows it: every instruction, programs and the
 * `.text` subprograms alike, at llvm-objdump's slot indexes.
 */
export interface ObjdumpCode {
  readonly section: string;
  /** The ELF section index. */
  readonly sectionIndex: number;
  readonly functions: readonly ObjdumpFunction[];
  readonly insns: readonly ObjdumpInsn[];
}

export interface ObjdumpMap {
  readonly name: string;
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly keyType: string | null;
  readonly valueType: string | null;
  readonly origin: string;
  readonly pinning: string;
}

export interface ObjdumpSection {
  readonly index: number;
  readonly name: string;
  /** `PROGBITS`, `REL`…, or the number for types without a name. */
  readonly type: string;
  readonly size: number;
  /** `sh_flags` as readelf letters: W write, A alloc, X exec, M merge, S strings, I info link, E exclude. */
  readonly flags: string;
}

export interface ObjdumpRelocation {
  readonly section: string;
  readonly offset: number;
  readonly type: string;
  readonly symbol: string;
}

export interface ObjdumpGlobal {
  readonly map: string;
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

export interface Objdump {
  readonly license: string;
  readonly bigEndian: boolean;
  readonly sections: readonly ObjdumpSection[];
  readonly programs: readonly ObjdumpProgram[];
  /** Every executable section with instructions, in ELF order (`.text` subprograms included). */
  readonly code: readonly ObjdumpCode[];
  readonly maps: readonly ObjdumpMap[];
  readonly globals: readonly ObjdumpGlobal[];
  readonly relocations: readonly ObjdumpRelocation[];
}

/** Build the objdump view of a loaded object. */
export function objdump(spec: ObjectSpec): Objdump {
  const { elf, btf } = spec;
  const typeName = (id: number | undefined): string | null => {
    if (id === undefined || !btf) return null;
    const t = btf.typeById(id);
    return t.kind === 'void' ? 'void' : t.name || `(anon ${t.kind} [${id}])`;
  };
  const relocations: ObjdumpRelocation[] = [];
  for (const section of elf.sections) {
    if (section.type !== SectionType.REL && section.type !== SectionType.RELA) continue;
    const target = elf.sections[section.info];
    if (!target || target.name.startsWith('.debug') || target.name.startsWith('.BTF')) continue;
    for (const relocation of elf.relocations(target)) {
      const symbol = relocation.symbol;
      const name = symbol.type === 'section' ? (elf.sections[symbol.sectionIndex]?.name ?? '') : symbol.name;
      relocations.push({
        section: target.name,
        offset: relocation.offset,
        type: relocation.typeName,
        symbol: name,
      });
    }
  }
  return {
    license: spec.license,
    bigEndian: spec.bigEndian,
    sections: elf.sections
      .filter((s) => s.index > 0)
      .map((s) => ({
        index: s.index,
        name: s.name,
        type: sectionTypeName(s.type),
        size: s.size,
        flags: flagLetters(s.flags),
      })),
    programs: spec.programs.map((program) => {
      const section = elf.sectionByName(program.section)!;
      const info = program.sectionInfo;
      return {
        name: program.name,
        section: program.section,
        type: info ? (enumName(ProgType, info.progType) ?? null) : null,
        attachType: info?.def.attachType ?? null,
        attach: info?.target ? info.target : null,
        error: program.sectionError ?? null,
        slots: program.ownSlots,
        linkedSlots: program.insns.reduce((n, insn) => n + (insn.kind === 'lddw' ? 2 : 1), 0),
        subprograms: program.subprograms,
        insns: sectionInsns(spec, section, program.sectionOffset, program.ownSlots),
      };
    }),
    code: elf.sections
      .filter((s) => s.flags & SectionFlag.EXECINSTR && s.type === SectionType.PROGBITS && s.size > 0)
      .map((section) => ({
        section: section.name,
        sectionIndex: section.index,
        functions: codeSymbols(spec, section).map((symbol) => ({
          name: symbol.name,
          index: symbol.value / 8,
          kind: symbol.type === 'func' ? ('func' as const) : ('label' as const),
        })),
        insns: sectionInsns(spec, section, 0, section.size / 8),
      })),
    maps: spec.maps.map((map) => ({
      name: map.name,
      type: map.type,
      keySize: map.keySize,
      valueSize: map.valueSize,
      maxEntries: map.maxEntries,
      flags: map.flags ?? 0,
      keyType: typeName(map.btfKeyTypeId),
      valueType: typeName(map.btfValueTypeId),
      origin: map.origin,
      pinning: map.pinning ?? 'none',
    })),
    globals: spec.maps.flatMap((map) =>
      (map.variables ?? []).map((v) => ({ map: map.name, name: v.name, offset: v.offset, size: v.size })),
    ),
    relocations,
  };
}

/** The instructions of `[start, start + slots)` of a code section, as llvm-objdump prints them. */
export function sectionInsns(
  spec: ObjectSpec,
  section: ElfSection,
  start: number,
  slots: number,
): ObjdumpInsn[] {
  const { elf } = spec;
  // The section as it stands (before relocation); the object loader validated it already.
  const own = ownInstructions(spec, section);
  const functions = codeSymbols(spec, section);
  const symbolize = (targetSlot: number): string | undefined => {
    const byte = targetSlot * 8;
    let best: (typeof functions)[number] | undefined;
    for (const f of functions) if (f.value <= byte) best = f;
    if (!best) return `${section.name}+0x${byte.toString(16)}`;
    return byte === best.value ? best.name : `${best.name}+0x${(byte - best.value).toString(16)}`;
  };
  const relocationAt = new Map<number, string>();
  for (const relocation of elf.relocations(section)) {
    const symbol = relocation.symbol;
    const name = symbol.type === 'section' ? (elf.sections[symbol.sectionIndex]?.name ?? '') : symbol.name;
    relocationAt.set(relocation.offset / 8, `${relocation.typeName} ${name}`);
  }
  const lines = lineTable(spec, section.name);
  const out: ObjdumpInsn[] = [];
  let current: SourceLine | null = null;
  for (const insn of own) {
    if (insn.slot < start || insn.slot >= start + slots) continue;
    current = lines.get(insn.slot) ?? current;
    const width = insn.kind === 'lddw' ? 16 : 8;
    out.push({
      index: insn.slot,
      bytes: [...section.data.subarray(insn.slot * 8, insn.slot * 8 + width)],
      text: formatInsn(insn, {
        symbolize: (target) => (jumpTarget(insn) === undefined ? undefined : symbolize(target)),
      }),
      line: lines.get(insn.slot) ?? (insn.slot === start ? null : current),
      relocation: relocationAt.get(insn.slot) ?? null,
    });
  }
  return out;
}

/** The named function and label symbols of a code section, by address. */
function codeSymbols(spec: ObjectSpec, section: ElfSection) {
  return spec.elf
    .symbolsIn(section.index)
    .filter((s) => s.type === 'func' || (s.type === 'notype' && s.name !== ''))
    .sort((a, b) => a.value - b.value);
}

const decoded = new WeakMap<ElfSection, Insn[]>();

function ownInstructions(spec: ObjectSpec, section: ElfSection): Insn[] {
  let insns = decoded.get(section);
  if (!insns) {
    insns = decode(section.data, { bigEndian: spec.bigEndian });
    decoded.set(section, insns);
  }
  return insns;
}

/** Source lines of a section from BTF.ext, by slot. */
function lineTable(spec: ObjectSpec, sectionName: string): Map<number, SourceLine> {
  const table = new Map<number, SourceLine>();
  const records = spec.btfExt?.lineInfo.find((t) => t.section === sectionName)?.records ?? [];
  for (const r of records)
    table.set(r.insnIndex, { file: r.fileName, line: r.lineNumber, column: r.column, text: r.line });
  return table;
}

function sectionTypeName(type: number): string {
  return (
    (Object.keys(SectionType) as Array<keyof typeof SectionType>).find((k) => SectionType[k] === type) ??
    String(type)
  );
}

const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [SectionFlag.WRITE, 'W'],
  [SectionFlag.ALLOC, 'A'],
  [SectionFlag.EXECINSTR, 'X'],
  [SectionFlag.MERGE, 'M'],
  [SectionFlag.STRINGS, 'S'],
  [SectionFlag.INFO_LINK, 'I'],
  [SectionFlag.EXCLUDE, 'E'],
];

function flagLetters(flags: number): string {
  return FLAG_LETTERS.filter(([bit]) => flags & bit)
    .map(([, letter]) => letter)
    .join('');
}
