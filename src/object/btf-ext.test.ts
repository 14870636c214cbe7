import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { BtfError, parseBtf } from './btf.js';
import { dumpBtfExt } from './btf-dump.js';
import { BtfExtError, CORE_RELO_KINDS, parseBtfExt } from './btf-ext.js';

const TESTDATA = new URL('../../testdata/btf/', import.meta.url);
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, TESTDATA)));
}

function load(stem: string) {
  const btf = parseBtf(fixture(`${stem}.btf`));
  return { btf, ext: parseBtfExt(fixture(`${stem}.btf.ext`), btf) };
}

// --- golden dumps ---------------------------------------------------------------------------

for (const stem of ['kinds', 'kinds-eb', 'core']) {
  test(`${stem}.btf.ext matches its golden dump (UPDATE_GOLDEN=1 rewrites it)`, () => {
    const { btf, ext } = load(stem);
    assert.equal(ext.bigEndian, stem === 'kinds-eb');
    const text = dumpBtfExt(ext, btf);
    const golden = new URL(`${stem}.btf.ext.golden.txt`, TESTDATA);
    if (UPDATE) writeFileSync(golden, text);
    assert.equal(text, readFileSync(golden, 'utf8'));
  });
}

// --- against llvm-objdump's view of the same object -----------------------------------------

interface ObjdumpRelo {
  section: string;
  insnOff: number;
  kind: string;
  typeId: number;
  /** what follows the type id: `struct task::pid (0:0)`, `enum state::SLEEPING = 2` */
  spec: string;
}

/** The `CO-RE <kind> [id] …` comment lines of `llvm-objdump -dr`, kept by build.sh. */
function objdumpRelos(text: string): ObjdumpRelo[] {
  const out: ObjdumpRelo[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const s = /^Disassembly of section (.*):$/.exec(line);
    if (s) section = s[1]!;
    const r = /^\s+([0-9a-f]+):\s+CO-RE <(\w+)> \[(\d+)\] (.*)$/.exec(line);
    if (r)
      out.push({
        section,
        insnOff: Number.parseInt(r[1]!, 16),
        kind: r[2]!,
        typeId: Number(r[3]),
        spec: r[4]!,
      });
  }
  return out;
}

test('core.btf.ext: every CO-RE relocation as llvm-objdump shows it', () => {
  const { btf, ext } = load('core');
  const expected = objdumpRelos(readFileSync(new URL('core.objdump.txt', TESTDATA), 'utf8'));
  assert.ok(expected.length >= 13);
  const ours = ext.coreRelos.flatMap((s) =>
    s.records.map((r) => ({
      section: s.section,
      insnOff: r.insnOff,
      kind: CORE_RELO_KINDS.find((k) => k.kind === r.kind)!.llvmName,
      typeId: r.typeId,
      accessStr: r.accessStr,
    })),
  );
  assert.deepEqual(
    ours.map(({ accessStr: _, ...r }) => r),
    expected.map(({ spec: _, ...r }) => r),
  );
  for (const [i, e] of expected.entries()) {
    const access = /\(([\d:]+)\)$/.exec(e.spec);
    // Field relocations print the access string; enumerator ones name the enumerator it indexes.
    if (access) assert.equal(ours[i]!.accessStr, access[1]);
    const enumerator = /::(\w+) = -?\d+$/.exec(e.spec);
    if (enumerator) {
      const t = btf.typeById(e.typeId);
      assert.equal(t.kind, 'enum');
      if (t.kind === 'enum') assert.equal(t.values[Number(ours[i]!.accessStr)]!.name, enumerator[1]);
    }
  }
});

test('core.btf.ext covers all 13 CO-RE relocation kinds', () => {
  const { ext } = load('core');
  const kinds = new Set(ext.coreRelos.flatMap((s) => s.records.map((r) => r.kind)));
  assert.deepEqual([...kinds].sort(), CORE_RELO_KINDS.map((k) => k.kind).sort());
  assert.equal(CORE_RELO_KINDS.length, 13);
});

test('func_info names the FUNC of each program, as llvm-objdump names its symbol', () => {
  for (const stem of ['kinds', 'core']) {
    const { btf, ext } = load(stem);
    const text = readFileSync(new URL(`${stem}.objdump.txt`, TESTDATA), 'utf8');
    const symbols: string[] = [];
    let section = '';
    for (const line of text.split('\n')) {
      const s = /^Disassembly of section (.*):$/.exec(line);
      if (s) section = s[1]!;
      const f = /^([0-9a-f]+) <(\w+)>:$/.exec(line);
      if (f) symbols.push(`${section} ${Number.parseInt(f[1]!, 16) / 8} ${f[2]}`);
    }
    const ours = ext.funcInfo.flatMap((s) =>
      s.records.map((r) => {
        const t = btf.typeById(r.typeId);
        assert.equal(t.kind, 'func');
        return `${s.section} ${r.insnIndex} ${t.name}`;
      }),
    );
    assert.deepEqual(ours.sort(), symbols.sort());
  }
});

test('line_info points at the source lines it quotes', () => {
  for (const stem of ['kinds', 'core']) {
    const { ext } = load(stem);
    const source = readFileSync(new URL(`${stem === 'core' ? 'core' : 'kinds'}.c`, TESTDATA), 'utf8').split(
      '\n',
    );
    let n = 0;
    for (const s of ext.lineInfo) {
      for (const r of s.records) {
        assert.equal(r.fileName, `./${stem}.c`);
        assert.equal(r.line, source[r.lineNumber - 1], `${s.section} insn ${r.insnIndex}`);
        assert.ok(r.column <= r.line.length + 1);
        assert.equal(r.insnOff, r.insnIndex * 8);
        n++;
      }
    }
    assert.ok(n > 5);
  }
});

