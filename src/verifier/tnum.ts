/**
 * Tristate numbers ("tnums"), the kernel's bit-level abstraction of a 64-bit value: each bit is
 * known 0, known 1 (`value`) or unknown (`mask`). Semantics follow `kernel/bpf/tnum.c`; values are
 * unsigned 64-bit bigints.
 */

/** A 64-bit tristate number: bits set in `mask` are unknown; `value & mask` is always 0. */
export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

export const U64_MAX = (1n << 64n) - 1n;
export const U32_MAX = 0xffffffffn;
export const S64_MAX = (1n << 63n) - 1n;
export const S64_MIN = -(1n << 63n);
export const S32_MAX = 0x7fffffffn;
export const S32_MIN = -0x80000000n;

const U64_LIMIT = 1n << 64n;

// The wrapping casts return their argument when it is already in range: comparisons allocate
// nothing, while `BigInt.asUintN` always makes a new bigint, and the verifier's values are
// nearly always in range already (allocation and GC were its largest cost).
export const u64 = (x: bigint): bigint => (x >= 0n && x < U64_LIMIT ? x : BigInt.asUintN(64, x));
export const s64 = (x: bigint): bigint => (x >= S64_MIN && x <= S64_MAX ? x : BigInt.asIntN(64, x));
export const u32 = (x: bigint): bigint => (x >= 0n && x <= U32_MAX ? x : BigInt.asUintN(32, x));
export const s32 = (x: bigint): bigint => (x >= S32_MIN && x <= S32_MAX ? x : BigInt.asIntN(32, x));

export const tnum = (value: bigint, mask: bigint): Tnum => ({ value: u64(value), mask: u64(mask) });
export const tnumConst = (value: bigint): Tnum => ({ value: u64(value), mask: 0n });
export const TNUM_UNKNOWN: Tnum = { value: 0n, mask: U64_MAX };

export const tnumIsConst = (a: Tnum): boolean => a.mask === 0n;
export const tnumIsUnknown = (a: Tnum): boolean => a.mask === U64_MAX;

/** Index of the highest set bit plus one (0 for 0), of a value in [0, 2^64). */
function fls64(x: bigint): number {
  if (x === 0n) return 0;
  if (x <= U32_MAX) return 32 - Math.clz32(Number(x));
  const hi = Number(x >> 32n);
  return hi === 0 ? 32 - Math.clz32(Number(x)) : 64 - Math.clz32(hi);
}

/** `(1 << n) - 1` and its complement, for n in 0..64 (made once, not per call). */
const LOW_MASKS: readonly bigint[] = Array.from({ length: 65 }, (_, n) => (1n << BigInt(n)) - 1n);
const NOT_LOW_MASKS: readonly bigint[] = LOW_MASKS.map((m) => ~m);

/** The tnum of every value in [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  const chi = u64(min) ^ u64(max);
  const bits = fls64(chi);
  if (bits > 63) return TNUM_UNKNOWN;
  const delta = LOW_MASKS[bits];
  return tnum(u64(min) & NOT_LOW_MASKS[bits], delta);
}

export const tnumLshift = (a: Tnum, shift: number): Tnum =>
  tnum(a.value << BigInt(shift), a.mask << BigInt(shift));
export const tnumRshift = (a: Tnum, shift: number): Tnum =>
  tnum(a.value >> BigInt(shift), a.mask >> BigInt(shift));

/** Arithmetic right shift at 32 or 64 bits (the result of a 32-bit shift is zero-extended). */
export function tnumArshift(a: Tnum, shift: number, bits: 32 | 64): Tnum {
  const sh = BigInt(shift);
  if (bits === 32) return tnum(u32(s32(a.value) >> sh), u32(s32(a.mask) >> sh));
  return tnum(s64(a.value) >> sh, s64(a.mask) >> sh);
}

export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = u64(a.mask + b.mask);
  const sv = u64(a.value + b.value);
  const sigma = u64(sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return tnum(sv & ~mu, mu);
}

export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = u64(a.value - b.value);
  const alpha = u64(dv + a.mask);
  const beta = u64(dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return tnum(dv & ~mu, mu);
}

export const tnumNeg = (a: Tnum): Tnum => tnumSub(tnumConst(0n), a);

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return tnum(v, alpha & beta & ~v);
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return tnum(v, mu & ~v);
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return tnum(v & ~mu, mu);
}

/** Multiplication: partial products of the known and unknown bits, summed as tnums. */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  const accV = u64(a.value * b.value);
  let accM: Tnum = tnumConst(0n);
  let x = a;
  let y = b;
  while (x.value || x.mask) {
    if (x.value & 1n) accM = tnumAdd(accM, tnum(0n, y.mask));
    else if (x.mask & 1n) accM = tnumAdd(accM, tnum(0n, y.value | y.mask));
    x = tnumRshift(x, 1);
    y = tnumLshift(y, 1);
  }
  return tnumAdd(tnumConst(accV), accM);
}

export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return tnum(v & ~mu, mu);
}

/** Whether every value `b` can hold is one `a` can hold. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if (b.mask & ~a.mask) return false;
  return a.value === (b.value & ~a.mask);
}

/** `x & U32_MAX`, allocating nothing when `x` is already in [0, 2^32). */
const low32 = (x: bigint): bigint => (x >= 0n && x <= U32_MAX ? x : x & U32_MAX);
const HIGH32 = U64_MAX ^ U32_MAX;

export const tnumSubreg = (a: Tnum): Tnum => tnum(low32(a.value), low32(a.mask));
/** The high 32 bits only (`(a >> 32) << 32` on a tnum's 64-bit value and mask). */
export const tnumClearSubreg = (a: Tnum): Tnum => tnum(a.value & HIGH32, a.mask & HIGH32);
export const tnumWithSubreg = (reg: Tnum, subreg: Tnum): Tnum =>
  tnumOr(tnumClearSubreg(reg), tnumSubreg(subreg));
export const tnumSubregIsConst = (a: Tnum): boolean => (a.mask & U32_MAX) === 0n;

/** Sign/zero-extend the low `size` bytes (the kernel's tnum_cast). */
export function tnumCast(a: Tnum, size: number): Tnum {
  const bits = BigInt(size * 8);
  const m = (1n << bits) - 1n;
  return tnum(a.value & m, a.mask & m);
}

/** The kernel's `(value; mask)` text. */
export const tnumText = (a: Tnum): string => `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
