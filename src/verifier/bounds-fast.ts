/**
 * `reg_bounds_sync` on numbers: the same steps as `boundsSyncRanges` in scalar.ts, without its
 * bigint arithmetic, which allocates a new bigint at nearly every step (on a loop that runs into
 * the complexity limit, that allocation and its garbage collection were the verifier's largest
 * cost). Two paths: a zero-extended 32-bit register on plain numbers, and any other register on
 * 32-bit halves.
 *
 * On halves, a 64-bit value is held as its two's-complement bit pattern, `hi` and `lo` (each in [0, 2^32)),
 * in a scratch array; a signed and an unsigned value with the same bits are the same pair, so the
 * kernel's casts between them (`u64()`, `s64()`) change nothing and only comparisons differ:
 *
 *     index:  UMIN UMIN+1 | UMAX .. | SMIN .. | SMAX .. | VALUE .. | MASK .. |  U32MIN ... S32MAX
 *     holds:   hi   lo    |  hi  lo |  hi  lo |  hi  lo |  hi   lo |  hi  lo |  one number each
 *
 * scalar.test.ts holds the result equal to the bigint rules on random registers.
 */
import { S32_MAX, S32_MIN, S64_MAX, S64_MIN, type Tnum, U32_MAX, U64_MAX } from './tnum.js';

/** The parts of a scalar register (scalar.ts's `Reg`) that `reg_bounds_sync` reads and writes. */
interface Bounds {
  varOff: Tnum;
  umin: bigint;
  umax: bigint;
  smin: bigint;
  smax: bigint;
  u32min: bigint;
  u32max: bigint;
  s32min: bigint;
  s32max: bigint;
}

const UMIN = 0;
const UMAX = 2;
const SMIN = 4;
const SMAX = 6;
const VALUE = 8;
const MASK = 10;
/** Scratch pairs for a range's tnum. */
const RV = 12;
const RM = 14;
const U32MIN = 16;
const U32MAX = 17;
const S32MIN = 18;
const S32MAX = 19;

/** The working copy of one register (a module-level scratch: boundsSync never re-enters). */
const w = new Float64Array(20);
/** The input, to write back only what changed. */
const input = new Float64Array(20);

const TWO32 = 2 ** 32;

/** Unsigned `a < b` of pairs at `a` and `b`. */
const ltU = (a: number, b: number): boolean => w[a] < w[b] || (w[a] === w[b] && w[a + 1] < w[b + 1]);
/** Signed `a < b`: the high halves compared as int32. */
const ltS = (a: number, b: number): boolean =>
  (w[a] | 0) < (w[b] | 0) || (w[a] === w[b] && w[a + 1] < w[b + 1]);
const copy = (d: number, s: number): void => {
  w[d] = w[s];
  w[d + 1] = w[s + 1];
};
/** `d = max(d, (hi, lo))`, unsigned. */
function maxU(d: number, hi: number, lo: number): void {
  if (hi > w[d] || (hi === w[d] && lo > w[d + 1])) {
    w[d] = hi;
    w[d + 1] = lo;
  }
}
function minU(d: number, hi: number, lo: number): void {
  if (hi < w[d] || (hi === w[d] && lo < w[d + 1])) {
    w[d] = hi;
    w[d + 1] = lo;
  }
}
function maxS(d: number, hi: number, lo: number): void {
  if ((hi | 0) > (w[d] | 0) || (hi === w[d] && lo > w[d + 1])) {
    w[d] = hi;
    w[d + 1] = lo;
  }
}
function minS(d: number, hi: number, lo: number): void {
  if ((hi | 0) < (w[d] | 0) || (hi === w[d] && lo < w[d + 1])) {
    w[d] = hi;
    w[d + 1] = lo;
  }
}

/** `(1 << n) - 1` for n in 0..32, as non-negative numbers. */
const LOW_MASKS: readonly number[] = Array.from({ length: 33 }, (_, n) => 2 ** n - 1);

/** `tnumRange(min, max)` of the pairs at `min` and `max` into RV and RM. */
function range(min: number, max: number): void {
  const chiHi = (w[min] ^ w[max]) >>> 0;
  const chiLo = (w[min + 1] ^ w[max + 1]) >>> 0;
  if (chiHi >= 0x80000000) {
    // 64 bits differ: unknown
    w[RV] = w[RV + 1] = 0;
    w[RM] = w[RM + 1] = 0xffffffff;
  } else if (chiHi !== 0) {
    const dHi = LOW_MASKS[32 - Math.clz32(chiHi)];
    w[RM] = dHi;
    w[RM + 1] = 0xffffffff;
    w[RV] = (w[min] & ~dHi) >>> 0;
    w[RV + 1] = 0;
  } else {
    const dLo = LOW_MASKS[32 - Math.clz32(chiLo)];
    w[RM] = 0;
    w[RM + 1] = dLo;
    w[RV] = w[min];
    w[RV + 1] = (w[min + 1] & ~dLo) >>> 0;
  }
}

