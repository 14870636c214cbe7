import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TsbpfError } from '../errors.js';
import { assembleConformance, formatConformance, hasConformanceSyntax } from './conformance-asm.js';
import { parseDataFile } from './data-file.js';
import { AssemblyError } from './errors.js';
import { decode, encode, type Insn, makeInsn, type RawInsn } from './instruction.js';
import { FORMS, type InsnForm } from './table.js';

const CONFORMANCE = new URL('../../../shared/conformance/', import.meta.url);
const TESTS = new URL('tests/', CONFORMANCE);
const HAVE_CONFORMANCE = existsSync(TESTS);
const SKIP_CONFORMANCE = '../shared/conformance not found';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function assembleHex(source: string): string {
  return hex(encode(assembleConformance(source)));
}

function assemblyError(source: string): AssemblyError {
  try {
    assembleConformance(source, { file: 'x.s' });
  } catch (error) {
    assert.ok(error instanceof AssemblyError, `expected AssemblyError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(source)} not to assemble`);
}

// Encodings straight from FORMAT.md §3's table, written out byte by byte so a wrong table row
// cannot hide behind a round trip.
const ENCODINGS: ReadonlyArray<readonly [string, string]> = [
  ['mov32 %r0, 1', 'b400000001000000'],
  ['mov %r0, -10', 'b7000000f6ffffff'],
  ['mov32 %r0, 0xffffffff', 'b4000000ffffffff'],
  ['mov %r0, -2147483648', 'b700000000000080'],
  ['add %r1, %r2', '0f21000000000000'],
  ['arsh32 %r3, 5', 'c403000005000000'],
  ['sdiv %r0, 3', '3700010003000000'],
  ['smod32 %r0, %r1', '9c10010000000000'],
  ['neg %r1', '8701000000000000'],
  ['neg32 %r1', '8401000000000000'],
  ['movsx832 %r1, %r2', 'bc21080000000000'],
  ['movsx1632 %r1, %r2', 'bc21100000000000'],
  ['movsx3264 %r1, %r2', 'bf21200000000000'],
  ['be16 %r1', 'dc01000010000000'],
  ['be64 %r3', 'dc03000040000000'],
  ['le32 %r1', 'd401000020000000'],
  ['bswap16 %r1', 'd701000010000000'],
  ['swap64 %r1', 'd701000040000000'],
  ['lddw %r0, 0x1122334455667788', '1800000088776655' + '0000000044332211'],
  ['lddw %r2, -1', '18020000ffffffff' + '00000000ffffffff'],
  ['ldxw %r0, [%r1+4]', '6110040000000000'],
  ['ldxdw %r0, [%r10-8]', '79a0f8ff00000000'],
  ['ldxh %r0, [%r1]', '6910000000000000'],
  ['ldxsb %r0, [%r1-2]', '9110feff00000000'],
  ['ldxsw %r0, [%r1+0x10]', '8110100000000000'],
  ['stdw [%r10-8], -1', '7a0af8ffffffffff'],
  ['stb [%r1+2], 0x7f', '720102007f000000'],
  ['stxh [%r1+2], %r3', '6b31020000000000'],
  ['lock add [%r1], %r2', 'db21000000000000'],
  ['lock fetch add32 [%r1+4], %r2', 'c321040001000000'],
  ['lock fetch xor [%r1-8], %r2', 'db21f8ffa1000000'],
  ['lock xchg32 [%r1], %r2', 'c3210000e1000000'],
  ['lock cmpxchg [%r1], %r2', 'db210000f1000000'],
  ['jeq %r1, 2, +3', '1501030002000000'],
  ['jne32 %r1, %r2, -1', '5e21ffff00000000'],
  ['jsle %r1, -1, +0', 'd5010000ffffffff'],
  ['ja +1', '0500010000000000'],
  ['ja -1', '0500ffff00000000'],
  ['ja32 +1', '0600000001000000'],
  ['ja +0xffff', '0500ffff00000000'],
  ['call 5', '8500000005000000'],
  ['call helper 5', '8500000005000000'],
  ['call local +4', '8510000004000000'],
  ['call runtime 7', '8520000007000000'],
  ['call %r2', '8d02000000000000'],
  ['exit', '9500000000000000'],
];

test('assembles the encodings of FORMAT.md §3', () => {
  for (const [source, bytes] of ENCODINGS) assert.equal(assembleHex(source), bytes, source);
});

test('labels: forward, backward, the implicit exit label and relative targets', () => {
  const source = [
    'mov %r0, 0',
    'start:',
    'jeq %r1, 0x1a8c0, exit # forward to the first exit, defined later',
    'lddw %r2, 1',
    'ja32 done',
    'exit',
    'done: ja start',
    'call local start',
    'exit',
  ].join('\n');
  const insns = assembleConformance(source);
  assert.deepEqual(
    insns.map((i) => i.slot),
    [0, 1, 2, 4, 5, 6, 7, 8],
  );
  assert.equal(insns[1].off, 5 - 2); // jeq at slot 1 → exit at slot 5
  assert.equal(insns[3].imm, 6 - 5); // ja32 at slot 4 → done at slot 6
  assert.equal(insns[5].off, 1 - 7); // ja at slot 6 → start at slot 1
  assert.equal(insns[6].imm, 1 - 8); // call local at slot 7 → start at slot 1
});

test('an explicit exit: label wins over the implicit one', () => {
  const insns = assembleConformance('ja exit\nexit\nexit:\nexit');
  assert.equal(insns[0].off, 1);
});

test('comments, carriage returns and blank lines are ignored', () => {
  assert.equal(
    assembleHex('# header\r\n\r\n  mov32 %r0, 1   # trailing\r\nexit\r\n'),
    assembleHex('mov32 %r0, 1\nexit'),
  );
});

test('error messages match upstream, located at the offending token', () => {
  const cases: ReadonlyArray<readonly [string, string, number, number]> = [
    ['or %r0, %r50', 'Invalid register: %r50', 1, 9],
    ['exit\nldxq %r0, %r1', 'Invalid mnemonic: ldxq', 2, 1],
    ['ja NOT_A_LABEL\nexit', 'Invalid label: NOT_A_LABEL', 1, 4],
    ['lddw %r0', 'Invalid number of operands for mnemonic: lddw', 1, 1],
    ['lock or [%r10-8]', 'Invalid number of operands for lock', 1, 1],
    ['lock', 'Invalid number of operands for lock', 1, 1],
    ['lock fetch add [%r1], %r2, %r3', 'Invalid number of operands for lock', 1, 1],
    ['mov32 %r0, 0x100000000', 'Immediate out of 32-bit range: 0x100000000', 1, 12],
    ['mov32 %r0, 2147483648', 'Immediate out of 32-bit range: 2147483648', 1, 12],
    ['mov32 %r0, -2147483649', 'Immediate out of 32-bit range: -2147483649', 1, 12],
    ['ldxb %r0, [%r1+0x10000]', 'Offset out of 16-bit range: 0x10000', 1, 11],
    ['ldxb %r0, [%r1-32769]', 'Offset out of 16-bit range: -32769', 1, 11],
    ['ldxb %r0, %r1', 'Failed to decode register and offset: %r1', 1, 11],
    ['ldxb %r0, [%r1+]', 'Failed to decode register and offset: [%r1+]', 1, 11],
    ['mov %r0,%r1', 'Invalid number of operands for mnemonic: mov', 1, 1],
    ['add64 %r0, 1', 'Invalid mnemonic: add64', 1, 1],
    ['ldabsw 4', 'Invalid mnemonic: ldabsw', 1, 1],
    ['lock fetch nand [%r1], %r2', 'Invalid mnemonic: lock fetch nand', 1, 1],
    ['call bogus 1', 'Invalid call mode: bogus', 1, 6],
    ['movsx832 %r0, 5', 'Invalid operand for movsx832: 5 (expected a register)', 1, 15],
    ['mov %r0, one', 'Invalid immediate: one', 1, 10],
    ['lddw %r0, 0x10000000000000000', 'Immediate out of 64-bit range: 0x10000000000000000', 1, 11],
    ['a:\nb:\na:', 'Duplicate label (a), previously defined at line 1', 3, 1],
  ];
  for (const [source, reason, line, column] of cases) {
    const error = assemblyError(source);
    assert.equal(error.reason, reason, source);
    assert.deepEqual(error.location, { file: 'x.s', line, column }, source);
    assert.equal(error.message, `x.s:${line}:${column}: ${reason}`);
  }
});

test('%r11–%r15 are refused with the register named (upstream encodes them; an Insn cannot hold them)', () => {
  for (const r of [11, 15]) {
    assert.match(assemblyError(`mov %r0, %r${r}`).reason, new RegExp(`^Invalid register: %r${r} `));
  }
});

test('a jump to a label too far for the 16-bit offset is an error', () => {
  const source = `ja far\n${'mov %r0, 0\n'.repeat(0x8000)}far: exit`;
  assert.match(assemblyError(source).reason, /^Jump to far out of 16-bit range: 32768$/);
});

test('the lines option maps source lines to the lines of an enclosing file', () => {
  const error = (() => {
    try {
      return assembleConformance('exit\nbad', { file: 'f.data', lines: [10, 12] });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof AssemblyError);
  assert.equal(error.message, 'f.data:12:1: Invalid mnemonic: bad');
});

/** Field values to try in each form, chosen to hit sign and width edges of the formatter. */
const SAMPLES: ReadonlyArray<{ readonly off: number; readonly imm: number; readonly imm2: number }> = [
  { off: 0, imm: 0, imm2: 0 },
  { off: 3, imm: 7, imm2: 1 },
  { off: -5, imm: -10, imm2: -1 },
  { off: 0x7fff, imm: 0x7fffffff, imm2: 0x7fffffff },
  { off: -0x8000, imm: -0x80000000, imm2: -0x80000000 },
  { off: 11, imm: 11, imm2: 0 },
];

function sampleInsn(form: InsnForm, sample: (typeof SAMPLES)[number], n: number): Insn {
  const pick = (field: 'dst' | 'src' | 'off' | 'imm', value: number, register: number): number =>
    form.rules[field] === 'reg' ? register : form.rules[field] === 'value' ? value : 0;
  const raw: { -readonly [K in keyof RawInsn]: RawInsn[K] } = {
    opcode: form.opcode,
    dst: pick('dst', 0, n % 11),
    src: pick('src', 0, (n + 3) % 11),
    off: pick('off', sample.off, 0),
    imm: pick('imm', sample.imm, 0),
  };
  if (form.select) raw[form.select.field] = form.select.value;
  if (form.immValues) raw.imm = form.immValues[0];
  // The dialect has no syntax for a kfunc's module index; that case is checked separately.
  if (form.kind === 'call' && form.target === 'kfunc') raw.off = 0;
  return makeInsn(raw, 0, sample.imm2);
}

test('format → assemble round-trips every form the dialect can write', () => {
  let checked = 0;
  FORMS.forEach((form, n) => {
    if (!hasConformanceSyntax(form)) return;
    for (const sample of SAMPLES) {
      const insn = sampleInsn(form, sample, n);
      const text = formatConformance(insn);
      const again = assembleConformance(text);
      assert.equal(again.length, 1, text);
      assert.equal(again[0].form, form, `${text} assembled to ${again[0].form.mnemonic}`);
      assert.equal(hex(encode(again)), hex(encode([insn])), text);
      checked++;
    }
  });
  const expressible = FORMS.filter(hasConformanceSyntax).length;
  assert.equal(checked, expressible * SAMPLES.length);
  // Everything but 6 packet loads, 8 load-acquire/store-release, 6 pseudo lddw forms and addr_space_cast.
  assert.equal(FORMS.length - expressible, 21);
});

test('formatConformance refuses what the dialect cannot write', () => {
  for (const form of FORMS.filter((f) => !hasConformanceSyntax(f))) {
    const insn = sampleInsn(form, SAMPLES[1], 1);
    assert.throws(() => formatConformance(insn), TsbpfError, form.mnemonic);
  }
  const kfunc = FORMS.find((f) => f.kind === 'call' && f.target === 'kfunc')!;
  const withModule = makeInsn({ opcode: kfunc.opcode, dst: 0, src: 2, off: 1, imm: 5 });
  assert.equal(withModule.form, kfunc);
  assert.throws(() => formatConformance(withModule), /call runtime has no bpf_conformance syntax/);
});

test('formatConformance writes immediates as upstream does', () => {
  const text = (source: string): string => assembleConformance(source).map(formatConformance).join('; ');
  assert.equal(text('mov %r0, 10'), 'mov %r0, 10');
  assert.equal(text('mov %r0, 11'), 'mov %r0, 0xb');
  assert.equal(text('mov %r0, -11'), 'mov %r0, -11');
  assert.equal(text('mov %r0, -2147483648'), 'mov %r0, 0x80000000');
  assert.equal(text('ldxw %r0, [%r1+0]'), 'ldxw %r0, [%r1]');
  assert.equal(text('stxw [%r1-0x8], %r2'), 'stxw [%r1-8], %r2');
  assert.equal(text('swap32 %r1'), 'bswap32 %r1');
  assert.equal(text('lddw %r1, 0x1122334455667788'), 'lddw %r1, 0x1122334455667788');
  assert.equal(text('jeq %r1, 2, exit; exit'.replace('; ', '\n')), 'jeq %r1, 2, +0; exit');
});

test('every conformance program disassembles and reassembles to the same bytes', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  const files = readdirSync(TESTS).filter((f) => f.endsWith('.data'));
  assert.equal(files.length, 313);
  for (const file of files) {
    const parsed = parseDataFile(readFileSync(new URL(file, TESTS), 'utf8'), file);
    assert.equal(parsed.kind, 'test', file);
    if (parsed.kind !== 'test') continue;
    const text = decode(parsed.program).map(formatConformance).join('\n');
    assert.equal(hex(encode(assembleConformance(text))), hex(parsed.program), file);
  }
});
