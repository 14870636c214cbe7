// objdump's per-section view against llvm-objdump-19: every executable section, `.text`
// subprograms included, same slot indexes, same block headers, same text.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { objdump } from './objdump.js';
import { loadObjectSpec } from './object.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hasObjdump = spawnSync('llvm-objdump-19', ['--version']).status === 0;
const hasClang = spawnSync('clang-19', ['--version']).status === 0;

interface Listing {
  /** `section:slot` → text */
  readonly insns: Map<string, string>;
  /** `section:slot` → block name */
  readonly headers: Map<string, string>;
}

function llvmListing(path: string): Listing {
  const insns = new Map<string, string>();
  const headers = new Map<string, string>();
  let section = '';
  for (const line of execFileSync('llvm-objdump-19', ['-d', path], { encoding: 'utf8' }).split('\n')) {
    const head = /^Disassembly of section (.*):$/.exec(line);
    if (head) section = head[1];
    const block = /^([0-9a-f]{16}) <(.*)>:$/.exec(line);
    if (block) headers.set(`${section}:${Number.parseInt(block[1], 16) / 8}`, block[2]);
    const insn = /^\s+(\d+):\t[0-9a-f ]+\t(.*)$/.exec(line);
    if (insn) insns.set(`${section}:${insn[1]}`, insn[2]);
  }
  return { insns, headers };
}

function ourListing(path: string): Listing {
  const dump = objdump(loadObjectSpec(new Uint8Array(readFileSync(path))));
  const insns = new Map<string, string>();
  const headers = new Map<string, string>();
  for (const code of dump.code) {
    for (const insn of code.insns) insns.set(`${code.section}:${insn.index}`, insn.text);
    for (const f of code.functions) headers.set(`${code.section}:${f.index}`, f.name);
  }
  return { insns, headers };
}

function compare(path: string): number {
  const expected = llvmListing(path);
  const actual = ourListing(path);
  assert.deepEqual([...actual.insns], [...expected.insns], path);
  // llvm-objdump prints a header only where an instruction starts.
  const starts = [...expected.insns.keys()];
  const ours = [...actual.headers].filter(([key]) => starts.includes(key));
  assert.deepEqual(ours, [...expected.headers], path);
  return expected.insns.size;
}

describe('objdump: every executable section', () => {
  test('subprograms in .text are listed with their names and slots', () => {
    const dump = objdump(
      loadObjectSpec(new Uint8Array(readFileSync(join(root, 'testdata/fidelity/subprogs.bpf.o')))),
    );
    const text = dump.code.find((c) => c.section === '.text');
    assert.ok(text, 'a .text section');
    const functions = text.functions.filter((f) => f.kind === 'func').map((f) => f.name);
    assert.deepEqual(functions.sort(), ['bump', 'global_len', 'mix']);
    assert.deepEqual(
      dump.code.map((c) => c.section),
      ['.text', 'xdp', 'tc'],
    );
    // Every slot of every code section is present once.
    for (const code of dump.code) {
      const slots = code.insns.reduce((n, i) => n + i.bytes.length / 8, 0);
      assert.equal(slots * 8, code.insns.at(-1)!.index * 8 + code.insns.at(-1)!.bytes.length);
    }
  });

  test('same instructions, slot indexes and block headers as llvm-objdump-19', {
    skip: hasObjdump ? false : 'llvm-objdump-19 not installed',
  }, () => {
    const files = [
      ...readdirSync(join(root, 'examples'))
        .filter((f) => f.endsWith('.bpf.o'))
        .map((f) => `examples/${f}`),
      ...readdirSync(join(root, 'testdata/fidelity'))
        .filter((f) => f.endsWith('.bpf.o'))
        .map((f) => `testdata/fidelity/${f}`),
      'testdata/object/multi.bpf.o',
    ];
    let compared = 0;
    for (const file of files) compared += compare(join(root, file));
    assert.ok(compared > 500, `compared ${compared} instructions`);
  });

  test('objects built here with several subprograms, for each cpu version', {
    skip: hasObjdump && hasClang ? false : 'clang-19 or llvm-objdump-19 not installed',
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-objdump-'));
    try {
      const multiarch = spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).stdout?.trim();
      for (const cpu of ['v1', 'v2', 'v3', 'v4']) {
        const out = join(dir, `subprogs-${cpu}.o`);
        execFileSync('clang-19', [
          '-target',
          'bpf',
          '-O2',
          '-g',
          `-mcpu=${cpu}`,
          '-I',
          join(root, 'include'),
          ...(multiarch ? ['-I', `/usr/include/${multiarch}`] : []),
          '-c',
          join(root, 'testdata/fidelity/subprogs.bpf.c'),
          '-o',
          out,
        ]);
        assert.ok(compare(out) > 30, cpu);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