/** `tnumRange(min, max).mask` of 32-bit numbers. */
const rangeMask32 = (min: number, max: number): number => LOW_MASKS[32 - Math.clz32(min ^ max)];

function updateBounds(): void {
  const vh = w[VALUE];
  const vl = w[VALUE + 1];
  const mh = w[MASK];
  const ml = w[MASK + 1];
  w[S32MIN] = Math.max(w[S32MIN], vl | (ml & 0x80000000));
  w[S32MAX] = Math.min(w[S32MAX], vl | (ml & 0x7fffffff));
  w[U32MIN] = Math.max(w[U32MIN], vl);
  w[U32MAX] = Math.min(w[U32MAX], (vl | ml) >>> 0);
  maxS(SMIN, (vh | (mh & 0x80000000)) >>> 0, vl);
  minS(SMAX, (vh | (mh & 0x7fffffff)) >>> 0, (vl | ml) >>> 0);
  maxU(UMIN, vh, vl);
  minU(UMAX, (vh | mh) >>> 0, (vl | ml) >>> 0);
}

function s32From(lo: number, at: number): void {
  w[S32MIN] = Math.max(w[S32MIN], w[lo] | 0);
  w[S32MAX] = Math.min(w[S32MAX], w[at] | 0);
}

function deduce32(): void {
  if (w[UMIN] === w[UMAX]) {
    w[U32MIN] = Math.max(w[U32MIN], w[UMIN + 1]);
    w[U32MAX] = Math.min(w[U32MAX], w[UMAX + 1]);
    if ((w[UMIN + 1] | 0) <= (w[UMAX + 1] | 0)) s32From(UMIN + 1, UMAX + 1);
  }
  if (w[SMIN] === w[SMAX]) {
    if (w[SMIN + 1] <= w[SMAX + 1]) {
      w[U32MIN] = Math.max(w[U32MIN], w[SMIN + 1]);
      w[U32MAX] = Math.min(w[U32MAX], w[SMAX + 1]);
    }
    if ((w[SMIN + 1] | 0) <= (w[SMAX + 1] | 0)) s32From(SMIN + 1, SMAX + 1);
  }
  // upper halves one apart, the low halves crossing the 32-bit sign boundary
  if ((w[UMIN + 1] | 0) < 0 && (w[UMAX + 1] | 0) >= 0 && (w[UMIN] + 1) >>> 0 === w[UMAX])
    s32From(UMIN + 1, UMAX + 1);
  if ((w[SMIN + 1] | 0) < 0 && (w[SMAX + 1] | 0) >= 0 && (w[SMIN] + 1) >>> 0 === w[SMAX])
    s32From(SMIN + 1, SMAX + 1);
  if ((w[U32MIN] | 0) <= (w[U32MAX] | 0)) s32From(U32MIN, U32MAX);
  if (w[S32MIN] >>> 0 <= w[S32MAX] >>> 0) {
    w[U32MIN] = Math.max(w[U32MIN], w[S32MIN] >>> 0);
    w[U32MAX] = Math.min(w[U32MAX], w[S32MAX] >>> 0);
  } else if (w[U32MAX] < w[S32MIN] >>> 0) {
    // the s32 range crosses the sign boundary and the u32 range lies within its positive part
    w[S32MIN] = w[U32MIN] | 0;
    w[U32MAX] = Math.min(w[U32MAX], w[S32MAX] >>> 0);
  } else if (w[S32MAX] >>> 0 < w[U32MIN]) {
    // ... or within its negative part
    w[S32MAX] = w[U32MAX] | 0;
    w[U32MIN] = Math.max(w[U32MIN], w[S32MIN] >>> 0);
  }
}

function deduce64(): void {
  if (!ltS(UMAX, UMIN)) {
    maxS(SMIN, w[UMIN], w[UMIN + 1]);
    minS(SMAX, w[UMAX], w[UMAX + 1]);
  }
  if (!ltU(SMAX, SMIN)) {
    maxU(UMIN, w[SMIN], w[SMIN + 1]);
    minU(UMAX, w[SMAX], w[SMAX + 1]);
  } else if (ltU(UMAX, SMIN)) {
    // the s64 range crosses the sign boundary and the u64 range lies within its positive part
    copy(SMIN, UMIN);
    minU(UMAX, w[SMAX], w[SMAX + 1]);
  } else if (ltU(SMAX, UMIN)) {
    // ... or within its negative part
    copy(SMAX, UMAX);
    maxU(UMIN, w[SMIN], w[SMIN + 1]);
  }
}

