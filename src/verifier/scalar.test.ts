import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  boundsSync,
  boundsSyncRanges,
  copyReg,
  markKnown,
  markKnown32,
  newReg,
  type Reg,
  scalarAlu,
  scalarAluRanges,
  scalarAluRangesBig,
  tnumRange,
} from './scalar.js';

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

/** Bit patterns near the 32- and 64-bit edges, small values, and anything. */
const pattern = fc.oneof(
  fc.bigInt({ min: -16n, max: 16n }),
  fc.bigInt({ min: 0x7fff_fff0n, max: 0x8000_0010n }),
  fc.bigInt({ min: 0xffff_fff0n, max: 0x1_0000_0010n }),
  fc.bigInt({ min: 0n, max: 0xffff_ffffn }),
  fc.bigInt({ min: (1n << 53n) - 4n, max: (1n << 53n) + 4n }),
  fc.bigInt({ min: (1n << 63n) - 16n, max: (1n << 63n) + 16n }),
  fc.bigInt({ min: (1n << 64n) - 0x1_0000_0010n, max: (1n << 64n) - 0xffff_fff0n }),
  fc.bigInt({ min: -(1n << 64n), max: 1n << 64n }),
);
const u64 = (x: bigint) => BigInt.asUintN(64, x);
const s64 = (x: bigint) => BigInt.asIntN(64, x);
const u32 = (x: bigint) => BigInt.asUintN(32, x);
const s32 = (x: bigint) => BigInt.asIntN(32, x);

/**
 * A register from ten bit patterns: the views of one range, some loosened (`loose` < 24: what
 * the verifier makes), or ten unrelated bounds; now and then (`raw`) a bound out of its range.
 */
function regOf(p: bigint[], loose: number, raw: number): Reg {
  const r = newReg('scalar');
  const [a, b, c, d, e, f, g, h, i, j] = p as [bigint, ...bigint[]];
  if (loose < 24) {
    // the views of one unsigned or signed range, some of them loosened: what the verifier makes
    const signed = loose & 16;
    const [lo, hi] = signed
      ? [s64(a), s64(b)].sort((x, y) => (x < y ? -1 : 1))
      : [u64(a), u64(b)].sort((x, y) => (x < y ? -1 : 1));
    r.umin = u64(lo) <= u64(hi) ? u64(lo) : 0n;
    r.umax = u64(lo) <= u64(hi) ? u64(hi) : (1n << 64n) - 1n;
    r.smin = s64(lo) <= s64(hi) ? s64(lo) : -(1n << 63n);
    r.smax = s64(lo) <= s64(hi) ? s64(hi) : (1n << 63n) - 1n;
    const same = lo >> 32n === hi >> 32n;
    r.u32min = same && u32(lo) <= u32(hi) ? u32(lo) : 0n;
    r.u32max = same && u32(lo) <= u32(hi) ? u32(hi) : 0xffff_ffffn;
    r.s32min = same && s32(lo) <= s32(hi) ? s32(lo) : -0x8000_0000n;
    r.s32max = same && s32(lo) <= s32(hi) ? s32(hi) : 0x7fff_ffffn;
    r.varOff = tnumRange(r.umin, r.umax);
    if (loose & 1) r.u32max = u32(c);
    if (loose & 2) r.smax = s64(d);
    if (loose & 4) r.varOff = { value: u64(e & ~f), mask: u64(f) };
    if (loose & 8) r.s32min = s32(g);
  } else {
    r.varOff = { value: u64(a & ~b), mask: u64(b) };
    r.umin = u64(c);
    r.umax = u64(d);
    r.smin = s64(e);
    r.smax = s64(f);
    r.u32min = u32(g);
    r.u32max = u32(h);
    r.s32min = s32(i);
    r.s32max = s32(j);
  }
  // now and then a bound out of its range (the rules can make one): the fast path must defer
  if (raw === 0) r.umax = d;
  if (raw === 1) r.smin = e;
  if (raw === 2) r.u32max = h;
  return r;
}

test('boundsSync without bigints (32-bit values, 32-bit halves) ends where the bigint rules do', () => {
  fc.assert(
    fc.property(
      fc.array(pattern, { minLength: 10, maxLength: 10 }),
      fc.integer({ min: 0, max: 31 }),
      fc.integer({ min: 0, max: 20 }),
      (p, loose, raw) => {
        const r = regOf(p, loose, raw);
        const fast = copyReg(r);
        boundsSync(fast);
        const slow = copyReg(r);
        boundsSyncRanges(slow);
        assert.deepEqual(
          fast,
          slow,
          JSON.stringify(r, (_, x) => (typeof x === 'bigint' ? `${x}` : x)),
        );
      },
    ),
    { numRuns: 30000 },
  );
});

/** Patterns for registers near the zero-extended 32-bit domain (the ALU number path's). */
const small = fc.oneof(
  fc.bigInt({ min: 0n, max: 0x3ffn }),
  fc.bigInt({ min: 0x7fff_fff0n, max: 0x8000_0010n }),
  fc.bigInt({ min: 0xffff_fff0n, max: 0x1_0000_0010n }),
  fc.bigInt({ min: 0n, max: 0xffff_ffffn }),
  fc.bigInt({ min: -16n, max: 16n }),
);

test('scalarAluRanges on numbers (add, and, or, xor at 64 bits) ends where the bigint rules do', () => {
  const reg = fc
    .tuple(
      fc.array(small, { minLength: 10, maxLength: 10 }),
      fc.integer({ min: 0, max: 31 }),
      fc.integer({ min: 0, max: 40 }),
      fc.boolean(),
    )
    .map(([p, loose, raw, sync]) => {
      const r = regOf(p, loose, raw);
      if (sync) boundsSync(r);
      return r;
    });
  fc.assert(
    fc.property(fc.constantFrom('add', 'and', 'or', 'xor'), reg, reg, (op, d, s) => {
      const fast = copyReg(d);
      scalarAluRanges(fast, s, op, false);
      const slow = copyReg(d);
      scalarAluRangesBig(slow, s, op, false);
      const text = (r: Reg) => JSON.stringify(r, (_, x) => (typeof x === 'bigint' ? `${x}` : x));
      assert.deepEqual(fast, slow, `${op} ${text(d)} ${text(s)}`);
    }),
    { numRuns: 30000 },
  );
});
