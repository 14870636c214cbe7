import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { assembleConformance } from './conformance-asm.js';
import { type ConformanceTest, type DataFile, parseDataFile } from './data-file.js';
import { AssemblyError } from './errors.js';
import { decode, encode, InvalidInstructionError } from './instruction.js';
import { SLOT_SIZE } from './opcodes.js';

const SHARED = new URL('../../../shared/', import.meta.url);
const TESTS = new URL('conformance/tests/', SHARED);
const NEGATIVE = new URL('negative/', TESTS);
const BENCH = new URL('bench/', SHARED);
const HAVE_CONFORMANCE = existsSync(TESTS);
const SKIP_CONFORMANCE = '../shared/conformance not found';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function dataFiles(dir: URL): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.data'))
    .sort();
}

function read(dir: URL, file: string): DataFile {
  return parseDataFile(readFileSync(new URL(file, dir), 'utf8'), file);
}

function expectTest(parsed: DataFile): ConformanceTest {
  assert.equal(parsed.kind, 'test', parsed.kind === 'skipped' ? `${parsed.name}: ${parsed.reason}` : '');
  return parsed as ConformanceTest;
}

// --- the grammar, on inline files -----------------------------------------------------------

test('sections, comments, carriage returns and blank lines', () => {
  const parsed = expectTest(
    parseDataFile(
      [
        '# SPDX-License-Identifier: MIT',
        'licence text before any directive is ignored',
        '-- asm',
        '# a comment line',
        'mov32 %r0, 1 # trailing comment',
        '',
        'exit\r',
        '-- mem',
        'aa BB # comment in mem',
        '0c',
        '-- result',
        '0x1',
        '0xFFFFFFFFFFFFFFF6\r',
      ].join('\n'),
      'inline.data',
    ),
  );
  assert.equal(parsed.name, 'inline.data');
  assert.equal(parsed.programSource, 'asm');
  assert.equal(hex(parsed.program), 'b400000001000000' + '9500000000000000');
  assert.equal(parsed.asm, 'mov32 %r0, 1 \nexit\n');
  assert.deepEqual(parsed.asmLines, [5, 7]);
  assert.deepEqual(parsed.mem, Uint8Array.from([0xaa, 0xbb, 0x0c]));
  assert.equal(parsed.result, 0xfffffffffffffff6n, 'the last result line wins');
  assert.equal(parsed.expectedError, undefined);
  assert.equal(parsed.noRegisterOffset, false);
});

test('directives match by substring in upstream order', () => {
  const parsed = expectTest(
    parseDataFile(
      [
        '-- c',
        'int entry(void) { return 0; } // the C section is ignored, even "mov"',
        '-- asm',
        'mov %r0, 3',
        'exit',
        '-- result',
        '3',
        '-- no register offset',
        'call instruction',
      ].join('\n'),
    ),
  );
  assert.equal(parsed.result, 3n, 'decimal result');
  assert.equal(parsed.noRegisterOffset, true);
  assert.equal(parsed.asm, 'mov %r0, 3\nexit\n');
});

test('-- raw replaces -- asm; words are hex or decimal little-endian u64s', () => {
  const parsed = expectTest(
    parseDataFile(
      ['-- asm', 'this would not assemble', '-- raw', '0x00000001000000b4 149', '-- result', '0x1'].join(
        '\n',
      ),
    ),
  );
  assert.equal(parsed.programSource, 'raw-words');
  assert.equal(hex(parsed.program), 'b400000001000000' + '9500000000000000');
});

test('a raw section of 8 two-digit hex bytes per line is read as bytes', () => {
  const parsed = expectTest(
    parseDataFile(['-- raw', '07 10 00 00 01 00 00 00', '95 00 00 00 00 00 00 00', '-- error'].join('\n')),
  );
  assert.equal(parsed.programSource, 'raw-bytes');
  assert.equal(hex(parsed.program), '0710000001000000' + '9500000000000000');
  assert.equal(parsed.expectedError, '', 'an empty -- error section still expects rejection');
  assert.equal(parsed.result, undefined);
});

test('the last error line wins', () => {
  const parsed = expectTest(parseDataFile('-- asm\nexit\n-- error\nfirst\n  second  \n'));
  assert.equal(parsed.expectedError, 'second');
});

test('files upstream skips', () => {
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    ['', /no result and no error/],
    ['-- asm\nexit\n', /no result and no error/],
    ['# nothing\n-- result\n0x0\n', /no instructions/],
    ['-- asm\nexit\n-- result\n0\n-- frobnicate\n', /unknown directive "-- frobnicate" at line 5/],
  ];
  for (const [text, reason] of cases) {
    const parsed = parseDataFile(text, 's.data');
    assert.equal(parsed.kind, 'skipped', text);
    if (parsed.kind === 'skipped') assert.match(parsed.reason, reason);
  }
});

test('errors carry the .data file name and line', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['# header\n-- asm\nmov %r0, 0\n\nldxq %r0, %r1\n-- result\n0x0', 'e.data:5:1: Invalid mnemonic: ldxq'],
    ['-- asm\nexit\n-- mem\naa\n  zz\n-- result\n0x0', 'e.data:5:3: Invalid memory byte: zz'],
    ['-- raw\n0x95 0xg\n-- result\n0x0', 'e.data:2:6: Invalid instruction word: 0xg'],
    ['-- asm\nexit\n-- result\n0x1g', 'e.data:4:1: Invalid result: 0x1g'],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseDataFile(text, 'e.data'),
      (error: unknown) => error instanceof AssemblyError && error.message === message,
      message,
    );
  }
});

// --- the shared conformance files -----------------------------------------------------------

