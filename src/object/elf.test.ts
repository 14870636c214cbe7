import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { TsbpfError } from '../errors.js';
import {
  BpfRelocationType,
  ElfError,
  type ElfFile,
  ElfType,
  EM_BPF,
  parseElf,
  SectionType,
  SpecialSectionIndex,
  SymbolBinds,
  SymbolTypes,
  SymbolVisibilities,
} from './elf.js';

const TESTDATA = new URL('../../testdata/object/', import.meta.url);
/** The committed objects (rebuild with testdata/object/build.sh). */
const FIXTURES = ['minimal.bpf.o', 'minimal.bpfeb.o', 'multi.bpf.o', 'rela.x86_64.o'];
const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';
const READELF = 'llvm-readelf-19';

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, TESTDATA)));
}

function section(elf: ElfFile, name: string) {
  const s = elf.sectionByName(name);
  assert.ok(s, `no section ${name}`);
  return s;
}

function symbol(elf: ElfFile, name: string) {
  const sym = elf.symbols.find((s) => s.name === name);
  assert.ok(sym, `no symbol ${name}`);
  return sym;
}

/** A section symbol's name is its section's; llvm-readelf prints it that way too. */
function displayName(elf: ElfFile, index: number): string {
  const sym = elf.symbols[index];
  return sym.type === 'section' && sym.name === '' ? elf.sections[sym.sectionIndex].name : sym.name;
}

// --- what the fixtures hold -----------------------------------------------------------------

test('minimal.bpf.o: header, sections, symbols, relocations', () => {
  const elf = parseElf(fixture('minimal.bpf.o'));
  assert.equal(elf.bigEndian, false);
  assert.equal(elf.machine, EM_BPF);
  assert.equal(elf.type, ElfType.REL);
  assert.equal(elf.sections[0].type, SectionType.NULL);

  const xdp = section(elf, 'xdp');
  assert.equal(xdp.type, SectionType.PROGBITS);
  assert.equal(xdp.data.length, xdp.size);
  assert.equal(xdp.size % 8, 0);
  const bss = section(elf, '.bss');
  assert.equal(bss.type, SectionType.NOBITS);
  assert.equal(bss.size, 8);
  assert.equal(bss.data.length, 0);
  assert.equal(new TextDecoder().decode(section(elf, 'license').data), 'Dual MIT/GPL\0');
  assert.equal(section(elf, '.maps').size, 32); // four pointers: type, max_entries, key, value

  const prog = symbol(elf, 'count_packets');
  assert.deepEqual([prog.type, prog.bind, prog.sectionIndex, prog.value], ['func', 'global', xdp.index, 0]);
  assert.equal(prog.size, xdp.size);
  const bump = symbol(elf, 'bump');
  assert.deepEqual([bump.type, bump.bind, bump.sectionIndex], ['func', 'local', section(elf, '.text').index]);
  assert.deepEqual(
    elf.symbolsIn(section(elf, '.maps').index).map((s) => [s.name, s.type, s.size]),
    [['packets', 'object', 32]],
  );
  assert.equal(symbol(elf, 'total_packets').sectionIndex, bss.index);
  assert.equal(symbol(elf, 'minimal.bpf.c').type, 'file');
  assert.equal(symbol(elf, 'minimal.bpf.c').sectionIndex, SpecialSectionIndex.ABS);

  const relocs = elf.relocations(xdp);
  assert.deepEqual(
    relocs.map((r) => [r.typeName, displayName(elf, r.symbolIndex)]),
    [
      ['R_BPF_64_32', '.text'], // the call to the static subprogram: against the section symbol
      ['R_BPF_64_64', 'total_packets'],
      ['R_BPF_64_64', 'verbose'],
      ['R_BPF_64_64', 'sample_rate'],
      ['R_BPF_64_64', '.rodata'], // the format string
    ],
  );
  for (const r of relocs) {
    assert.equal(r.addend, 0n);
    assert.equal(r.offset % 8, 0);
    assert.equal(r.type, BpfRelocationType[r.typeName as keyof typeof BpfRelocationType]);
  }
  // An lddw starts at every R_BPF_64_64 offset: opcode 0x18.
  for (const r of relocs.filter((x) => x.type === BpfRelocationType.R_BPF_64_64)) {
    assert.equal(xdp.data[r.offset], 0x18);
  }
  // Relocations are looked up by section or index alike; a section with none has an empty list.
  assert.equal(elf.relocations(xdp.index), relocs);
  assert.deepEqual(elf.relocations(section(elf, '.maps')), []);
  assert.equal(elf.sectionByName('no such section'), undefined);
  // Debug sections carry the other relocation types.
  const kinds = new Set(elf.sections.flatMap((s) => elf.relocations(s).map((r) => r.typeName)));
  for (const k of ['R_BPF_64_ABS32', 'R_BPF_64_ABS64', 'R_BPF_64_NODYLD32'])
    assert.ok(kinds.has(k as never), k);
});