test('kinds-eb.btf.ext (big-endian) has the programs of kinds.btf.ext', () => {
  const le = load('kinds');
  const be = load('kinds-eb');
  assert.deepEqual(
    be.ext.funcInfo.map((s) => s.section),
    le.ext.funcInfo.map((s) => s.section),
  );
  assert.throws(() => parseBtfExt(fixture('kinds-eb.btf.ext'), be.btf, { bigEndian: false }), BtfExtError);
});

// --- errors ---------------------------------------------------------------------------------

const { btf: CORE_BTF } = load('core');

/** A little-endian .BTF.ext with a core_relo header and the three tables given as u32 words. */
function ext(
  func: number[],
  line: number[],
  core: number[],
  hdr: Partial<Record<'magic' | 'version', number>> = {},
) {
  const words = [...func, ...line, ...core];
  const out = new Uint8Array(32 + words.length * 4);
  const v = new DataView(out.buffer);
  v.setUint16(0, hdr.magic ?? 0xeb9f, true);
  v.setUint8(2, hdr.version ?? 1);
  v.setUint32(4, 32, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, func.length * 4, true);
  v.setUint32(16, func.length * 4, true);
  v.setUint32(20, line.length * 4, true);
  v.setUint32(24, (func.length + line.length) * 4, true);
  v.setUint32(28, core.length * 4, true);
  for (const [i, w] of words.entries()) v.setUint32(32 + i * 4, w, true);
  return out;
}

/** Offset of the section name `kprobe/core` in core.btf's strings. */
const SEC = parseBtfExt(fixture('core.btf.ext'), CORE_BTF).funcInfo[0]!.sectionNameOff;
const FUNC_ID = CORE_BTF.typesByName('core_prog')[0]!.id;

test('a hand-made .BTF.ext parses', () => {
  const e = parseBtfExt(ext([8, SEC, 1, 16, FUNC_ID], [], [16, SEC, 1, 24, 2, 0, 12]), CORE_BTF);
  assert.deepEqual(e.funcInfo, [
    {
      section: 'kprobe/core',
      sectionNameOff: SEC,
      records: [{ insnOff: 16, insnIndex: 2, typeId: FUNC_ID }],
    },
  ]);
  assert.deepEqual(e.coreRelos[0]!.records[0], {
    insnOff: 24,
    insnIndex: 3,
    typeId: 2,
    accessStrOff: 0,
    accessStr: '',
    kind: 'type_matches',
  });
  // A newer producer's bigger records: the known prefix is read.
  const wide = parseBtfExt(ext([12, SEC, 1, 16, FUNC_ID, 0xdead], [], []), CORE_BTF);
  assert.equal(wide.funcInfoRecordSize, 12);
  assert.equal(wide.funcInfo[0]!.records[0]!.typeId, FUNC_ID);
});

const BAD: [string, Uint8Array, RegExp][] = [
  ['short', new Uint8Array(4), /4 bytes is shorter than the header/],
  ['bad magic', ext([], [], [], { magic: 0x1111 }), /bad magic 0x1111/],
  ['bad version', ext([], [], [], { version: 3 }), /unsupported version 3/],
  [
    'small record size',
    ext([4, SEC, 0], [], []),
    /func_info record size 4, want a multiple of 4 of at least 8/,
  ],
  [
    'records past end',
    ext([8, SEC, 5, 0, FUNC_ID], [], []),
    /func_info section 'kprobe\/core': 5 records of 8 bytes past the end/,
  ],
  [
    'section name past strings',
    ext([8, 0xffffff, 0], [], []),
    /section name offset 0xffffff past the end of the BTF string section/,
  ],
  ['func type out of range', ext([8, SEC, 1, 0, 9999], [], []), /record 0: type 9999 past the last type/],
  ['insn offset', ext([8, SEC, 1, 3, FUNC_ID], [], []), /instruction offset 3 is not a multiple of 8/],
  [
    'line text past strings',
    ext([], [16, SEC, 1, 0, 0, 0xffffff, 0], []),
    /line text offset 0xffffff past the end/,
  ],
  ['unknown relo kind', ext([], [], [16, SEC, 1, 0, 2, 0, 13]), /unknown CO-RE relocation kind 13/],
  ['truncated section header', ext([8, SEC], [], []), /section header past the end of func_info/],
];

for (const [what, bytes, message] of BAD) {
  test(`error: ${what}`, () => {
    assert.throws(
      () => parseBtfExt(bytes, CORE_BTF),
      (e: unknown) => {
        assert.ok(e instanceof BtfExtError && e instanceof BtfError, String(e));
        assert.match(e.message, message);
        assert.match(e.message, /^load BTF\.ext: .*\(byte offset 0x[0-9a-f]+\)$/);
        assert.equal(typeof e.offset, 'number');
        return true;
      },
    );
  });
}

test('property: random and mutated .BTF.ext bytes give a BtfExt or a BtfExtError', () => {
  const seeds = ['kinds', 'core'].map((s) => ({ ...load(s), bytes: fixture(`${s}.btf.ext`) }));
  const check = (bytes: Uint8Array, seed: number): void => {
    try {
      parseBtfExt(bytes, seeds[seed]!.btf);
    } catch (e) {
      if (!(e instanceof BtfExtError)) throw e;
    }
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(1), (bytes, seed) => check(bytes, seed)),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.nat(1),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }),
      fc.option(fc.nat(), { nil: undefined }),
      (seed, edits, cut) => {
        let bytes = seeds[seed]!.bytes.slice();
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        if (cut !== undefined) bytes = bytes.subarray(0, cut % bytes.length);
        check(bytes, seed);
      },
    ),
    { numRuns: 3000 },
  );
});