/** False when a step would leave the pairs' domain (a negative `umax`; see deduceMixed). */
function deduceMixed(): boolean {
  maxU(UMIN, w[UMIN], w[U32MIN]);
  minU(UMAX, w[UMAX], w[U32MAX]);
  maxS(SMIN, w[SMIN], w[U32MIN]);
  minS(SMAX, w[SMAX], w[U32MAX]);
  // s32min >= 0 && smin >= S32_MIN && smax <= S32_MAX
  const s32min = w[S32MIN];
  if (s32min < 0) return true;
  const sminHi = w[SMIN] | 0;
  const smaxHi = w[SMAX] | 0;
  if (sminHi < -1 || (sminHi === -1 && w[SMIN + 1] < 0x80000000)) return true;
  if (smaxHi > 0 || (smaxHi === 0 && w[SMAX + 1] > 0x7fffffff)) return true;
  const s32max = w[S32MAX];
  // the bigint rules copy s32max into umax as it is, a negative umax no pair can hold
  if (s32max < 0) return false;
  w[SMIN] = w[UMIN] = 0;
  w[SMIN + 1] = w[UMIN + 1] = s32min;
  w[SMAX] = w[UMAX] = 0;
  w[SMAX + 1] = w[UMAX + 1] = s32max;
  // varOff ∩ tnumRange(s32min, s32max): the range's upper half is a known 0
  const rm = rangeMask32(s32min, s32max);
  const mu = w[MASK + 1] & rm;
  w[MASK] = 0;
  w[MASK + 1] = mu >>> 0;
  w[VALUE + 1] = ((w[VALUE + 1] | (s32min & ~rm)) & ~mu) >>> 0;
  return true;
}

/** boundOffset: the tnum intersected with the tnums of [umin, umax] and of [u32min, u32max]. */
function boundOffset(): void {
  range(UMIN, UMAX);
  const m64Hi = w[MASK] & w[RM];
  const m64Lo = w[MASK + 1] & w[RM + 1];
  const v64Hi = (w[VALUE] | w[RV]) & ~m64Hi;
  const v64Lo = (w[VALUE + 1] | w[RV + 1]) & ~m64Lo;
  const r32m = rangeMask32(w[U32MIN], w[U32MAX]);
  const m32 = m64Lo & r32m;
  const v32 = (v64Lo | (w[U32MIN] & ~r32m)) & ~m32;
  w[VALUE] = v64Hi >>> 0;
  w[VALUE + 1] = v32 >>> 0;
  w[MASK] = (m64Hi & ~v64Hi) >>> 0;
  w[MASK + 1] = (m32 & ~v32) >>> 0;
}

const KNOWN_PAIRS: readonly number[] = [VALUE, UMIN, UMAX, SMIN, SMAX];

/** singleBit: one unknown bit, and the bounds exclude one of its two values. */
function singleBit(): void {
  const mh = w[MASK];
  const ml = w[MASK + 1];
  if (!(mh === 0 ? ml !== 0 && (ml & (ml - 1)) === 0 : ml === 0 && (mh & (mh - 1)) === 0)) return;
  // RV: the value with the bit clear; RM: with it set
  copy(RV, VALUE);
  w[RM] = (w[VALUE] | mh) >>> 0;
  w[RM + 1] = (w[VALUE + 1] | ml) >>> 0;
  let known: number;
  if (ltU(RV, UMIN) && !ltU(RM, UMIN)) known = RM;
  else if (ltU(UMAX, RM) && !ltU(UMAX, RV)) known = RV;
  else return;
  const hi = w[known];
  const lo = w[known + 1];
  for (const at of KNOWN_PAIRS) {
    w[at] = hi;
    w[at + 1] = lo;
  }
  w[MASK] = w[MASK + 1] = 0;
  w[U32MIN] = w[U32MAX] = lo;
  w[S32MIN] = w[S32MAX] = lo | 0;
}

/** Bigints of 0..SMALL-1, made when first asked for (`BigInt()` allocates at every call). */
const SMALL = 1 << 16;
const smallBigints: bigint[] = new Array<bigint>(SMALL);

/** `BigInt(n)` of an integer `n`, shared for small values and the 32-bit limits. */
function big(n: number): bigint {
  if (n >= 0 && n < SMALL) {
    let b = smallBigints[n];
    if (b === undefined) {
      b = BigInt(n);
      smallBigints[n] = b;
    }
    return b;
  }
  if (n === 0xffffffff) return U32_MAX;
  if (n === 0x7fffffff) return S32_MAX;
  if (n === -0x80000000) return S32_MIN;
  return BigInt(n);
}