test('minimal.bpfeb.o reads the same as its little-endian twin', () => {
  const le = parseElf(fixture('minimal.bpf.o'));
  const be = parseElf(fixture('minimal.bpfeb.o'));
  assert.equal(be.bigEndian, true);
  assert.equal(be.machine, EM_BPF);
  const shape = (elf: ElfFile) => ({
    sections: elf.sections.map(({ name, type, flags, size, link, info, entsize }) => ({
      name,
      type,
      flags,
      size,
      link,
      info,
      entsize,
    })),
    symbols: elf.symbols,
    relocations: elf.sections.map((s) =>
      elf.relocations(s).map(({ offset, symbolIndex, typeName }) => ({ offset, symbolIndex, typeName })),
    ),
  });
  assert.deepEqual(shape(be), shape(le));
});

test('multi.bpf.o: two programs, a global subprogram, a weak variable, an undefined extern', () => {
  const elf = parseElf(fixture('multi.bpf.o'));
  const text = section(elf, '.text');
  assert.deepEqual(
    elf.symbolsIn(text.index).map((s) => [s.name, s.type, s.bind]),
    [
      ['', 'section', 'local'],
      ['add_to', 'func', 'global'],
    ],
  );
  const tunable = symbol(elf, 'tunable');
  assert.deepEqual([tunable.bind, tunable.type, tunable.size], ['weak', 'object', 4]);
  const hz = symbol(elf, 'CONFIG_HZ');
  assert.deepEqual([hz.bind, hz.sectionIndex], ['weak', SpecialSectionIndex.UNDEF]);
  const tp = section(elf, 'tracepoint/syscalls/sys_enter_write');
  assert.deepEqual(
    elf.relocations(tp).map((r) => [r.typeName, r.symbol.name]),
    [
      ['R_BPF_64_64', 'CONFIG_HZ'],
      ['R_BPF_64_32', 'add_to'],
    ],
  );
  assert.equal(elf.relocations(tp)[1].symbol, elf.symbols[elf.relocations(tp)[1].symbolIndex]);
});

test('rela.x86_64.o: SHT_RELA addends, another machine', () => {
  const elf = parseElf(fixture('rela.x86_64.o'));
  assert.equal(elf.machine, 62); // EM_X86_64
  assert.equal(section(elf, '.rela.text').type, SectionType.RELA);
  const relocs = elf.relocations(section(elf, '.text'));
  assert.deepEqual(
    relocs.map((r) => [r.symbol.name, r.addend, r.typeName]),
    [
      ['message', -4n, 'unknown(2)'], // names are known for EM_BPF only
      ['counter', -4n, 'unknown(42)'],
      ['bump', -4n, 'unknown(4)'],
      ['counter', -4n, 'unknown(42)'],
    ],
  );
  assert.deepEqual(
    elf.relocations(section(elf, '.eh_frame')).map((r) => r.addend),
    [0n, 0x20n],
  );
});

