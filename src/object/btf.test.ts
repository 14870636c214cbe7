import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  BTF_INT_BOOL,
  BTF_INT_SIGNED,
  BTF_KINDS,
  BTF_VOID,
  Btf,
  BtfError,
  type BtfKind,
  type BtfType,
  parseBtf,
  writeBtf,
} from './btf.js';
import { dumpBtfRaw } from './btf-dump.js';

const TESTDATA = new URL('../../testdata/btf/', import.meta.url);
const VMLINUX = '/sys/kernel/btf/vmlinux';
const FIXTURES = ['kinds', 'kinds-eb', 'core'] as const;

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, TESTDATA)));
}

function readable(path: string): boolean {
  try {
    readFileSync(path, { flag: 'r' }).subarray(0, 1);
    return true;
  } catch {
    return false;
  }
}

/** The one type of this kind and name; fails the test when there is not exactly one. */
function only<K extends BtfKind>(btf: Btf, kind: K, name: string): Extract<BtfType, { kind: K }> {
  const found = btf.typesByName(name).filter((t) => t.kind === kind);
  assert.equal(found.length, 1, `${kind} '${name}'`);
  return found[0] as Extract<BtfType, { kind: K }>;
}

// --- fixtures -------------------------------------------------------------------------------

for (const name of FIXTURES) {
  test(`${name}.btf: parse then write gives the same bytes`, () => {
    const bytes = fixture(`${name}.btf`);
    const btf = parseBtf(bytes);
    assert.equal(btf.bigEndian, name === 'kinds-eb');
    assert.deepEqual(writeBtf(btf), bytes);
  });
}

test('kinds.btf has every kind', () => {
  const btf = parseBtf(fixture('kinds.btf'));
  const kinds = new Set(btf.types.map((t) => t.kind));
  const all = BTF_KINDS.filter((k) => k !== undefined).map((k) => k.kind);
  assert.deepEqual(
    [...all].filter((k) => !kinds.has(k)),
    [],
  );
  assert.equal(all.length, 19);
});

test('the big-endian object has the same types as the little-endian one', () => {
  const le = parseBtf(fixture('kinds.btf'));
  const be = parseBtf(fixture('kinds-eb.btf'));
  assert.equal(be.bigEndian, true);
  assert.deepEqual(be.types, le.types);
  assert.throws(() => parseBtf(fixture('kinds-eb.btf'), { bigEndian: false }), /big-endian/);
  assert.equal(parseBtf(fixture('kinds-eb.btf'), { bigEndian: true }).types.length, be.types.length);
});