/** Known tnums of 0..SMALL-1 (tnums are never changed in place, so one serves every register). */
const smallTnums: Tnum[] = new Array<Tnum>(SMALL);

/**
 * `__mark_reg_known(r, n)` for `n` in [0, 2^53): every bound `n`, the 32-bit ones its low word;
 * the bigints and the tnum of small values are shared.
 */
export function setKnownNumber(r: Bounds, n: number): void {
  const v = big(n);
  let t: Tnum | undefined;
  if (n < SMALL) {
    t = smallTnums[n];
    if (t === undefined) {
      t = { value: v, mask: 0n };
      smallTnums[n] = t;
    }
  } else t = { value: v, mask: 0n };
  r.varOff = t;
  r.umin = r.umax = r.smin = r.smax = v;
  const lo = n >>> 0;
  const v32 = lo === n ? v : big(lo);
  r.u32min = r.u32max = v32;
  r.s32min = r.s32max = (lo | 0) === lo ? v32 : big(lo | 0);
}

const TWO53N = 2 ** 53;

/**
 * `a op b` of known values in [0, 2^32), as the instruction computes it at `bits` (scalar.ts's
 * `constAlu`), when the result is in [0, 2^53); -1 otherwise (and for `neg`, `arsh`, `div`,
 * `mod`), for the caller to compute on bigints. Shift amounts are already below `bits`.
 */
export function constAluNumber(op: string, a: number, b: number, bits: 32 | 64): number {
  switch (op) {
    case 'add':
      return bits === 32 ? (a + b) % TWO32 : a + b;
    case 'sub':
      return a >= b ? a - b : bits === 32 ? a - b + TWO32 : -1;
    case 'and':
      return (a & b) >>> 0;
    case 'or':
      return (a | b) >>> 0;
    case 'xor':
      return (a ^ b) >>> 0;
    case 'lsh': {
      if (bits === 32) return (a << b) >>> 0;
      const x = a * 2 ** b;
      return x < TWO53N ? x : -1;
    }
    case 'rsh':
      return b >= 32 ? 0 : a >>> b;
    case 'mul': {
      if (bits === 32) return Math.imul(a, b) >>> 0;
      const x = a * b;
      return x < TWO53N ? x : -1;
    }
    default:
      return -1;
  }
}

const TWO53F = 2 ** 53;
const TWO63F = 2 ** 63;
const TWO64F = 2 ** 64;

/**
 * Load `x`, whose `Number()` is `n`, as a pair at `at` when it lies in [0, 2^64) (`signed`:
 * [-2^63, 2^63)); false if not. Below 2^53 in magnitude the number is exact; above, rounding
 * is monotone and the limits (2^53 too) are powers of two, so only a number equal to a limit needs
 * the bigint to decide.
 */
function loadPair(at: number, x: bigint, n: number, signed: boolean): boolean {
  if (n > -TWO53F && n < TWO53F) {
    if (n < 0 && !signed) return false;
    w[at] = Math.floor(n / TWO32) >>> 0;
    w[at + 1] = n >>> 0;
    return true;
  }
  if (signed ? n < -TWO63F || n > TWO63F : n < 0 || n > TWO64F) return false;
  if (x === U64_MAX) {
    if (signed) return false;
    w[at] = w[at + 1] = 0xffffffff;
  } else if (x === S64_MAX) {
    w[at] = 0x7fffffff;
    w[at + 1] = 0xffffffff;
  } else if (x === S64_MIN) {
    if (!signed) return false;
    w[at] = 0x80000000;
    w[at + 1] = 0;
  } else {
    if (signed ? x < S64_MIN || x > S64_MAX : x > U64_MAX) return false;
    const u = BigInt.asUintN(64, x);
    w[at] = Number(u >> 32n);
    w[at + 1] = Number(u & U32_MAX);
  }
  return true;
}

