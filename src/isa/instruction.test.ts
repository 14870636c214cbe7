import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decode, encode, InvalidInstructionError, makeInsn, type RawInsn, readSlot } from './instruction.js';
import { FORMS, FORMS_BY_OPCODE, type InsnForm } from './table.js';

/** A valid raw encoding of a form, with varied register and value fields. */
function sample(form: InsnForm, seed: number): RawInsn {
  const field = (name: 'dst' | 'src' | 'off' | 'imm', value: number) => {
    if (form.select?.field === name) return form.select.value;
    if (name === 'imm' && form.immValues) return form.immValues[seed % form.immValues.length];
    const rule = form.rules[name];
    return rule === 'zero' ? 0 : rule === 'reg' ? value % 11 : value;
  };
  return {
    opcode: form.opcode,
    dst: field('dst', seed + 1),
    src: field('src', seed + 2),
    off: field('off', [-32768, -1, 0, 7, 32767][seed % 5]),
    imm: field('imm', [-2147483648, -1, 0, 5, 2147483647][seed % 5]),
  };
}

describe('decode/encode', () => {
  test('every form decodes to itself and encodes back to the same bytes', () => {
    for (const form of FORMS) {
      for (let seed = 0; seed < 5; seed++) {
        const insn = makeInsn(sample(form, seed), 0, seed * 1000);
        assert.equal(insn.form, form);
        const bytes = encode([insn]);
        const [again] = decode(bytes);
        assert.equal(again.form, form, form.mnemonic);
        assert.deepEqual(encode([again]), bytes);
        for (const bigEndian of [true, false]) {
          const other = encode([insn], { bigEndian });
          assert.deepEqual(decode(other, { bigEndian })[0].form, form);
        }
      }
    }
  });

  test('the table has exactly one form per valid encoding', () => {
    for (const [opcode, forms] of FORMS_BY_OPCODE.entries()) {
      const selectors = forms.map((f) => (f.select ? `${f.select.field}=${f.select.value}` : '*'));
      assert.equal(
        new Set(selectors).size,
        selectors.length,
        `opcode 0x${opcode.toString(16)}: ${selectors}`,
      );
      if (forms.length > 1)
        assert.ok(
          forms.every((f) => f.select),
          `opcode 0x${opcode.toString(16)} mixes selected forms`,
        );
    }
  });

  test('lddw value spans both slots', () => {
    const bytes = new Uint8Array([0x18, 0x01, 0, 0, 0x90, 0x78, 0x56, 0x34, 0, 0, 0, 0, 0x12, 0, 0, 0]);
    const [insn] = decode(bytes);
    assert.equal(insn.kind, 'lddw');
    if (insn.kind === 'lddw') assert.equal(insn.value, 0x1234567890n);
  });

  test('big-endian objects swap the register nibbles', () => {
    const raw = readSlot(new Uint8Array([0xbf, 0x12, 0, 1, 0, 0, 0, 0]), 0, { bigEndian: true });
    assert.deepEqual(raw, { opcode: 0xbf, dst: 1, src: 2, off: 1, imm: 0 });
  });

  const invalid: ReadonlyArray<readonly [string, number[], string, string]> = [
    ['unknown opcode', [0x06 | 0xf0, 0, 0, 0, 0, 0, 0, 0], 'opcode', 'unknown opcode 0xf6'],
    ['reserved src of neg', [0x87, 0x10, 0, 0, 0, 0, 0, 0], 'src', 'reserved field src'],
    ['register r11', [0xbf, 0x0b, 0, 0, 0, 0, 0, 0], 'dst', 'invalid dst register r11'],
    ['bad movsx width', [0xbf, 0x21, 4, 0, 0, 0, 0, 0], 'off', 'invalid off 0x4'],
    ['bad byte-swap width', [0xd4, 0x01, 0, 0, 8, 0, 0, 0], 'imm', 'invalid imm 0x8'],
    ['bad atomic op', [0xdb, 0x21, 0, 0, 0x02, 0, 0, 0], 'imm', 'invalid imm 0x2'],
    [
      'lddw pseudo source 7',
      [0x18, 0x71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      'src',
      'invalid src 0x7',
    ],
    ['lddw without second slot', [0x18, 0x01, 0, 0, 0, 0, 0, 0], 'slot', 'missing its second slot'],
    [
      'lddw with a bad second slot',
      [0x18, 0x01, 0, 0, 0, 0, 0, 0, 0xb7, 0, 0, 0, 0, 0, 0, 0],
      'slot',
      'second slot',
    ],
  ];
  for (const [name, bytes, field, reason] of invalid) {
    test(`invalid: ${name}`, () => {
      assert.throws(
        () => decode(new Uint8Array(bytes)),
        (e: unknown) =>
          e instanceof InvalidInstructionError && e.field === field && e.message.includes(reason),
      );
    });
  }

  test('a length that is not a multiple of 8 is a typed error', () => {
    assert.throws(
      () => decode(new Uint8Array(12)),
      (e: unknown) => e instanceof InvalidInstructionError && e.slot === 1,
    );
  });

  test('property: random bytes decode or throw InvalidInstructionError, and valid ones round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (raw) => {
        const bytes = raw.subarray(0, raw.length - (raw.length % 8));
        try {
          const insns = decode(bytes);
          assert.deepEqual(encode(insns), bytes);
        } catch (error) {
          if (!(error instanceof InvalidInstructionError)) throw error;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