test('kinds.btf: decoded fields', () => {
  const btf = parseBtf(fixture('kinds.btf'));
  const int = only(btf, 'int', 'int');
  assert.deepEqual(
    { size: int.size, encoding: int.encoding, bitsOffset: int.bitsOffset, nrBits: int.nrBits },
    { size: 4, encoding: BTF_INT_SIGNED, bitsOffset: 0, nrBits: 32 },
  );
  assert.equal(only(btf, 'int', '_Bool').encoding, BTF_INT_BOOL);

  const bits = only(btf, 'struct', 'bits');
  assert.equal(bits.kindFlag, true);
  assert.deepEqual(
    bits.members.map((m) => [m.name, m.bitsOffset, m.bitfieldSize]),
    [
      ['a', 0, 3],
      ['b', 3, 5],
      ['c', 8, 7],
      ['d', 15, 40],
      ['e', 56, 0],
    ],
  );
  const outer = only(btf, 'struct', 'outer');
  assert.equal(outer.size, 168);
  assert.equal(outer.kindFlag, false);
  const anon = outer.members.filter((m) => m.name === '').map((m) => btf.typeById(m.typeId).kind);
  assert.deepEqual(anon, ['struct', 'union']);

  assert.deepEqual(
    only(btf, 'enum', 'color').values.map((v) => [v.name, v.value]),
    [
      ['RED', 0],
      ['GREEN', 5],
      ['BLUE', -3],
    ],
  );
  assert.equal(only(btf, 'enum', 'color').signed, true);
  assert.deepEqual(
    only(btf, 'enum', 'ucolor').values.map((v) => v.value),
    [1, 0x80000000],
  );
  assert.deepEqual(
    only(btf, 'enum64', 'big').values.map((v) => v.value),
    [1n, 0x123456789abcdefn],
  );
  assert.deepEqual(
    only(btf, 'enum64', 'sbig').values.map((v) => v.value),
    [-0x100000000n, 2n],
  );
  assert.equal(only(btf, 'fwd', 'fwd_struct').fwdKind, 'struct');
  assert.equal(only(btf, 'fwd', 'fwd_union').fwdKind, 'union');
  assert.equal(only(btf, 'func', 'prog').linkage, 'global');
  assert.equal(only(btf, 'func', 'helper').linkage, 'static');
  assert.equal(only(btf, 'func', 'bpf_fake_kfunc').linkage, 'extern');
  assert.equal(only(btf, 'var', 'static_var').linkage, 'static');
  assert.equal(only(btf, 'var', 'LINUX_KERNEL_VERSION').linkage, 'extern');

  const helper = only(btf, 'func', 'helper');
  const proto = btf.typeById(helper.typeId);
  assert.equal(proto.kind, 'func_proto');
  if (proto.kind === 'func_proto')
    assert.deepEqual(
      proto.params.map((p) => p.name),
      ['a', 'o'],
    );
  assert.deepEqual(
    btf.typesByName('param_tag').map((t) => (t.kind === 'decl_tag' ? [t.typeId, t.componentIdx] : [])),
    [[helper.id, 0]],
  );
  assert.equal(only(btf, 'decl_tag', 'func_tag').componentIdx, -1);
  const user = only(btf, 'type_tag', 'user');
  assert.equal(btf.typeById(user.typeId).name, 'int');
  assert.equal(only(btf, 'float', 'double').size, 8);

  const sections = btf.types.filter((t) => t.kind === 'datasec').map((t) => t.name);
  for (const s of ['.data', '.bss', '.rodata', '.maps', '.kconfig', '.ksyms'])
    assert.ok(sections.includes(s), s);
  const data = only(btf, 'datasec', '.data');
  assert.deepEqual(
    data.vars.map((v) => btf.typeById(v.typeId).name),
    ['data_var', 'static_var', 'float_var'],
  );
});

test('lookups: typeById, typesByName, resolve, sizeof, string', () => {
  const btf = parseBtf(fixture('kinds.btf'));
  assert.equal(btf.typeById(0), BTF_VOID);
  assert.equal(btf.typeCount, btf.types.length + 1);
  assert.equal(btf.types[0]!.id, 1);
  assert.throws(
    () => btf.typeById(btf.typeCount),
    (e: unknown) => e instanceof BtfError && /out of range/.test(e.message),
  );
  assert.deepEqual(btf.typesByName('no such type'), []);

  const alias2 = only(btf, 'typedef', 'u32_alias2');
  const resolved = btf.resolve(alias2.id);
  assert.equal(resolved.kind, 'int');
  assert.equal(resolved.name, 'unsigned int');
  const outer = only(btf, 'struct', 'outer');
  const cv = outer.members.find((m) => m.name === 'cv')!;
  assert.equal(btf.resolve(cv.typeId).name, 'int');
  const up = outer.members.find((m) => m.name === 'up')!;
  const upType = btf.typeById(up.typeId);
  assert.equal(upType.kind, 'ptr');
  if (upType.kind === 'ptr') assert.equal(btf.resolve(upType.typeId).name, 'int');
  assert.equal(btf.resolve(0), BTF_VOID);

  assert.equal(btf.sizeof(outer.id), 168);
  assert.equal(btf.sizeof(outer.members.find((m) => m.name === 'matrix')!.typeId), 24);
  assert.equal(btf.sizeof(outer.members.find((m) => m.name === 'name')!.typeId), 16);
  assert.equal(btf.sizeof(up.typeId), 8);
  assert.equal(btf.sizeof(up.typeId, { pointerSize: 4 }), 4);
  assert.equal(btf.sizeof(alias2.id), 4);
  assert.equal(btf.sizeof(only(btf, 'var', 'outer_var').id), 168);
  assert.throws(() => btf.sizeof(only(btf, 'func', 'prog').id), /FUNC 'prog' has no size/);
  assert.throws(() => btf.sizeof(0), BtfError);

  assert.equal(btf.string(0), '');
  assert.equal(btf.string(outer.nameOff), 'outer');
  assert.equal(btf.string(outer.nameOff + 1), 'uter');
  assert.throws(() => btf.string(btf.strings.length), /string offset 0x[0-9a-f]+ past the end/);
});

