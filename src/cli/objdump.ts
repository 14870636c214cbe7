/**
 * Text rendering of `tsbpf objdump`: tables for sections, programs, maps, globals and
 * relocations, then each program's disassembly with its source lines interleaved
 * (`; <source text> @ file.c:12`), instruction text as llvm-objdump-19 prints it.
 */
import Table from 'cli-table3';
import type { Objdump, ObjdumpInsn } from '../object/objdump.js';
import { pc } from './commonjs.js';

/** A borderless, left-aligned table (bpftool-like columns). */
function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({
    head: head.map((h) => pc.bold(h)),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) t.push(row.map(String));
  return t
    .toString()
    .split('\n')
    .map((line) => `  ${line.trimEnd()}`)
    .join('\n');
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** One program's disassembly, with source lines where they change. */
export function renderDisassembly(insns: readonly ObjdumpInsn[]): string[] {
  const out: string[] = [];
  let lastLine: string | undefined;
  for (const insn of insns) {
    const where = insn.line ? `${insn.line.file}:${insn.line.line}` : undefined;
    if (insn.line && where !== lastLine) {
      out.push(pc.dim(`; ${insn.line.text.trim()} @ ${where}`));
      lastLine = where;
    }
    out.push(`${String(insn.index).padStart(8)}:\t${insn.text}`);
    if (insn.relocation) out.push(pc.dim(`\t\t${insn.relocation}`));
  }
  return out;
}

/** The whole objdump report as text. */
export function renderObjdump(file: string, dump: Objdump): string {
  const parts: string[] = [];
  parts.push(
    `${pc.bold(file)}: BPF object, ${dump.bigEndian ? 'big' : 'little'}-endian, license ${JSON.stringify(dump.license)}`,
  );
  parts.push(
    '',
    'Sections:',
    table(
      ['idx', 'name', 'size', 'type', 'flags'],
      dump.sections.map((s) => [s.index, s.name, s.size, s.type, s.flags || '-']),
    ),
  );
  parts.push(
    '',
    'Programs:',
    table(
      ['name', 'section', 'type', 'attach', 'insns', 'linked', 'subprograms'],
      dump.programs.map((p) => [
        p.name,
        p.section,
        p.type ?? pc.red(p.error ?? 'unknown'),
        [p.attachType, p.attach].filter(Boolean).join(' ') || '-',
        p.slots,
        p.linkedSlots,
        p.subprograms.join(', ') || '-',
      ]),
    ),
  );
  parts.push(
    '',
    'Maps:',
    dump.maps.length === 0
      ? '  (none)'
      : table(
          ['name', 'type', 'key', 'value', 'max_entries', 'flags', 'btf key', 'btf value', 'from'],
          dump.maps.map((m) => [
            m.name,
            m.type,
            m.keySize,
            m.valueSize,
            m.maxEntries,
            hex(m.flags),
            m.keyType ?? '-',
            m.valueType ?? '-',
            m.origin,
          ]),
        ),
  );
  if (dump.globals.length > 0) {
    parts.push(
      '',
      'Globals:',
      table(
        ['map', 'name', 'offset', 'size'],
        dump.globals.map((g) => [g.map, g.name, g.offset, g.size]),
      ),
    );
  }
  if (dump.relocations.length > 0) {
    parts.push(
      '',
      'Relocations:',
      table(
        ['section', 'offset', 'type', 'symbol'],
        dump.relocations.map((r) => [r.section, hex(r.offset), r.type, r.symbol]),
      ),
    );
  }
  parts.push(...renderCode(dump));
  return `${parts.join('\n')}\n`;
}

/**
 * Every executable section as llvm-objdump-19 lays it out: `Disassembly of section NAME:`, then
 * `<function>:` (and `<LBB…>:` label) headers at their slots, programs and subprograms alike.
 */
export function renderCode(dump: Objdump): string[] {
  const out: string[] = [];
  for (const code of dump.code) {
    out.push('', `Disassembly of section ${pc.bold(code.section)}:`);
    const starts = new Map(code.functions.map((f) => [f.index, f]));
    let from = 0;
    const flush = (to: number) => {
      out.push(...renderDisassembly(code.insns.filter((i) => i.index >= from && i.index < to)));
      from = to;
    };
    for (const insn of code.insns) {
      const head = starts.get(insn.index);
      if (!head) continue;
      flush(insn.index);
      out.push(
        '',
        `${(insn.index * 8).toString(16).padStart(16, '0')} <${head.kind === 'func' ? pc.bold(head.name) : head.name}>:`,
      );
    }
    flush(Number.POSITIVE_INFINITY);
  }
  return out;
}