test('all 313 tests/*.data parse and assemble', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  const files = dataFiles(TESTS);
  assert.equal(files.length, 313);
  let slots = 0;
  let withMem = 0;
  let withLabels = 0;
  const sizes: number[] = [];
  const memSizes: number[] = [];
  for (const file of files) {
    const parsed = expectTest(read(TESTS, file));
    assert.equal(parsed.program.length % SLOT_SIZE, 0, file);
    assert.notEqual(parsed.result, undefined, `${file}: every positive test has a result`);
    assert.equal(parsed.expectedError, undefined, file);
    // The bytes are a valid program of exactly as many slots as the instructions need.
    const insns = decode(parsed.program);
    assert.equal(hex(encode(insns)), hex(parsed.program), file);
    slots += parsed.program.length / SLOT_SIZE;
    sizes.push(parsed.program.length / SLOT_SIZE);
    if (parsed.mem) {
      withMem++;
      memSizes.push(parsed.mem.length);
    }
    if (/^\S+:/m.test(parsed.asm)) withLabels++;
  }
  // The inventory of FORMAT.md §1.
  assert.equal(slots, 2762);
  assert.equal(Math.min(...sizes), 2);
  assert.equal(Math.max(...sizes), 41);
  assert.equal(withMem, 40);
  assert.deepEqual([Math.min(...memSizes), Math.max(...memSizes)], [2, 74]);
  assert.equal(withLabels, 81);
});

test('lddw.data: its asm and its raw words are the same program', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  const parsed = expectTest(read(TESTS, 'lddw.data'));
  assert.equal(parsed.programSource, 'raw-words');
  assert.equal(hex(encode(assembleConformance(parsed.asm))), hex(parsed.program));
  assert.equal(parsed.result, 0x1122334455667788n);
});

test('the three no-register-offset files are marked', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  const marked = dataFiles(TESTS).filter((f) => expectTest(read(TESTS, f)).noRegisterOffset);
  assert.deepEqual(marked, ['call_unwind_fail.data', 'callx.data', 'mem-len.data']);
});

test('bench/*.data: the assembled asm equals the raw words exactly', (t) => {
  if (!existsSync(BENCH)) return t.skip('../shared/bench not found');
  const files = dataFiles(BENCH);
  assert.ok(files.length > 0);
  for (const file of files) {
    const parsed = expectTest(read(BENCH, file));
    assert.equal(parsed.programSource, 'raw-words', file);
    const assembled = encode(assembleConformance(parsed.asm, { file, lines: parsed.asmLines }));
    assert.equal(hex(assembled), hex(parsed.program), file);
  }
});

test('negative: files upstream skips', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  for (const file of ['empty.data', 'empty_instructions.data', 'invalid_unknown_directive.data']) {
    assert.equal(read(NEGATIVE, file).kind, 'skipped', file);
  }
});

test('negative: invalid_* are assembler errors with upstream messages', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  const expected: Readonly<Record<string, string>> = {
    'invalid_imm32_dec_range.data': 'Immediate out of 32-bit range: 2147483648',
    'invalid_imm32_hex_range.data': 'Immediate out of 32-bit range: 0x100000000',
    'invalid_label.data': 'Invalid label: NOT_A_LABEL',
    'invalid_lock.data': 'Invalid number of operands for lock',
    'invalid_lock2.data': 'Invalid number of operands for lock',
    'invalid_mnemonic.data': 'Invalid mnemonic: ldxq',
    'invalid_offset.data': 'Failed to decode register and offset: %r1',
    'invalid_offset_range.data': 'Offset out of 16-bit range: 0x10000',
    'invalid_operand_count.data': 'Invalid number of operands for mnemonic: lddw',
    'invalid_register.data': 'Invalid register: %r50',
  };
  const files = dataFiles(NEGATIVE).filter(
    (f) => f.startsWith('invalid_') && f !== 'invalid_unknown_directive.data',
  );
  assert.deepEqual(files, Object.keys(expected).sort());
  for (const file of files) {
    assert.throws(
      () => read(NEGATIVE, file),
      (error: unknown) =>
        error instanceof AssemblyError && error.reason === expected[file] && error.location.file === file,
      file,
    );
  }
});

test('negative: error.data expects the error "Invalid"', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  const parsed = expectTest(read(NEGATIVE, 'error.data'));
  assert.equal(parsed.expectedError, 'Invalid');
  assert.equal(parsed.result, undefined);
});

test('negative: incorrect_return_value_high_bits keeps its full 64-bit expectation', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  const parsed = expectTest(read(NEGATIVE, 'incorrect_return_value_high_bits.data'));
  assert.equal(parsed.result, 0x8977665544332211n);
  assert.equal(parsed.mem?.length, 12);
});

test('negative: unused-* parse as bytes and decode() names the reserved field', (t) => {
  if (!HAVE_CONFORMANCE) return t.skip(SKIP_CONFORMANCE);
  const files = dataFiles(NEGATIVE).filter((f) => f.startsWith('unused-'));
  assert.equal(files.length, 45);
  const fieldOf: Readonly<Record<string, string>> = { src: 'src', dst: 'dst', imm: 'imm', offset: 'off' };
  for (const file of files) {
    const parsed = expectTest(read(NEGATIVE, file));
    assert.equal(parsed.programSource, 'raw-bytes', file);
    assert.equal(parsed.program.length, 2 * SLOT_SIZE, file);
    assert.equal(parsed.expectedError, '', file);
    const field = fieldOf[/-(\w+)\.data$/.exec(file)![1]];
    assert.throws(
      () => decode(parsed.program),
      (error: unknown) =>
        error instanceof InvalidInstructionError && error.slot === 0 && error.field === field,
      `${file}: expected the reserved field ${field}`,
    );
  }
});