test('resolve and sizeof stop on a typedef loop', () => {
  const strings = new TextEncoder().encode('\0a\0');
  const btf = new Btf({ strings, types: [{ kind: 'typedef', id: 1, name: 'a', nameOff: 1, typeId: 1 }] });
  assert.throws(() => btf.resolve(1), /a loop/);
  assert.throws(() => btf.sizeof(1), /a loop/);
  assert.deepEqual(parseBtf(writeBtf(btf)).types, btf.types);
});

test('split BTF continues its base: ids, strings, lookups, dump', () => {
  const base = parseBtf(fixture('core.btf'));
  const first = base.typeCount;
  const strings = new TextEncoder().encode('modstruct\0field\0');
  const own = base.strings.length;
  const intId = only(base, 'int', 'int').id;
  const split = new Btf({
    base,
    strings,
    types: [
      { kind: 'ptr', id: first, name: '', nameOff: 0, typeId: first + 1 },
      {
        kind: 'struct',
        id: first + 1,
        name: 'modstruct',
        nameOff: own,
        size: 4,
        kindFlag: false,
        members: [{ name: 'field', nameOff: own + 10, typeId: intId, bitsOffset: 0, bitfieldSize: 0 }],
      },
    ],
  });
  const bytes = writeBtf(split);
  assert.throws(() => parseBtf(bytes), BtfError, 'split BTF needs its base');
  const parsed = parseBtf(bytes, { base });
  assert.deepEqual(parsed.types, split.types);
  assert.deepEqual(writeBtf(parsed), bytes);
  assert.equal(parsed.firstTypeId, first);
  assert.equal(parsed.typeById(intId).name, 'int');
  assert.equal(parsed.typesByName('task')[0]!.id, only(base, 'struct', 'task').id);
  assert.equal(parsed.typesByName('modstruct')[0]!.id, first + 1);
  assert.equal(parsed.string(own + 10), 'field');
  assert.equal(parsed.string(1), base.string(1));
  assert.equal(parsed.sizeof(first + 1), 4);
  assert.equal(
    dumpBtfRaw(parsed),
    `[${first}] PTR '(anon)' type_id=${first + 1}\n` +
      `[${first + 1}] STRUCT 'modstruct' size=4 vlen=1\n\t'field' type_id=${intId} bits_offset=0\n`,
  );
});

// --- the kernel's BTF -----------------------------------------------------------------------

const HAVE_VMLINUX = existsSync(VMLINUX) && readable(VMLINUX);

// How fast the parse is: `npm run bench` (vmlinux section) measures it against its target.
test('vmlinux: parse, write back byte for byte', {
  skip: HAVE_VMLINUX ? false : `${VMLINUX} not readable`,
}, (t) => {
  const bytes = new Uint8Array(readFileSync(VMLINUX));
  const btf = parseBtf(bytes);
  t.diagnostic(`vmlinux: ${btf.types.length} types, ${bytes.length} bytes`);
  assert.ok(btf.types.length > 1000);
  assert.deepEqual(writeBtf(btf), bytes);
  const task = only(btf, 'struct', 'task_struct');
  assert.equal(btf.sizeof(task.id), task.size);
  assert.equal(btf.resolve(only(btf, 'typedef', 'u32').id).name, 'unsigned int');
});

// --- errors ---------------------------------------------------------------------------------

interface Blob {
  /** u32 words of the type section */
  types?: number[];
  strings?: string;
  magic?: number;
  version?: number;
  hdrLen?: number;
  /** extra bytes appended after everything */
  trailing?: number;
  typeOff?: number;
  strOff?: number;
  typeLen?: number;
  strLen?: number;
}