test('a header with no section header table is an empty file, not an error', () => {
  const bytes = fixture('minimal.bpf.o').slice(0, 64);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0x28, 0n, true); // e_shoff
  view.setUint16(0x3c, 0, true); // e_shnum
  view.setUint16(0x3e, 0, true); // e_shstrndx
  const elf = parseElf(bytes);
  assert.deepEqual([elf.sections.length, elf.symbols.length, elf.machine], [0, 0, EM_BPF]);
  assert.deepEqual(elf.relocations(0), []);
});

test('ElfError is a TsbpfError with structured fields', () => {
  try {
    parseElf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1]));
    assert.fail('parsed');
  } catch (e) {
    assert.ok(e instanceof TsbpfError);
    assert.ok(e instanceof ElfError);
    assert.equal(e.name, 'ElfError');
    assert.deepEqual([e.offset, e.section, e.sectionIndex], [6, undefined, undefined]);
    assert.equal(e.reason, 'truncated ELF header: 6 bytes, need 64');
  }
});

// --- golden dumps and llvm-readelf ----------------------------------------------------------

/** A readelf-like dump of everything the parser reads, for golden files. */
function dump(elf: ElfFile): string {
  const lines: string[] = [];
  const h = (n: number) => `0x${n.toString(16)}`;
  const typeName = (t: number) => Object.entries(SectionType).find(([, v]) => v === t)?.[0] ?? h(t);
  lines.push(`${elf.bigEndian ? 'big' : 'little'}-endian, e_type ${elf.type}, e_machine ${elf.machine}`);
  lines.push('', `sections (${elf.sections.length}):`);
  for (const s of elf.sections) {
    lines.push(
      `  [${String(s.index).padStart(2)}] ${s.name.padEnd(24)} ${typeName(s.type).padEnd(12)} ` +
        `flags=${h(s.flags)} addr=${h(s.addr)} off=${h(s.offset)} size=${h(s.size)} ` +
        `link=${s.link} info=${s.info} align=${s.addralign} es=${s.entsize} data=${s.data.length}`,
    );
  }
  lines.push('', `symbols (${elf.symbols.length}):`);
  for (const y of elf.symbols) {
    lines.push(
      `  [${String(y.index).padStart(2)}] ${h(y.value).padStart(6)} ${String(y.size).padStart(5)} ` +
        `${y.type.padEnd(8)} ${y.bind.padEnd(7)} ${y.visibility.padEnd(9)} ndx=${y.sectionIndex} '${y.name}'`,
    );
  }
  for (const s of elf.sections) {
    const relocs = elf.relocations(s);
    if (relocs.length === 0) continue;
    lines.push('', `relocations for [${s.index}] ${s.name} (${relocs.length}):`);
    for (const r of relocs) {
      lines.push(
        `  ${h(r.offset).padStart(6)} ${r.typeName.padEnd(18)} sym=${r.symbolIndex} ` +
          `'${displayName(elf, r.symbolIndex)}' addend=${r.addend}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

for (const name of FIXTURES) {
  test(`golden dump: ${name}`, () => {
    const golden = new URL(`${name}.golden`, TESTDATA);
    const text = dump(parseElf(fixture(name)));
    if (UPDATE_GOLDEN) writeFileSync(golden, text);
    assert.ok(existsSync(golden), `${golden.pathname} missing: run with UPDATE_GOLDEN=1`);
    assert.equal(text, readFileSync(golden, 'utf8'));
  });
}

/** llvm-readelf's JSON view of a file, or undefined when llvm-readelf-19 is not installed. */
function readelfJson(path: string): ReadelfJson | undefined {
  let out: string;
  try {
    out = execFileSync(READELF, ['--elf-output-style=JSON', '-h', '-S', '-s', '-r', path], {
      encoding: 'utf8',
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  // Addends are printed as unsigned 64-bit decimals, which JSON numbers cannot hold exactly.
  return (JSON.parse(out.replace(/"Addend":(\d+)/g, '"Addend":"$1"')) as ReadelfJson[])[0];
}

interface Named {
  readonly Name: string;
  readonly Value: number;
}
interface ReadelfJson {
  readonly ElfHeader: { readonly Machine: Named; readonly Ident: { readonly DataEncoding: Named } };
  readonly Sections: { readonly Section: ReadelfSection }[];
  readonly Symbols: { readonly Symbol: ReadelfSymbol }[];
  readonly Relocations: {
    readonly SectionIndex: number;
    readonly Relocs: {
      readonly Relocation: {
        readonly Offset: number;
        readonly Type: Named;
        readonly Symbol: Named;
        readonly Addend?: string;
      };
    }[];
  }[];
}
interface ReadelfSection {
  readonly Index: number;
  readonly Name: Named;
  readonly Type: Named;
  readonly Flags: { readonly Value: number };
  readonly Address: number;
  readonly Offset: number;
  readonly Size: number;
  readonly Link: number;
  readonly Info: number;
  readonly AddressAlignment: number;
  readonly EntrySize: number;
}
interface ReadelfSymbol {
  readonly Name: Named;
  readonly Value: number;
  readonly Size: number;
  readonly Binding: Named;
  readonly Type: Named;
  readonly Other: { readonly Value: number };
  readonly Section: Named;
}

for (const name of FIXTURES) {
  test(`agrees with ${READELF}: ${name}`, (t) => {
    const json = readelfJson(new URL(name, TESTDATA).pathname);
    if (!json) return t.skip(`${READELF} not installed`);
    const elf = parseElf(fixture(name));
    assert.equal(elf.machine, json.ElfHeader.Machine.Value);
    assert.equal(elf.bigEndian, json.ElfHeader.Ident.DataEncoding.Value === 2);
    assert.deepEqual(
      elf.sections.map((s) => [s.index, s.name, s.type, s.flags, s.addr, s.offset, s.size, s.link, s.info]),
      json.Sections.map(({ Section: s }) => [
        s.Index,
        s.Name.Name,
        s.Type.Value,
        s.Flags.Value,
        s.Address,
        s.Offset,
        s.Size,
        s.Link,
        s.Info,
      ]),
    );
    assert.deepEqual(
      elf.sections.map((s) => [s.addralign, s.entsize]),
      json.Sections.map(({ Section: s }) => [s.AddressAlignment, s.EntrySize]),
    );
    assert.deepEqual(
      elf.symbols.map((y) => [
        displayName(elf, y.index),
        y.value,
        y.size,
        SymbolBinds[y.bind as keyof typeof SymbolBinds],
        SymbolTypes[y.type as keyof typeof SymbolTypes],
        SymbolVisibilities.indexOf(y.visibility),
        y.sectionIndex,
      ]),
      json.Symbols.map(({ Symbol: y }) => [
        y.Name.Name,
        y.Value,
        y.Size,
        y.Binding.Value,
        y.Type.Value,
        y.Other.Value & 3,
        y.Section.Value,
      ]),
    );
    const ours = elf.sections.flatMap((target) =>
      elf.relocations(target).map((r) => [target.index, r.offset, r.type, r.symbolIndex, r.addend]),
    );
    const theirs = json.Relocations.flatMap((group) =>
      group.Relocs.map(({ Relocation: r }) => [
        elf.sections[group.SectionIndex].info,
        r.Offset,
        r.Type.Value,
        r.Symbol.Value,
        r.Addend === undefined ? 0n : BigInt.asIntN(64, BigInt(r.Addend)),
      ]),
    );
    assert.deepEqual(ours, theirs);
    // Our BPF relocation names are LLVM's.
    for (const group of json.Relocations) {
      for (const { Relocation: r } of group.Relocs) {
        if (elf.machine === EM_BPF)
          assert.equal(BpfRelocationType[r.Type.Name as keyof typeof BpfRelocationType], r.Type.Value);
      }
    }
  });
}

// --- malformed files: one test per check -----------------------------------------------------

/** A fixture copy with a writer that knows the file's byte order and where headers live. */
function mutable(name = 'minimal.bpf.o') {
  const bytes = fixture(name);
  const elf = parseElf(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = !elf.bigEndian;
  const shoff = Number(view.getBigUint64(0x28, le));
  return {
    bytes,
    elf,
    le,
    /** file offset of section header `index`, plus a field offset */
    shdr: (index: number, field = 0) => shoff + index * 64 + field,
    index: (sectionName: string) => section(elf, sectionName).index,
    u16: (at: number, v: number) => view.setUint16(at, v, le),
    u32: (at: number, v: number) => view.setUint32(at, v, le),
    u64: (at: number, v: bigint) => view.setBigUint64(at, v, le),
  };
}

function rejects(
  bytes: Uint8Array,
  pattern: RegExp,
  fields?: { offset?: number; section?: string | number },
) {
  assert.throws(
    () => parseElf(bytes),
    (e: unknown) => {
      assert.ok(e instanceof ElfError, `not an ElfError: ${String(e)}`);
      assert.match(e.message, /^ELF: /);
      assert.match(e.message, pattern);
      if (fields?.offset !== undefined) assert.equal(e.offset, fields.offset);
      if (fields?.section !== undefined) assert.equal(e.section, fields.section);
      return true;
    },
  );
}

const SH_OFFSET = 0x18;
const SH_SIZE = 0x20;
const SH_LINK = 0x28;
const SH_INFO = 0x2c;
const SH_ENTSIZE = 0x38;

test('error: not an ELF file', () => {
  rejects(new TextEncoder().encode('#!/bin/sh\necho hi\n'), /not an ELF file: magic is \[23 21 2f 62\]/, {
    offset: 0,
  });
  rejects(new Uint8Array(0), /not an ELF file/);
});

test('error: not ELF64', () => {
  const m = mutable();
  m.bytes[4] = 1;
  rejects(m.bytes, /not ELF64: EI_CLASS is 1 \(ELF32\)/, { offset: 4 });
});

test('error: bad byte order byte', () => {
  const m = mutable();
  m.bytes[5] = 3;
  rejects(m.bytes, /bad byte order: EI_DATA is 3/, { offset: 5 });
});

test('error: truncated header', () => {
  const bytes = fixture('minimal.bpf.o');
  rejects(bytes.subarray(0, 40), /truncated ELF header: 40 bytes, need 64/, { offset: 40 });
  rejects(bytes.subarray(0, 8), /truncated ELF header: 8 bytes/);
});

test('error: section header table past the end', () => {
  const m = mutable();
  // clang puts the section header table last, so any truncation cuts it.
  const shoff = m.shdr(0).toString(16);
  const pattern = new RegExp(`section header table \\(32 entries at 0x${shoff}\\) runs past the end`);
  rejects(m.bytes.subarray(0, m.bytes.length - 10), pattern, { offset: 0x28 });
  m.u64(0x28, BigInt(m.bytes.length + 8));
  rejects(m.bytes, /section header table at 0x[0-9a-f]+ is past the end of the file/);
});

test('error: section data past the end', () => {
  const m = mutable();
  const text = m.index('.text');
  m.u64(m.shdr(text, SH_SIZE), 0x100000n);
  rejects(m.bytes, /^ELF: section 2: data \(0x100000 bytes at 0x40\) runs past the end of the file/, {
    offset: m.shdr(text, SH_OFFSET),
    section: text,
  });
});

test('SHT_NOBITS sections may lie past the end: they have no file bytes', () => {
  const m = mutable();
  const bss = m.index('.bss');
  m.u64(m.shdr(bss, SH_OFFSET), 0x7fff_0000n);
  m.u64(m.shdr(bss, SH_SIZE), 0x10_0000n);
  const elf = parseElf(m.bytes);
  assert.equal(elf.sections[bss].size, 0x10_0000);
  assert.equal(elf.sections[bss].data.length, 0);
});

test('error: overlapping sections', () => {
  const m = mutable();
  const data = m.index('.data');
  const text = section(m.elf, '.text').offset;
  m.u64(m.shdr(data, SH_OFFSET), BigInt(text + 8));
  rejects(m.bytes, /section 6 '.data': file range 0x48-0x4c overlaps section 2 '.text' \(0x40-0xf8\)/, {
    section: '.data',
    offset: m.shdr(data, SH_OFFSET),
  });
  const h = mutable();
  h.u64(h.shdr(h.index('.text'), SH_OFFSET), 0x20n);
  rejects(h.bytes, /section 2 '.text': file range 0x20-0xd8 overlaps the ELF header \(0x0-0x40\)/);
});

test('error: bad e_shstrndx', () => {
  const m = mutable();
  m.u16(0x3e, 99);
  rejects(m.bytes, /e_shstrndx is 99, but there are only 32 sections/, { offset: 0x3e });
  const n = mutable();
  n.u16(0x3e, n.index('.text'));
  rejects(n.bytes, /e_shstrndx names section 2, which is not a string table/);
});

test('error: string offset past the end of its table', () => {
  const m = mutable();
  const text = m.index('.text');
  m.u32(m.shdr(text), 0xffff);
  rejects(
    m.bytes,
    /section 2: section name at string offset 0xffff is past the end of the string table \(section 1 '.strtab', 0x166 bytes\)/,
    {
      offset: m.shdr(text),
      section: text,
    },
  );
  const s = mutable();
  const symtab = section(s.elf, '.symtab');
  s.u32(symtab.offset + 24 * symbol(s.elf, 'bump').index, 0x10000);
  rejects(s.bytes, /section 31 '.symtab': symbol \d+ name at string offset 0x10000 is past the end/);
});

test('error: unterminated string', () => {
  const m = mutable();
  const strtab = section(m.elf, '.strtab');
  // Overwrite the table's final NUL: the last string in it now runs off the end.
  m.bytes[strtab.offset + strtab.size - 1] = 0x78;
  rejects(m.bytes, /at string offset 0x[0-9a-f]+ is not NUL-terminated before the end of the string table/);
});

test('error: symbol table entsize wrong', () => {
  const m = mutable();
  const symtab = m.index('.symtab');
  m.u64(m.shdr(symtab, SH_ENTSIZE), 16n);
  rejects(m.bytes, /section 31 '.symtab': sh_entsize is 16, expected 24 for a symbol table/, {
    offset: m.shdr(symtab, SH_ENTSIZE),
  });
  const n = mutable();
  n.u32(n.shdr(n.index('.symtab'), SH_LINK), n.index('.text'));
  rejects(n.bytes, /'.symtab': sh_link 2 is not a string table/);
});

test('error: symbol in a section past the table', () => {
  const m = mutable();
  const bump = symbol(m.elf, 'bump');
  const at = section(m.elf, '.symtab').offset + 24 * bump.index + 6;
  m.u16(at, 200);
  rejects(m.bytes, /symbol \d+ 'bump' is in section 200, but there are only 32 sections/, { offset: at });
  // Reserved indexes (ABS, COMMON) are markers, not sections.
  m.u16(at, SpecialSectionIndex.COMMON);
  assert.equal(parseElf(m.bytes).symbols[bump.index].sectionIndex, SpecialSectionIndex.COMMON);
  m.u16(at, SpecialSectionIndex.XINDEX);
  rejects(m.bytes, /'bump' has st_shndx XINDEX but there is no SHT_SYMTAB_SHNDX section/);
});

test('error: relocation section with bad entsize, link or info', () => {
  const m = mutable();
  const rel = m.index('.relxdp');
  m.u64(m.shdr(rel, SH_ENTSIZE), 24n);
  rejects(m.bytes, /section 5 '.relxdp': sh_entsize is 24, expected 16 for SHT_REL/, { section: '.relxdp' });

  const l = mutable();
  l.u32(l.shdr(rel, SH_LINK), 1);
  rejects(l.bytes, /'.relxdp': sh_link 1 should name the symbol table, section 31 '.symtab'/, {
    offset: l.shdr(rel, SH_LINK),
  });

  const i = mutable();
  i.u32(i.shdr(rel, SH_INFO), 99);
  rejects(i.bytes, /'.relxdp': sh_info 99 does not name a section to relocate/, {
    offset: i.shdr(rel, SH_INFO),
  });

  const size = mutable();
  size.u64(size.shdr(rel, SH_SIZE), 0x48n);
  rejects(size.bytes, /'.relxdp': sh_size 0x48 is not a multiple of 16/);
});

test('error: relocation offset past the end of its target', () => {
  const m = mutable();
  const rel = section(m.elf, '.relxdp');
  const xdp = section(m.elf, 'xdp');
  m.u64(rel.offset + 16, BigInt(xdp.size - 8)); // relocation 1 is an R_BPF_64_64: needs 16 bytes
  rejects(
    m.bytes,
    /'.relxdp': relocation 1 \(R_BPF_64_64\) at offset 0xc8 patches 16 bytes, past the end of section 4 'xdp' \(0xd0 bytes\)/,
    { offset: rel.offset + 16 },
  );
});

test('error: relocation against a missing symbol', () => {
  const m = mutable();
  const rel = section(m.elf, '.relxdp');
  m.u32(rel.offset + 3 * 16 + 12, 99); // r_info high half: the symbol index
  assert.throws(() => parseElf(m.bytes), {
    name: 'ElfError',
    message: `ELF: section 5 '.relxdp': relocation 3 names symbol 99, but the symbol table has 22 entries (byte offset 0x${(rel.offset + 3 * 16 + 8).toString(16)})`,
    section: '.relxdp',
    sectionIndex: 5,
    offset: rel.offset + 3 * 16 + 8,
  });
});

test('error: big-endian fields are read big-endian', () => {
  const m = mutable('minimal.bpfeb.o');
  const rel = section(m.elf, '.relxdp');
  m.u32(rel.offset + 8, 99); // in big-endian, the symbol index is the first half of r_info
  rejects(m.bytes, /relocation 0 names symbol 99, but the symbol table has 22 entries/);
});

test('error: a 64-bit field too large for a number', () => {
  const m = mutable();
  const text = m.index('.text');
  m.u64(m.shdr(text, SH_SIZE), 1n << 60n);
  rejects(m.bytes, /section 2: sh_size 0x1000000000000000 is too large/, { offset: m.shdr(text, SH_SIZE) });
});

/**
 * A file whose 20,000 symbol names all point into one 256 KiB string at different offsets: a
 * naive reader scans and decodes gigabytes. ASCII names are slices of one decoded table; other
 * names are decoded one by one against a budget, which this file exhausts.
 */
function hostileStringFile(ascii: boolean): Uint8Array {
  const strLen = 1 << 18;
  const nsym = 20000;
  const strOff = 64;
  const symOff = strOff + strLen;
  const shoff = symOff + nsym * 24;
  const bytes = new Uint8Array(shoff + 3 * 64);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(0x10, ElfType.REL, true);
  v.setUint16(0x12, EM_BPF, true);
  v.setBigUint64(0x28, BigInt(shoff), true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, 3, true);
  v.setUint16(0x3e, 1, true);
  for (let i = 0; i < strLen - 1; i++) bytes[strOff + i] = ascii ? 0x61 : i % 2 ? 0xa9 : 0xc3; // 'a' or 'é'
  for (let i = 1; i < nsym; i++) v.setUint32(symOff + i * 24, i * 2, true);
  const shdr = (index: number, type: number, offset: number, size: number, link: number, entsize: number) => {
    const at = shoff + index * 64;
    v.setUint32(at + 4, type, true);
    v.setBigUint64(at + SH_OFFSET, BigInt(offset), true);
    v.setBigUint64(at + SH_SIZE, BigInt(size), true);
    v.setUint32(at + SH_LINK, link, true);
    v.setBigUint64(at + SH_ENTSIZE, BigInt(entsize), true);
  };
  shdr(1, SectionType.STRTAB, strOff, strLen, 0, 0);
  shdr(2, SectionType.SYMTAB, symOff, nsym * 24, 1, 24);
  return bytes;
}

// No duration is asserted (a loaded machine makes any bound flaky): a parser that went quadratic
// on these 20,000 names of 256 KiB each would make this test run for hours, not fail quietly.
test('hostile string references: 20,000 names of 256 KiB each parse, messages cut them short', () => {
  const elf = parseElf(hostileStringFile(true));
  assert.equal(elf.symbols.length, 20000);
  assert.equal(elf.symbols[5].name.length, (1 << 18) - 1 - 10);
  // The section's name is that string too (131,072 characters: 0x3ffff bytes, the odd one out a
  // U+FFFD); messages cut it short.
  rejects(
    hostileStringFile(false),
    /^ELF: section 2 'é{61}\.\.\.' \(131072 characters\): symbol \d+ name .* one name too many/,
  );
});

// --- property tests: never anything but a value or an ElfError -----------------------------------

function parsesOrElfError(bytes: Uint8Array): void {
  try {
    const elf = parseElf(bytes);
    // Touch everything the parser promised is consistent.
    for (const s of elf.sections) {
      for (const r of elf.relocations(s)) assert.equal(r.symbol, elf.symbols[r.symbolIndex]);
      assert.ok(s.data.length === 0 || s.data.length === s.size);
    }
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    assert.match(e.message, /^ELF: /);
  }
}

test('random bytes: a value or an ElfError', () => {
  const header = fixture('minimal.bpf.o').subarray(0, 64);
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 600 }),
      fc.boolean(),
      (raw: Uint8Array, withHeader: boolean) => {
        // Half the inputs start with a valid ELF64 header, so they get past the magic check.
        const bytes = withHeader ? Uint8Array.from([...header.subarray(0, 16), ...raw]) : raw;
        parsesOrElfError(bytes);
      },
    ),
    { numRuns: 2000 },
  );
});

test('mutated fixtures: a value or an ElfError', () => {
  const originals = FIXTURES.map(fixture);
  const mutation = fc.record({
    /** which region to aim at, as [start, end) picked per fixture */
    region: fc.constantFrom('header', 'section headers', 'symtab', 'relocations', 'anywhere'),
    at: fc.nat(),
    value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80)),
  });
  fc.assert(
    fc.property(
      fc.nat({ max: originals.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { freq: 4 }),
      (which: number, mutations, truncate: number | null) => {
        const source = originals[which];
        const elf = parseElf(source);
        const shoff = Number(
          new DataView(source.buffer, source.byteOffset).getBigUint64(0x28, !elf.bigEndian),
        );
        const symtab = elf.sectionByName('.symtab')!;
        const rels = elf.sections.filter((s) => s.type === SectionType.REL || s.type === SectionType.RELA);
        const regions: Record<string, [number, number]> = {
          header: [0, 64],
          'section headers': [shoff, shoff + elf.sections.length * 64],
          symtab: [symtab.offset, symtab.offset + symtab.size],
          relocations: [rels[0].offset, rels[rels.length - 1].offset + rels[rels.length - 1].size],
          anywhere: [0, source.length],
        };
        let bytes = source.slice();
        for (const { region, at, value } of mutations) {
          const [start, end] = regions[region];
          bytes[start + (at % (end - start))] = value;
        }
        if (truncate !== null) bytes = bytes.subarray(0, truncate % (bytes.length + 1));
        parsesOrElfError(bytes);
      },
    ),
    { numRuns: 3000 },
  );
});
