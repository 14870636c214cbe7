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
import { S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX } from './tnum.js';

/**
 * The parts of a scalar register (scalar.ts's `Reg`) that `reg_bounds_sync` reads and writes, as
 * numbers: each 64-bit value as the halves of its bits (`…H`, `…L`), each 32-bit bound as itself,
 * every one stored as an int32 (`x | 0`): the rules below work on `x >>> 0` in the scratch
 * arrays and store `| 0` back.
 */
export interface Bounds {
  valH: number;
  valL: number;
  maskH: number;
  maskL: number;
  uminH: number;
  uminL: number;
  umaxH: number;
  umaxL: number;
  sminH: number;
  sminL: number;
  smaxH: number;
  smaxL: number;
  u32minN: number;
  u32maxN: number;
  s32minN: number;
  s32maxN: number;
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

const TWO32 = 2 ** 32;

/** Unsigned `(ah, al) <= (bh, bl)` of 64-bit values as int32 halves (see {@link Bounds}). */
export const leU = (ah: number, al: number, bh: number, bl: number): boolean =>
  ah !== bh ? ah >>> 0 < bh >>> 0 : al >>> 0 <= bl >>> 0;
/** Signed `(ah, al) <= (bh, bl)` of 64-bit values as int32 halves. */
export const leS = (ah: number, al: number, bh: number, bl: number): boolean =>
  ah !== bh ? ah < bh : al >>> 0 <= bl >>> 0;

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

/**
 * Bigints of 0..SMALL-1, made when first asked for (`BigInt()` allocates at every call), in
 * pages of 2^PAGE_BITS made as first touched: one array of SMALL slots, made as the module
 * loaded, cost every command that loads the verifier ~2 ms (512 KiB of fresh pages, filled) and
 * a young-generation GC.
 */
const SMALL = 1 << 16;
const PAGE_BITS = 8;
const PAGE_MASK = (1 << PAGE_BITS) - 1;
const smallBigints: Array<bigint[] | undefined> = new Array<bigint[] | undefined>(SMALL >> PAGE_BITS);

/** `BigInt(n)` of an integer `n`, shared for small values and the 32-bit limits. */
export function big(n: number): bigint {
  if (n >= 0 && n < SMALL) {
    let page = smallBigints[n >> PAGE_BITS];
    if (page === undefined) {
      page = new Array<bigint>(PAGE_MASK + 1);
      smallBigints[n >> PAGE_BITS] = page;
    }
    let b = page[n & PAGE_MASK];
    if (b === undefined) {
      b = BigInt(n);
      page[n & PAGE_MASK] = b;
    }
    return b;
  }
  if (n === 0xffffffff) return U32_MAX;
  if (n === 0x7fffffff) return S32_MAX;
  if (n === -0x80000000) return S32_MIN;
  return BigInt(n);
}

/** `__mark_reg_known(r, n)` for `n` in [0, 2^53). */
export function setKnownNumber(r: Bounds, n: number): void {
  setKnownPair(r, Math.floor(n / TWO32) | 0, n | 0);
}

/**
 * `__mark_reg_known` of the 64-bit value with int32 halves `h` and `l`: every bound, the 32-bit
 * ones its low word.
 */
export function setKnownPair(r: Bounds, h: number, l: number): void {
  r.valH = r.uminH = r.umaxH = r.sminH = r.smaxH = h;
  r.valL = r.uminL = r.umaxL = r.sminL = r.smaxL = l;
  r.maskH = r.maskL = 0;
  r.u32minN = r.u32maxN = r.s32minN = r.s32maxN = l;
}

const TWO53N = 2 ** 53;

/**
 * `d op= s` of known 64-bit values (`add`, `sub`, `neg`, `and`, `or`, `xor`) on halves, the
 * result marked known in `d` (wrapping as the instruction does; at `bits` 32, the low word
 * zero-extended). False, having changed nothing, for other operators.
 */
export function constAluPair(d: Bounds, s: Bounds, op: string, bits: 32 | 64): boolean {
  const ah = d.valH >>> 0;
  const al = d.valL >>> 0;
  const bh = s.valH >>> 0;
  const bl = s.valL >>> 0;
  let h: number;
  let l: number;
  switch (op) {
    case 'add': {
      const sum = al + bl;
      l = sum >>> 0;
      h = (ah + bh + (sum > 0xffffffff ? 1 : 0)) >>> 0;
      break;
    }
    case 'sub': {
      const diff = al - bl;
      l = diff >>> 0;
      h = (ah - bh - (diff < 0 ? 1 : 0)) >>> 0;
      break;
    }
    case 'neg':
      l = -al >>> 0;
      h = (-ah - (al !== 0 ? 1 : 0)) >>> 0;
      break;
    case 'and':
      l = (al & bl) >>> 0;
      h = (ah & bh) >>> 0;
      break;
    case 'or':
      l = (al | bl) >>> 0;
      h = (ah | bh) >>> 0;
      break;
    case 'xor':
      l = (al ^ bl) >>> 0;
      h = (ah ^ bh) >>> 0;
      break;
    default:
      return false;
  }
  setKnownPair(d, bits === 32 ? 0 : h | 0, l | 0);
  return true;
}

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

/** The bigint of the 64-bit value with halves `h` and `l` (int32 or uint32), signed or not. */
export function pairBig(h: number, l: number, signed: boolean): bigint {
  const hi = h >>> 0;
  const lo = l >>> 0;
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

/** The halves {@link splitBig} made last. */
export let splitH = 0;
export let splitL = 0;

/** The int32 halves of `x`'s 64 bits (`x` modulo 2^64), into {@link splitH} and {@link splitL}. */
export function splitBig(x: bigint): void {
  const n = Number(x);
  if (n > -TWO53F && n < TWO53F) {
    splitH = Math.floor(n / TWO32) | 0;
    splitL = n | 0;
  } else if (x === U64_MAX) {
    splitH = splitL = -1;
  } else if (x === S64_MAX) {
    splitH = 0x7fffffff;
    splitL = -1;
  } else if (x === S64_MIN) {
    splitH = -0x80000000;
    splitL = 0;
  } else {
    const u = BigInt.asUintN(64, x);
    splitH = Number(u >> 32n) | 0;
    splitL = Number(u & U32_MAX) | 0;
  }
}

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
/** An ALU operation's destination register as it came in ({@link aluZext}). */
const z0 = new Float64Array(10);
/** An ALU operation's source register. */
const zs = new Float64Array(10);

const isU32 = (x: number): boolean => x >= 0 && x <= 0xffffffff;
const isS32 = (x: number): boolean => x >= -0x80000000 && x <= 0x7fffffff;

/**
 * Load `r` into `at` (z, z0 or zs) when it lies in the zero-extended 32-bit domain: the tnum and
 * the four 64-bit bounds in [0, 2^32) (upper halves 0), the 32-bit bounds in theirs.
 */
function loadZext(r: Bounds, at: Float64Array): boolean {
  if ((r.valH | r.maskH | r.uminH | r.umaxH | r.sminH | r.smaxH) !== 0) return false;
  at[ZV] = r.valL >>> 0;
  at[ZM] = r.maskL >>> 0;
  at[ZUMIN] = r.uminL >>> 0;
  at[ZUMAX] = r.umaxL >>> 0;
  at[ZSMIN] = r.sminL >>> 0;
  at[ZSMAX] = r.smaxL >>> 0;
  at[ZU32MIN] = r.u32minN >>> 0;
  at[ZU32MAX] = r.u32maxN >>> 0;
  at[ZS32MIN] = r.s32minN;
  at[ZS32MAX] = r.s32maxN;
  return true;
}

/** Write `z` into `r` (whose upper halves are all 0 in this domain). */
function storeZext(r: Bounds): void {
  r.valH = r.maskH = r.uminH = r.umaxH = r.sminH = r.smaxH = 0;
  r.valL = z[ZV] | 0;
  r.maskL = z[ZM] | 0;
  r.uminL = z[ZUMIN] | 0;
  r.umaxL = z[ZUMAX] | 0;
  r.sminL = z[ZSMIN] | 0;
  r.smaxL = z[ZSMAX] | 0;
  r.u32minN = z[ZU32MIN] | 0;
  r.u32maxN = z[ZU32MAX] | 0;
  r.s32minN = z[ZS32MIN] | 0;
  r.s32maxN = z[ZS32MAX] | 0;
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
 * `reg_bounds_sync` of `r` on pairs. Returns false, having changed nothing, when a step would
 * leave the pairs' domain; the caller then applies the bigint rules.
 */
function boundsSyncHalves(r: Bounds): boolean {
  w[UMIN] = r.uminH >>> 0;
  w[UMIN + 1] = r.uminL >>> 0;
  w[UMAX] = r.umaxH >>> 0;
  w[UMAX + 1] = r.umaxL >>> 0;
  w[SMIN] = r.sminH >>> 0;
  w[SMIN + 1] = r.sminL >>> 0;
  w[SMAX] = r.smaxH >>> 0;
  w[SMAX + 1] = r.smaxL >>> 0;
  w[VALUE] = r.valH >>> 0;
  w[VALUE + 1] = r.valL >>> 0;
  w[MASK] = r.maskH >>> 0;
  w[MASK + 1] = r.maskL >>> 0;
  w[U32MIN] = r.u32minN >>> 0;
  w[U32MAX] = r.u32maxN >>> 0;
  w[S32MIN] = r.s32minN;
  w[S32MAX] = r.s32maxN;
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
  r.valH = w[VALUE] | 0;
  r.valL = w[VALUE + 1] | 0;
  r.maskH = w[MASK] | 0;
  r.maskL = w[MASK + 1] | 0;
  r.uminH = w[UMIN] | 0;
  r.uminL = w[UMIN + 1] | 0;
  r.umaxH = w[UMAX] | 0;
  r.umaxL = w[UMAX + 1] | 0;
  r.sminH = w[SMIN] | 0;
  r.sminL = w[SMIN + 1] | 0;
  r.smaxH = w[SMAX] | 0;
  r.smaxL = w[SMAX + 1] | 0;
  r.u32minN = w[U32MIN] | 0;
  r.u32maxN = w[U32MAX] | 0;
  r.s32minN = w[S32MIN] | 0;
  r.s32maxN = w[S32MAX] | 0;
  return true;
}

/**
 * `reg_bounds_sync` of `r` without bigint arithmetic: false, having changed nothing, when neither
 * fast path applies (the caller then applies the bigint rules). The halves read the numbers the
 * zero-extended path loaded into `z`, whether it went on or not.
 */
export const boundsSyncFast = (r: Bounds): boolean => boundsSyncZext(r) || boundsSyncHalves(r);