/** A little-endian BTF blob from u32 words, with any header field overridden. */
function blob(b: Blob): Uint8Array {
  const types = b.types ?? [];
  const strings = new TextEncoder().encode(b.strings ?? '\0int\0');
  const hdrLen = b.hdrLen ?? 24;
  const typeLen = types.length * 4;
  const out = new Uint8Array(Math.max(hdrLen, 24) + typeLen + strings.length + (b.trailing ?? 0));
  const v = new DataView(out.buffer);
  v.setUint16(0, b.magic ?? 0xeb9f, true);
  v.setUint8(2, b.version ?? 1);
  v.setUint32(4, hdrLen, true);
  v.setUint32(8, b.typeOff ?? 0, true);
  v.setUint32(12, b.typeLen ?? typeLen, true);
  v.setUint32(16, b.strOff ?? typeLen, true);
  v.setUint32(20, b.strLen ?? strings.length, true);
  const start = Math.max(hdrLen, 24);
  for (const [i, w] of types.entries()) v.setUint32(start + i * 4, w >>> 0, true);
  out.set(strings, start + typeLen);
  return out;
}

/** The bytes with the u32 at `at` replaced. */
function patch(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value, true);
  return out;
}

const INFO = (kind: number, vlen = 0, kflag = false): number => ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen;
const INT_WORDS = [1, INFO(1), 4, 32]; // [1] INT 'int' size=4 nr_bits=32

test('a hand-made blob parses', () => {
  const btf = parseBtf(blob({ types: INT_WORDS }));
  assert.equal(btf.types[0]!.name, 'int');
  assert.deepEqual(writeBtf(btf), blob({ types: INT_WORDS }));
});

const BAD: [string, Uint8Array, RegExp, number][] = [
  ['short', new Uint8Array(10), /10 bytes is shorter than the 24-byte header/, 0],
  ['bad magic', blob({ magic: 0x1234 }), /bad magic 0x1234/, 0],
  ['bad version', blob({ version: 2 }), /unsupported version 2/, 2],
  ['header too short', blob({ hdrLen: 16 }), /header length 16 is shorter than 24/, 4],
  ['header past end', patch(blob({}), 4, 1000), /header length 1000 past the end/, 4],
  [
    'type section past end',
    blob({ types: INT_WORDS, typeLen: 100 }),
    /type section 0x0\+0x64 past the end/,
    8,
  ],
  ['string section past end', blob({ strLen: 100 }), /string section 0x0\+0x64 past the end/, 16],
  ['trailing bytes', blob({ trailing: 4 }), /4 bytes after the last section/, 29],
  ['gap', blob({ types: INT_WORDS, strOff: 20, strLen: 1 }), /gap between sections/, 40],
  ['empty strings', blob({ strings: '' }), /empty string section/, 24],
  ['strings not starting with NUL', blob({ strings: 'a\0' }), /does not start with the empty name/, 24],
  [
    'unterminated string',
    blob({ strings: '\0int' }),
    /does not end with a NUL: the last string is unterminated/,
    27,
  ],
  [
    'name past strings',
    blob({ types: [99, INFO(1), 4, 32] }),
    /type \[1\] INT: name offset 0x63 past the end/,
    24,
  ],
  ['unknown kind', blob({ types: [1, INFO(25), 4, 32] }), /type \[1\]: unknown kind 25/, 28],
  ['kind 0', blob({ types: [1, INFO(0), 0] }), /unknown kind 0/, 28],
  [
    'record past end',
    blob({ types: [1, INFO(4, 3), 8, 0, 1, 0] }),
    /type \[1\] STRUCT: 48-byte record \(vlen=3\)/,
    24,
  ],
  [
    'header past end of types',
    blob({ types: [...INT_WORDS, 0, 0] }),
    /type \[2\]: record header past the end/,
    40,
  ],
  [
    'member type out of range',
    blob({ types: [...INT_WORDS, 1, INFO(4, 2), 8, 0, 1, 0, 1, 99999, 32] }),
    /^load BTF: type \[2\] STRUCT 'int': member 1 type 99999 past the last type 2 \(byte offset 0x44\)$/,
    0x44,
  ],
  [
    'ptr type out of range',
    blob({ types: [0, INFO(2), 5] }),
    /type \[1\] PTR '': type 5 past the last type 1/,
    32,
  ],
  ['reserved info bits', blob({ types: [1, INFO(1) | 0x10000, 4, 32] }), /reserved info bits set/, 28],
  [
    'kind_flag on INT',
    blob({ types: [1, INFO(1, 0, true), 4, 32] }),
    /kind_flag set on a kind without one/,
    28,
  ],
  ['vlen on PTR', blob({ types: [0, INFO(2, 1), 0] }), /vlen 1 on a kind without records/, 28],
  [
    'INT reserved bits',
    blob({ types: [1, INFO(1), 4, 0x100 | 32] }),
    /reserved bits set in the encoding word/,
    36,
  ],
  ['ARRAY with a size', blob({ types: [...INT_WORDS, 0, INFO(3), 4, 1, 1, 2] }), /size 4 set/, 48],
  ['FUNC linkage', blob({ types: [1, INFO(12, 3), 0] }), /unknown linkage 3/, 28],
  ['VAR linkage', blob({ types: [1, INFO(14), 0, 7] }), /unknown linkage 7/, 36],
  ['FWD with a type', blob({ types: [1, INFO(7), 1] }), /size\/type 1 set on a forward declaration/, 32],
  [
    'enum value name',
    blob({ types: [1, INFO(6, 1), 4, 77, 0] }),
    /value 0 name offset 0x4d past the end/,
    36,
  ],
];

