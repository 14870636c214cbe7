import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { copyReg, markKnown, markKnown32, newReg, type Reg, scalarAlu, scalarAluRanges } from './scalar.js';

const OPS = ['add', 'sub', 'neg', 'mul', 'and', 'or', 'xor', 'lsh', 'rsh', 'arsh'] as const;
const SHIFTS = new Set(['lsh', 'rsh', 'arsh']);

/** Values that exercise wrap-around: small, near the 32- and 64-bit edges, and anything. */
const value = fc.oneof(
  fc.bigInt({ min: -16n, max: 16n }),
  fc.bigInt({ min: 0x7fff_fff0n, max: 0x1_0000_0010n }),
  fc.bigInt({ min: (1n << 63n) - 16n, max: (1n << 63n) + 16n }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);

test('the constant shortcut of scalarAlu ends where the general range rules do', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...OPS),
      fc.constantFrom(32 as const, 64 as const),
      value,
      value,
      fc.boolean(),
      (op, bits, a, b, unknownHigh) => {
        const shift = SHIFTS.has(op);
        const src = newReg('scalar');
        markKnown(src, shift ? ((b % BigInt(bits)) + BigInt(bits)) % BigInt(bits) : b);
        const dst = newReg('scalar');
        // a 32-bit operation reads only the subregister: its upper half may be anything
        if (bits === 32 && unknownHigh) markKnown32(dst, a);
        else markKnown(dst, a);
        dst.id = 7;
        dst.precise = true;
        const fast: Reg = copyReg(dst);
        scalarAlu(fast, op === 'neg' ? fast : src, op, bits);
        const slow: Reg = copyReg(dst);
        scalarAluRanges(slow, op === 'neg' ? copyReg(slow) : src, op, bits === 32);
        assert.deepEqual(fast, slow, `${op}${bits} ${a} ${b}`);
      },
    ),
    { numRuns: 5000 },
  );
});