/** The bigint of the pair at `at`, signed or not. */
function store(at: number, signed: boolean): bigint {
  const hi = w[at];
  const lo = w[at + 1];
  if (signed && hi >= 0x80000000) {
    const top = hi - TWO32;
    if (top >= -0x200000) return big(top * TWO32 + lo);
    if (hi === 0x80000000 && lo === 0) return S64_MIN;
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }
  if (hi < 0x200000) return big(hi * TWO32 + lo);
  if (lo === 0xffffffff && hi === 0xffffffff) return U64_MAX;
  if (lo === 0xffffffff && hi === 0x7fffffff) return S64_MAX;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

const changed = (at: number): boolean => w[at] !== input[at] || w[at + 1] !== input[at + 1];

/** `tnumRange(min, max).value` for min, max in [0, 2^32). */
const rangeValue32 = (min: number, max: number): number => (min & ~rangeMask32(min, max)) >>> 0;

/** A zero-extended 32-bit register as numbers, at ZV…ZS32MAX of a `Float64Array`. */
const ZV = 0;
const ZM = 1;
const ZUMIN = 2;
const ZUMAX = 3;
const ZSMIN = 4;
const ZSMAX = 5;
const ZU32MIN = 6;
const ZU32MAX = 7;
const ZS32MIN = 8;
const ZS32MAX = 9;
/** The register {@link syncZext} works on (scratch: it never re-enters). */
const z = new Float64Array(10);
/** The register's fields as it came in, to write back only what changed. */
const z0 = new Float64Array(10);
/** An ALU operation's source register. */
const zs = new Float64Array(10);

const isU32 = (x: number): boolean => x >= 0 && x <= 0xffffffff;
const isS32 = (x: number): boolean => x >= -0x80000000 && x <= 0x7fffffff;

/**
 * Load `r` into `at` (z, z0 or zs) when it lies in the zero-extended 32-bit domain: the tnum and
 * the four 64-bit bounds in [0, 2^32), the 32-bit bounds in theirs. `Number()` of a larger bigint
 * is rounded, but never into [0, 2^32), so the test on numbers decides as one on bigints would,
 * for a fraction of the cost.
 */
function loadZext(r: Bounds, at: Float64Array): boolean {
  // every field, in or out of the domain (boundsSyncHalves reads them when this fails)
  // (the minima, and the maxima, are often one bigint, which compares faster than it converts)
  const v = Number(r.varOff.value);
  const m = Number(r.varOff.mask);
  const bmin = r.umin;
  const bmax = r.umax;
  const umin = Number(bmin);
  const umax = Number(bmax);
  const smin = r.smin === bmin ? umin : Number(r.smin);
  const smax = r.smax === bmax ? umax : Number(r.smax);
  const u32min = r.u32min === bmin ? umin : Number(r.u32min);
  const u32max = r.u32max === bmax ? umax : Number(r.u32max);
  const s32min = r.s32min === bmin ? umin : Number(r.s32min);
  const s32max = r.s32max === bmax ? umax : Number(r.s32max);
  at[ZV] = v;
  at[ZM] = m;
  at[ZUMIN] = umin;
  at[ZUMAX] = umax;
  at[ZSMIN] = smin;
  at[ZSMAX] = smax;
  at[ZU32MIN] = u32min;
  at[ZU32MAX] = u32max;
  at[ZS32MIN] = s32min;
  at[ZS32MAX] = s32max;
  return (
    isU32(v) &&
    isU32(m) &&
    isU32(umin) &&
    isU32(umax) &&
    isU32(smin) &&
    isU32(smax) &&
    isU32(u32min) &&
    isU32(u32max) &&
    isS32(s32min) &&
    isS32(s32max)
  );
}

/** Write `z` into `r`, the fields that differ from `z0` only (a bigint each). */
function storeZext(r: Bounds): void {
  // The minima (and the maxima) of a synced register are mostly one value: one bigint for them.
  const umin = z[ZUMIN];
  const umax = z[ZUMAX];
  minBig = maxBig = undefined;
  if (umin !== z0[ZUMIN]) r.umin = zMin();
  if (umax !== z0[ZUMAX]) r.umax = zMax();
  if (z[ZSMIN] !== z0[ZSMIN]) r.smin = z[ZSMIN] === umin ? zMin() : big(z[ZSMIN]);
  if (z[ZSMAX] !== z0[ZSMAX]) r.smax = z[ZSMAX] === umax ? zMax() : big(z[ZSMAX]);
  if (z[ZU32MIN] !== z0[ZU32MIN]) r.u32min = z[ZU32MIN] === umin ? zMin() : big(z[ZU32MIN]);
  if (z[ZU32MAX] !== z0[ZU32MAX]) r.u32max = z[ZU32MAX] === umax ? zMax() : big(z[ZU32MAX]);
  if (z[ZS32MIN] !== z0[ZS32MIN]) r.s32min = z[ZS32MIN] === umin ? zMin() : big(z[ZS32MIN]);
  if (z[ZS32MAX] !== z0[ZS32MAX]) r.s32max = z[ZS32MAX] === umax ? zMax() : big(z[ZS32MAX]);
  if (z[ZV] !== z0[ZV] || z[ZM] !== z0[ZM]) {
    const v = z[ZV];
    r.varOff = { value: v === umin ? zMin() : v === umax ? zMax() : big(v), mask: big(z[ZM]) };
  }
}

/** The bigints of z's umin and umax, made once per storeZext. */
let minBig: bigint | undefined;
let maxBig: bigint | undefined;
function zMin(): bigint {
  if (minBig === undefined) minBig = big(z[ZUMIN]);
  return minBig;
}
function zMax(): bigint {
  if (maxBig === undefined) maxBig = big(z[ZUMAX]);
  return maxBig;
}

/**
 * `boundsSync` for the commonest register, a zero-extended 32-bit value (a u32 load, a
 * helper's u32, a masked or counted value): when the tnum and the four 64-bit bounds lie in
 * [0, 2^32), every step of the general rules stays there and reads the same on doubles, where
 * bigints would allocate at nearly every step. Mirrors `boundsSyncRanges` step for step with
 * the identities of that domain (`hi32` is 0, `withLow32(x, lo)` is `lo`, `u64`/`s64` change
 * nothing); returns false, having changed nothing, outside it or where a step would leave it (an
 * empty 32-bit signed range copied into the 64-bit bounds). scalar.test.ts holds it equal to the
 * general rules.
 */
function boundsSyncZext(r: Bounds): boolean {
  if (!loadZext(r, z)) return false;
  z0.set(z);
  if (!syncZext()) return false;
  storeZext(r);
  return true;
}

/** {@link boundsSyncZext} on `z` (in the domain): false, `z` unchanged, where a step would leave it. */
function syncZext(): boolean {
  let v = z[ZV];
  let m = z[ZM];
  let umin = z[ZUMIN];
  let umax = z[ZUMAX];
  let smin = z[ZSMIN];
  let smax = z[ZSMAX];
  let u32min = z[ZU32MIN];
  let u32max = z[ZU32MAX];
  let s32min = z[ZS32MIN];
  let s32max = z[ZS32MAX];
  // Every step below takes a max or min of values already in these ranges or copies one (the
  // one exception returns false), so the locals never leave them.
  for (let pass = 0; pass < 2; pass++) {
    // updateBounds (the second time after boundOffset, below)
    const vm = (v | m) >>> 0;
    s32min = Math.max(s32min, v | (m & 0x80000000));
    s32max = Math.min(s32max, v | (m & 0x7fffffff));
    u32min = Math.max(u32min, v);
    u32max = Math.min(u32max, vm);
    smin = Math.max(smin, v);
    smax = Math.min(smax, vm);
    umin = Math.max(umin, v);
    umax = Math.min(umax, vm);
    if (pass === 1) break;
    for (let d = 0; d < 2; d++) {
      // deduce32: the upper halves are equal (0), so the first two rules apply; the two that need
      // upper halves one apart never do
      u32min = Math.max(u32min, umin);
      u32max = Math.min(u32max, umax);
      if ((umin | 0) <= (umax | 0)) {
        s32min = Math.max(s32min, umin | 0);
        s32max = Math.min(s32max, umax | 0);
      }
      if (smin <= smax) {
        u32min = Math.max(u32min, smin);
        u32max = Math.min(u32max, smax);
      }
      if ((smin | 0) <= (smax | 0)) {
        s32min = Math.max(s32min, smin | 0);
        s32max = Math.min(s32max, smax | 0);
      }
      if ((u32min | 0) <= (u32max | 0)) {
        s32min = Math.max(s32min, u32min | 0);
        s32max = Math.min(s32max, u32max | 0);
      }
      if (s32min >>> 0 <= s32max >>> 0) {
        u32min = Math.max(u32min, s32min >>> 0);
        u32max = Math.min(u32max, s32max >>> 0);
      } else if (u32max < s32min >>> 0) {
        s32min = u32min | 0;
        u32max = Math.min(u32max, s32max >>> 0);
      } else if (s32max >>> 0 < u32min) {
        s32max = u32max | 0;
        u32min = Math.max(u32min, s32min >>> 0);
      }
      // deduce64
      if (umin <= umax) {
        smin = Math.max(smin, umin);
        smax = Math.min(smax, umax);
      }
      if (smin <= smax) {
        umin = Math.max(umin, smin);
        umax = Math.min(umax, smax);
      } else if (umax < smin) {
        smin = umin;
        umax = Math.min(umax, smax);
      } else if (smax < umin) {
        smax = umax;
        umin = Math.max(umin, smin);
      }
      // deduceMixed
      umin = Math.max(umin, u32min);
      umax = Math.min(umax, u32max);
      smin = Math.max(smin, u32min);
      smax = Math.min(smax, u32max);
      if (s32min >= 0 && smax <= 0x7fffffff) {
        if (s32max < 0) return false; // the 64-bit bounds would leave [0, 2^32)
        smin = umin = s32min;
        smax = umax = s32max;
        const rm = rangeMask32(smin, smax);
        const rv = rangeValue32(smin, smax);
        const mu = m & rm;
        v = ((v | rv) & ~mu) >>> 0;
        m = mu >>> 0;
      }
    }
    // boundOffset: intersect with the tnums of [umin, umax] and of [u32min, u32max]
    const m64 = m & rangeMask32(umin, umax);
    const v64 = (v | rangeValue32(umin, umax)) & ~m64;
    const m32 = m64 & rangeMask32(u32min, u32max);
    v = ((v64 | rangeValue32(u32min, u32max)) & ~m32) >>> 0;
    m = (m32 & ~v) >>> 0;
  }
  // singleBit
  if (m !== 0 && (m & (m - 1)) === 0) {
    const hi = (v | m) >>> 0;
    let known = -1;
    if (umin > v && umin <= hi) known = hi;
    else if (umax < hi && umax >= v) known = v;
    if (known >= 0) {
      v = umin = umax = smin = smax = u32min = u32max = known;
      m = 0;
      s32min = s32max = known | 0;
    }
  }
  z[ZV] = v;
  z[ZM] = m;
  z[ZUMIN] = umin;
  z[ZUMAX] = umax;
  z[ZSMIN] = smin;
  z[ZSMAX] = smax;
  z[ZU32MIN] = u32min;
  z[ZU32MAX] = u32max;
  z[ZS32MIN] = s32min;
  z[ZS32MAX] = s32max;
  return true;
}

/**
 * A 64-bit `d op= s` (`add`, `and`, `or`, `xor`) on numbers, both operands in the zero-extended
 * 32-bit domain (see {@link boundsSyncZext}): the same steps as `scalarAluRanges` in scalar.ts
 * (`scalar_min_max_*` at 32 and 64 bits, then the tnum), where every value stays below 2^34, and
 * `reg_bounds_sync` on numbers when the result is in the domain too. The counters, masks and
 * sums of an unrolled loop are nearly all such operations. Returns false, having changed nothing,
 * outside that domain or where the result leaves it (the caller then applies the bigint rules).
 * scalar.test.ts holds it equal to them.
 */
export function aluZext(d: Bounds, s: Bounds, op: 'add' | 'and' | 'or' | 'xor'): boolean {
  if (!loadZext(s, zs) || !loadZext(d, z0)) return false;
  const av = z0[ZV];
  const am = z0[ZM];
  const bv = zs[ZV];
  const bm = zs[ZM];
  let v: number;
  let m: number;
  if (op === 'add') {
    // tnumAdd, when no sum reaches 2^32 (beyond, 32-bit bit operations would not do)
    const sm = am + bm;
    const sv = av + bv;
    const sigma = sm + sv;
    if (sigma > 0xffffffff) return false;
    const mu = ((sigma ^ sv) | am | bm) >>> 0;
    v = (sv & ~mu) >>> 0;
    m = mu;
    // scalar_min_max_add at 32 bits
    let lo = z0[ZS32MIN] + zs[ZS32MIN];
    let hi = z0[ZS32MAX] + zs[ZS32MAX];
    if (!isS32(lo) || !isS32(hi)) {
      lo = -0x80000000;
      hi = 0x7fffffff;
    }
    z[ZS32MIN] = lo;
    z[ZS32MAX] = hi;
    lo = z0[ZU32MIN] + zs[ZU32MIN];
    hi = z0[ZU32MAX] + zs[ZU32MAX];
    if (lo <= 0xffffffff && hi > 0xffffffff) {
      lo = 0;
      hi = 0xffffffff;
    }
    z[ZU32MIN] = lo > 0xffffffff ? lo - 2 ** 32 : lo;
    z[ZU32MAX] = hi > 0xffffffff ? hi - 2 ** 32 : hi;
    // ... and at 64 bits, where sums below 2^33 never overflow
    z[ZSMIN] = z0[ZSMIN] + zs[ZSMIN];
    z[ZSMAX] = z0[ZSMAX] + zs[ZSMAX];
    z[ZUMIN] = z0[ZUMIN] + zs[ZUMIN];
    z[ZUMAX] = z0[ZUMAX] + zs[ZUMAX];
  } else {
    if (op === 'and') {
      v = (av & bv) >>> 0;
      m = ((av | am) & (bv | bm) & ~v) >>> 0;
    } else if (op === 'or') {
      v = (av | bv) >>> 0;
      m = ((am | bm) & ~v) >>> 0;
    } else {
      m = (am | bm) >>> 0;
      v = ((av ^ bv) & ~m) >>> 0;
    }
    const vm = (v | m) >>> 0;
    if (bm === 0 && m === 0) {
      // both known: the 32-bit rule marks the subregister known, the 64-bit one the register
      z[ZSMIN] = z[ZSMAX] = z[ZUMIN] = z[ZUMAX] = z[ZU32MIN] = z[ZU32MAX] = v;
      z[ZS32MIN] = z[ZS32MAX] = v | 0;
    } else {
      // scalar(32)_min_max_and/or/xor: the unsigned range, and the signed one when it does not
      // cross the sign boundary
      const umin = op === 'or' ? Math.max(z0[ZU32MIN], zs[ZU32MIN]) : v;
      const umax = op === 'and' ? Math.min(z0[ZU32MAX], zs[ZU32MAX]) : vm;
      z[ZU32MIN] = umin;
      z[ZU32MAX] = umax;
      if ((umin | 0) <= (umax | 0)) {
        z[ZS32MIN] = umin | 0;
        z[ZS32MAX] = umax | 0;
      } else {
        z[ZS32MIN] = -0x80000000;
        z[ZS32MAX] = 0x7fffffff;
      }
      const umin64 = op === 'or' ? Math.max(z0[ZUMIN], zs[ZUMIN]) : v;
      const umax64 = op === 'and' ? Math.min(z0[ZUMAX], zs[ZUMAX]) : vm;
      // a signed range crossing the sign boundary would be [S64_MIN, S64_MAX]: not here
      if (umin64 > umax64) return false;
      z[ZUMIN] = z[ZSMIN] = umin64;
      z[ZUMAX] = z[ZSMAX] = umax64;
    }
  }
  z[ZV] = v;
  z[ZM] = m;
  // (a sum's bounds may pass 2^32, a minimum beyond its maximum's too)
  if (!isU32(z[ZUMIN]) || !isU32(z[ZUMAX]) || !isU32(z[ZSMIN]) || !isU32(z[ZSMAX]) || !syncZext())
    return false;
  storeZext(d);
  return true;
}

/**
 * `reg_bounds_sync` of `r` on pairs, `z` holding the `Number()`s of its fields (boundsSyncZext
 * leaves them there). Returns false, having changed nothing, when a bound is out
 * of its canonical range or a step would leave it; the caller then applies the bigint rules.
 */
function boundsSyncHalves(r: Bounds): boolean {
  const t = r.varOff;
  const u32min = z[ZU32MIN];
  const u32max = z[ZU32MAX];
  const s32min = z[ZS32MIN];
  const s32max = z[ZS32MAX];
  if (!isU32(u32min) || !isU32(u32max) || !isS32(s32min) || !isS32(s32max)) return false;
  if (
    !loadPair(UMIN, r.umin, z[ZUMIN], false) ||
    !loadPair(UMAX, r.umax, z[ZUMAX], false) ||
    !loadPair(SMIN, r.smin, z[ZSMIN], true) ||
    !loadPair(SMAX, r.smax, z[ZSMAX], true) ||
    !loadPair(VALUE, t.value, z[ZV], false) ||
    !loadPair(MASK, t.mask, z[ZM], false)
  )
    return false;
  w[U32MIN] = u32min;
  w[U32MAX] = u32max;
  w[S32MIN] = s32min;
  w[S32MAX] = s32max;
  input.set(w);
  updateBounds();
  deduce32();
  deduce64();
  if (!deduceMixed()) return false;
  deduce32();
  deduce64();
  if (!deduceMixed()) return false;
  boundOffset();
  updateBounds();
  singleBit();
  if (changed(VALUE) || changed(MASK)) r.varOff = { value: store(VALUE, false), mask: store(MASK, false) };
  if (changed(UMIN)) r.umin = store(UMIN, false);
  if (changed(UMAX)) r.umax = store(UMAX, false);
  if (changed(SMIN)) r.smin = store(SMIN, true);
  if (changed(SMAX)) r.smax = store(SMAX, true);
  if (w[U32MIN] !== input[U32MIN]) r.u32min = big(w[U32MIN]);
  if (w[U32MAX] !== input[U32MAX]) r.u32max = big(w[U32MAX]);
  if (w[S32MIN] !== input[S32MIN]) r.s32min = big(w[S32MIN]);
  if (w[S32MAX] !== input[S32MAX]) r.s32max = big(w[S32MAX]);
  return true;
}

/**
 * `reg_bounds_sync` of `r` without bigint arithmetic: false, having changed nothing, when neither
 * fast path applies (the caller then applies the bigint rules). The halves read the numbers the
 * zero-extended path loaded into `z`, whether it went on or not.
 */
export const boundsSyncFast = (r: Bounds): boolean => boundsSyncZext(r) || boundsSyncHalves(r);