for (const [what, bytes, message, offset] of BAD) {
  test(`error: ${what}`, () => {
    assert.throws(
      () => parseBtf(bytes),
      (e: unknown) => {
        assert.ok(e instanceof BtfError, String(e));
        assert.match(e.message, message);
        assert.match(e.message, /^load BTF: .*\(byte offset 0x[0-9a-f]+\)$/);
        assert.equal(e.offset, offset, e.message);
        return true;
      },
    );
  });
}

// --- never anything but a BtfError, never a hang --------------------------------------------

/** Parse; on success the bytes must round-trip and dump, on failure the error must be a BtfError. */
function parseOrBtfError(bytes: Uint8Array): void {
  let btf: Btf;
  try {
    btf = parseBtf(bytes);
  } catch (e) {
    if (e instanceof BtfError) return;
    throw e;
  }
  assert.deepEqual(writeBtf(btf), bytes);
  dumpBtfRaw(btf);
  for (const t of btf.types) {
    try {
      btf.sizeof(t.id);
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  }
}

test('property: random bytes give a Btf or a BtfError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => parseOrBtfError(bytes)),
    { numRuns: 2000 },
  );
});

test('property: random bytes behind a valid header give a Btf or a BtfError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.nat(400), (body, typeLen) => {
      const t = Math.min(typeLen, body.length);
      const head = blob({ types: [], strings: '' }).subarray(0, 24);
      const bytes = new Uint8Array(24 + body.length);
      bytes.set(head);
      bytes.set(body, 24);
      const v = new DataView(bytes.buffer);
      v.setUint32(12, t, true);
      v.setUint32(16, t, true);
      v.setUint32(20, body.length - t, true);
      parseOrBtfError(bytes);
    }),
    { numRuns: 2000 },
  );
});

test('property: mutated fixtures give a Btf or a BtfError', () => {
  const seeds = FIXTURES.map((f) => fixture(`${f}.btf`));
  const mutation = fc.record({
    seed: fc.nat(seeds.length - 1),
    edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  });
  fc.assert(
    fc.property(mutation, ({ seed, edits, cut }) => {
      const src = seeds[seed]!;
      let bytes = src.slice();
      for (const [at, value] of edits) bytes[at % bytes.length] = value;
      if (cut !== undefined) bytes = bytes.subarray(0, cut % bytes.length);
      parseOrBtfError(bytes);
    }),
    { numRuns: 3000 },
  );
});
