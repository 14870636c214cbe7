/**
 * Register states and the kernel's scalar range arithmetic: a tnum plus signed and unsigned
 * 64- and 32-bit bounds kept in sync (`reg_bounds_sync`), the bound propagation of every ALU
 * operator (`adjust_scalar_min_max_vals`), and branch refinement (`regs_refine_cond_op`,
 * `is_scalar_branch_taken`). Semantics follow Linux 6.18's verifier; the code is our own.
 */
import { aluZext, boundsSyncFast, constAluNumber, setKnownNumber } from './bounds-fast.js';
import {
  S32_MAX,
  S32_MIN,
  S64_MAX,
  S64_MIN,
  s32,
  s64,
  TNUM_UNKNOWN,
  type Tnum,
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumConst,
  tnumIntersect,
  tnumIsConst,
  tnumLshift,
  tnumMul,
  tnumNeg,
  tnumOr,
  tnumRange,
  tnumRshift,
  tnumSub,
  tnumSubreg,
  tnumSubregIsConst,
  tnumWithSubreg,
  tnumXor,
  U32_MAX,
  U64_MAX,
  u32,
  u64,
} from './tnum.js';

/** Register types, named as the kernel prints them (`reg_type_str`). */
export type RegType =
  | 'not_init'
  | 'scalar'
  | 'ctx'
  | 'map_ptr'
  | 'map_value'
  | 'map_key'
  | 'fp'
  | 'pkt'
  | 'pkt_meta'
  | 'pkt_end'
  | 'mem'
  | 'ringbuf_mem'
  | 'func'
  | 'flow_keys'
  | 'sock'
  | 'sock_common'
  | 'tcp_sock'
  | 'btf_id';

/** One register's abstract value (`struct bpf_reg_state`). Mutable: states are copied on fork. */
export interface Reg {
  type: RegType;
  /** PTR_MAYBE_NULL */
  maybeNull: boolean;
  /** MEM_RDONLY */
  rdonly: boolean;
  /** Fixed part of a pointer's offset. */
  off: number;
  varOff: Tnum;
  smin: bigint;
  smax: bigint;
  umin: bigint;
  umax: bigint;
  s32min: bigint;
  s32max: bigint;
  u32min: bigint;
  u32max: bigint;
  /** Shared by copies: null checks and packet ranges propagate to every register with it. */
  id: number;
  /** Reference (ringbuf record, socket) this pointer holds. */
  refObjId: number;
  /** Map index (map_ptr, map_value, map_key). */
  map: number;
  /** Packet bytes proven readable past `off` (pkt, pkt_meta); negative: AT/BEYOND pkt_end. */
  range: number;
  /** Size of the memory a `mem` pointer points to. */
  memSize: number;
  /** Frame of the stack a `fp` pointer points into. */
  frameno: number;
  /** Subprogram a `func` pointer names (its first slot). */
  subprog: number;
  /** Whether this scalar's exact value mattered for a decision (precision tracking). */
  precise: boolean;
  /** `btf_id`: the struct it points to, a type id in the kernel's BTF (0: unknown). */
  btfId: number;
  /** `btf_id`: trust flags ({@link BtfFlag}: PTR_TRUSTED, MEM_RCU, PTR_UNTRUSTED…). */
  btfFlags: number;
}

/**
 * The kernel's type flags a `PTR_TO_BTF_ID` carries besides PTR_MAYBE_NULL, as bits of
 * {@link Reg.btfFlags} (`enum bpf_type_flag`; the values here are ours).
 */
export const BtfFlag = {
  /** PTR_UNTRUSTED: read-only, walked from a pointer nobody vouches for. */
  UNTRUSTED: 1,
  /** PTR_TRUSTED: valid for the whole program (tp_btf arguments, bpf_get_current_task_btf). */
  TRUSTED: 2,
  /** MEM_RCU: valid inside the RCU read section (the whole of a non-sleepable program). */
  RCU: 4,
  /** MEM_USER: an `__user` pointer (never dereferenced by a load). */
  USER: 8,
  /** MEM_PERCPU: an `__percpu` pointer (never dereferenced by a load). */
  PERCPU: 16,
} as const;

export function newReg(type: RegType = 'not_init'): Reg {
  return {
    type,
    maybeNull: false,
    rdonly: false,
    off: 0,
    varOff: TNUM_UNKNOWN,
    smin: S64_MIN,
    smax: S64_MAX,
    umin: 0n,
    umax: U64_MAX,
    s32min: S32_MIN,
    s32max: S32_MAX,
    u32min: 0n,
    u32max: U32_MAX,
    id: 0,
    refObjId: 0,
    map: -1,
    range: 0,
    memSize: 0,
    frameno: 0,
    subprog: -1,
    precise: false,
    btfId: 0,
    btfFlags: 0,
  };
}

/** A copy (an explicit literal: one object shape, much faster than a spread). */
export const copyReg = (r: Reg): Reg => ({
  type: r.type,
  maybeNull: r.maybeNull,
  rdonly: r.rdonly,
  off: r.off,
  varOff: r.varOff,
  smin: r.smin,
  smax: r.smax,
  umin: r.umin,
  umax: r.umax,
  s32min: r.s32min,
  s32max: r.s32max,
  u32min: r.u32min,
  u32max: r.u32max,
  id: r.id,
  refObjId: r.refObjId,
  map: r.map,
  range: r.range,
  memSize: r.memSize,
  frameno: r.frameno,
  subprog: r.subprog,
  precise: r.precise,
  btfId: r.btfId,
  btfFlags: r.btfFlags,
});

/** Whether every field of `a` equals `b`'s (tnums by value). */
export function sameReg(a: Reg, b: Reg): boolean {
  return (
    a.type === b.type &&
    a.varOff.value === b.varOff.value &&
    a.varOff.mask === b.varOff.mask &&
    a.smin === b.smin &&
    a.smax === b.smax &&
    a.umin === b.umin &&
    a.umax === b.umax &&
    a.s32min === b.s32min &&
    a.s32max === b.s32max &&
    a.u32min === b.u32min &&
    a.u32max === b.u32max &&
    a.precise === b.precise &&
    a.id === b.id &&
    a.off === b.off &&
    a.maybeNull === b.maybeNull &&
    a.rdonly === b.rdonly &&
    a.refObjId === b.refObjId &&
    a.map === b.map &&
    a.range === b.range &&
    a.memSize === b.memSize &&
    a.frameno === b.frameno &&
    a.subprog === b.subprog &&
    a.btfId === b.btfId &&
    a.btfFlags === b.btfFlags
  );
}

/** Overwrite every field of `d` with `s`'s (`Object.assign(d, s)` without its cost). */
export function assignReg(d: Reg, s: Reg): void {
  d.type = s.type;
  d.maybeNull = s.maybeNull;
  d.rdonly = s.rdonly;
  d.off = s.off;
  d.varOff = s.varOff;
  d.smin = s.smin;
  d.smax = s.smax;
  d.umin = s.umin;
  d.umax = s.umax;
  d.s32min = s.s32min;
  d.s32max = s.s32max;
  d.u32min = s.u32min;
  d.u32max = s.u32max;
  d.id = s.id;
  d.refObjId = s.refObjId;
  d.map = s.map;
  d.range = s.range;
  d.memSize = s.memSize;
  d.frameno = s.frameno;
  d.subprog = s.subprog;
  d.precise = s.precise;
  d.btfId = s.btfId;
  d.btfFlags = s.btfFlags;
}

/** Reset to `newReg(type)` in place (what `Object.assign(r, newReg(type))` did). */
export function resetReg(r: Reg, type: RegType): void {
  r.type = type;
  r.maybeNull = false;
  r.rdonly = false;
  r.off = 0;
  r.varOff = TNUM_UNKNOWN;
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64_MAX;
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0n;
  r.u32max = U32_MAX;
  r.id = 0;
  r.refObjId = 0;
  r.map = -1;
  r.range = 0;
  r.memSize = 0;
  r.frameno = 0;
  r.subprog = -1;
  r.precise = false;
  r.btfId = 0;
  r.btfFlags = 0;
}

/** An unknown scalar (`__mark_reg_unknown`). */
export function markUnknown(r: Reg): void {
  resetReg(r, 'scalar');
}

/** A scalar with a known value (`__mark_reg_known`), keeping nothing of the old state. */
export function markKnown(r: Reg, value: bigint): void {
  resetReg(r, 'scalar');
  setKnown(r, value);
}

/** {@link markKnown} of a 32-bit immediate, sign- (`bits` 64) or zero-extended (32). */
export function markKnownImm(r: Reg, imm: number, bits: 32 | 64): void {
  const n = bits === 64 ? imm : imm >>> 0;
  resetReg(r, 'scalar');
  if (n < 0) setKnown(r, BigInt(n));
  else setKnownNumber(r, n);
}

function setKnown(r: Reg, value: bigint): void {
  const v = u64(value);
  r.varOff = tnumConst(v);
  r.smin = r.smax = s64(v);
  r.umin = r.umax = v;
  r.s32min = r.s32max = s32(v);
  r.u32min = r.u32max = u32(v);
}

/** A pointer of `type` with offset 0 and no variable part. */
export function markPointer(r: Reg, type: RegType): void {
  resetReg(r, type);
  setKnown(r, 0n);
}

export function markKnown32(r: Reg, value: bigint): void {
  r.varOff = tnumWithSubreg(r.varOff, tnumConst(value));
  r.s32min = r.s32max = s32(value);
  r.u32min = r.u32max = u32(value);
}

export function mark64Unbounded(r: Reg): void {
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64_MAX;
}

export function mark32Unbounded(r: Reg): void {
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0n;
  r.u32max = U32_MAX;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

function update32Bounds(r: Reg): void {
  // the subregister's value and mask (tnumSubreg without the object)
  const value = low32(r.varOff.value);
  const mask = low32(r.varOff.mask);
  r.s32min = max(r.s32min, s32(value | (mask & 0x80000000n)));
  r.s32max = min(r.s32max, s32(value | (mask & 0x7fffffffn)));
  r.u32min = max(r.u32min, value);
  r.u32max = min(r.u32max, value | mask);
}

function update64Bounds(r: Reg): void {
  const t = r.varOff;
  r.smin = max(r.smin, s64(t.value | (t.mask & SIGN64)));
  r.smax = min(r.smax, s64(t.value | (t.mask & S64_MAX)));
  r.umin = max(r.umin, t.value);
  r.umax = min(r.umax, t.value | t.mask);
}

export function updateBounds(r: Reg): void {
  update32Bounds(r);
  update64Bounds(r);
}

const SIGN64 = 1n << 63n;
const HIGH32 = U64_MAX ^ U32_MAX;
/** `x & U32_MAX`, allocating nothing when `x` is already in [0, 2^32). */
const low32 = (x: bigint): bigint => (x >= 0n && x <= U32_MAX ? x : x & U32_MAX);
const TWO32 = 1n << 32n;
const HI32 = ~U32_MAX;

/** `x >> 32n` (arithmetic), allocating nothing when it is 0 or -1. */
const hi32 = (x: bigint): bigint => (x >= 0n ? (x < TWO32 ? 0n : x >> 32n) : x >= -TWO32 ? -1n : x >> 32n);

/** `(x & ~U32_MAX) | lo`, allocating nothing when `x` is in [0, 2^32). */
const withLow32 = (x: bigint, lo: bigint): bigint => (x >= 0n && x <= U32_MAX ? lo : (x & HI32) | lo);

function deduce32(r: Reg): void {
  if (hi32(r.umin) === hi32(r.umax)) {
    r.u32min = max(r.u32min, u32(r.umin));
    r.u32max = min(r.u32max, u32(r.umax));
    if (s32(r.umin) <= s32(r.umax)) {
      r.s32min = max(r.s32min, s32(r.umin));
      r.s32max = min(r.s32max, s32(r.umax));
    }
  }
  if (hi32(r.smin) === hi32(r.smax)) {
    if (u32(r.smin) <= u32(r.smax)) {
      r.u32min = max(r.u32min, u32(r.smin));
      r.u32max = min(r.u32max, u32(r.smax));
    }
    if (s32(r.smin) <= s32(r.smax)) {
      r.s32min = max(r.s32min, s32(r.smin));
      r.s32max = min(r.s32max, s32(r.smax));
    }
  }
  // (the cheap sign tests first: the conditions are pure, their order changes nothing)
  if (s32(r.umin) < 0n && s32(r.umax) >= 0n && u32(u32(hi32(r.umin)) + 1n) === u32(hi32(r.umax))) {
    r.s32min = max(r.s32min, s32(r.umin));
    r.s32max = min(r.s32max, s32(r.umax));
  }
  if (s32(r.smin) < 0n && s32(r.smax) >= 0n && u32(u32(hi32(r.smin)) + 1n) === u32(hi32(r.smax))) {
    r.s32min = max(r.s32min, s32(r.smin));
    r.s32max = min(r.s32max, s32(r.smax));
  }
  if (s32(r.u32min) <= s32(r.u32max)) {
    r.s32min = max(r.s32min, s32(r.u32min));
    r.s32max = min(r.s32max, s32(r.u32max));
  }
  if (u32(r.s32min) <= u32(r.s32max)) {
    r.u32min = max(r.u32min, u32(r.s32min));
    r.u32max = min(r.u32max, u32(r.s32max));
  } else if (r.u32max < u32(r.s32min)) {
    // the s32 range crosses the sign boundary and the u32 range lies within its positive part
    r.s32min = s32(r.u32min);
    r.u32max = min(r.u32max, u32(r.s32max));
  } else if (u32(r.s32max) < r.u32min) {
    // ... or within its negative part
    r.s32max = s32(r.u32max);
    r.u32min = max(r.u32min, u32(r.s32min));
  }
}

function deduce64(r: Reg): void {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = max(r.smin, s64(r.umin));
    r.smax = min(r.smax, s64(r.umax));
  }
  if (u64(r.smin) <= u64(r.smax)) {
    r.umin = max(r.umin, u64(r.smin));
    r.umax = min(r.umax, u64(r.smax));
  } else if (r.umax < u64(r.smin)) {
    // the s64 range crosses the sign boundary and the u64 range lies within its positive part
    r.smin = s64(r.umin);
    r.umax = min(r.umax, u64(r.smax));
  } else if (u64(r.smax) < r.umin) {
    // ... or within its negative part
    r.smax = s64(r.umax);
    r.umin = max(r.umin, u64(r.smin));
  }
}

function deduceMixed(r: Reg): void {
  r.umin = max(r.umin, u64(withLow32(r.umin, r.u32min)));
  r.umax = min(r.umax, u64(withLow32(r.umax, r.u32max)));
  r.smin = max(r.smin, s64(withLow32(r.smin, r.u32min)));
  r.smax = min(r.smax, s64(withLow32(r.smax, r.u32max)));
  if (r.s32min >= 0n && r.smin >= S32_MIN && r.smax <= S32_MAX) {
    r.smin = r.s32min;
    r.smax = r.s32max;
    r.umin = r.s32min;
    r.umax = r.s32max;
    r.varOff = tnumIntersect(r.varOff, tnumRange(r.smin, r.smax));
  }
}

function deduceBounds(r: Reg): void {
  deduce32(r);
  deduce64(r);
  deduceMixed(r);
}

function boundOffset(r: Reg): void {
  // tnumOr(tnumClearSubreg(v64), tnumIntersect(tnumSubreg(v64), tnumRange(u32min, u32max))) with
  // v64 = tnumIntersect(varOff, tnumRange(umin, umax)), computed without the intermediate objects;
  // the register keeps its tnum object when nothing changed (tnums are immutable).
  const t = r.varOff;
  const r64 = tnumRange(r.umin, r.umax);
  const m64 = u64(t.mask & r64.mask);
  const v64 = u64((t.value | r64.value) & ~m64);
  const r32 = tnumRange(r.u32min, r.u32max);
  const m32 = u64(low32(m64) & r32.mask);
  const v32 = u64((low32(v64) | r32.value) & ~m32);
  const value = u64((v64 & HIGH32) | v32);
  const mask = u64(u64((m64 & HIGH32) | m32) & ~value);
  if (value !== t.value || mask !== t.mask) r.varOff = { value, mask };
}

/** `reg_bounds_sync`: make the tnum and the four ranges agree. */
export function boundsSync(r: Reg): void {
  // A constant whose seven other views already equal it is a fixed point of the steps below.
  if (isSyncedConst(r)) return;
  if (boundsSyncFast(r)) return;
  boundsSyncRanges(r);
}

/** {@link boundsSync} by the general rules alone, on bigints (what the fast path must equal). */
export function boundsSyncRanges(r: Reg): void {
  updateBounds(r);
  deduceBounds(r);
  deduceBounds(r);
  boundOffset(r);
  updateBounds(r);
  singleBit(r);
}

/** Known tnum and every bound equal to its value: `boundsSync` would change nothing. */
function isSyncedConst(r: Reg): boolean {
  const t = r.varOff;
  if (t.mask !== 0n) return false;
  const v = t.value;
  if (v < 0n || v > U64_MAX || r.umin !== v || r.umax !== v) return false;
  const sv = s64(v);
  if (r.smin !== sv || r.smax !== sv) return false;
  const lo = u32(v);
  if (r.u32min !== lo || r.u32max !== lo) return false;
  const slo = s32(lo);
  return r.s32min === slo && r.s32max === slo;
}

/**
 * A tnum with one unknown bit holds two values; when the unsigned bounds exclude one of them the
 * register is the other (Linux 6.18 concludes `r0 = 0x80000000` from `r0 &= 0x80000000; r0 != 0`).
 */
function singleBit(r: Reg): void {
  const m = r.varOff.mask;
  if (m === 0n || (m & (m - 1n)) !== 0n) return;
  const lo = r.varOff.value;
  const hi = lo | m;
  if (r.umin > lo && r.umin <= hi) setKnown(r, hi);
  else if (r.umax < hi && r.umax >= lo) setKnown(r, lo);
}

/** Whether the ranges are self-consistent (an impossible state means a dead branch). */
export function boundsValid(r: Reg): boolean {
  return r.umin <= r.umax && r.smin <= r.smax && r.u32min <= r.u32max && r.s32min <= r.s32max;
}

/** `zext_32_to_64`: a 32-bit result zero-extended into the whole register. */
export function zext32To64(r: Reg): void {
  r.varOff = tnumSubreg(r.varOff);
  r.umin = r.u32min;
  r.umax = r.u32max;
  if (r.s32min >= 0n && r.s32max >= 0n) {
    r.smin = r.s32min;
    r.smax = r.s32max;
  } else {
    r.smin = 0n;
    r.smax = U32_MAX;
  }
}

/** Sign- or zero-extension of the low `size` bytes (`coerce_reg_to_size`, loads and movsx). */
export function coerceToSize(r: Reg, size: number): void {
  const bits = BigInt(size * 8);
  const mask = (1n << bits) - 1n;
  r.varOff = { value: r.varOff.value & mask, mask: r.varOff.mask & mask };
  if ((r.umin & ~mask) === (r.umax & ~mask)) {
    r.umin &= mask;
    r.umax &= mask;
  } else {
    r.umin = 0n;
    r.umax = mask;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  if (size >= 4) {
    // the 32-bit view of a 4-byte value is the value
  }
  if (size < 4) {
    r.u32min = r.umin;
    r.u32max = r.umax;
    r.s32min = r.umin;
    r.s32max = r.umax;
  } else {
    r.u32min = max(r.u32min, 0n);
  }
  mark32Unbounded(r);
  boundsSync(r);
}

/** Sign extension of the low `size` bytes (`coerce_reg_to_size_sx`, for movsx and ldsx). */
export function coerceToSizeSx(r: Reg, size: number): void {
  const bits = BigInt(size * 8);
  const mask = (1n << bits) - 1n;
  const signBit = 1n << (bits - 1n);
  const ext = (x: bigint): bigint => BigInt.asIntN(size * 8, x);
  const low = { value: r.varOff.value & mask, mask: r.varOff.mask & mask };
  let smin: bigint;
  let smax: bigint;
  if (tnumIsConst(r.varOff)) {
    smin = smax = ext(r.varOff.value);
  } else if ((r.smin & ~mask) === (r.smax & ~mask) && ext(r.smin) <= ext(r.smax)) {
    smin = ext(r.smin);
    smax = ext(r.smax);
  } else {
    smin = -signBit;
    smax = signBit - 1n;
  }
  resetReg(r, 'scalar');
  r.smin = smin;
  r.smax = smax;
  if (smin >= 0n) {
    r.umin = smin;
    r.umax = smax;
  }
  r.varOff = low.mask & signBit || low.value & signBit ? TNUM_UNKNOWN : low;
  if (!(low.mask & signBit) && low.value & signBit) r.varOff = tnum64(u64(ext(low.value)), ~mask);
  boundsSync(r);
}

/**
 * `coerce_subreg_to_size_sx`: the low `size` bytes sign-extended into the low 32 bits (`w1 =
 * (s8)w2`); the 64-bit view follows from the zero extension the caller applies.
 */
export function coerceSubregToSizeSx(r: Reg, size: 1 | 2): void {
  const bits = size * 8;
  const ext = (x: bigint): bigint => BigInt.asIntN(bits, x);
  if (tnumIsConst(r.varOff)) {
    const v = u32(ext(r.varOff.value));
    r.varOff = tnumConst(u64(ext(r.varOff.value)));
    r.s32min = r.s32max = s32(v);
    r.u32min = r.u32max = v;
    return;
  }
  const top = (x: bigint) => (u32(x) >> BigInt(bits)) << BigInt(bits);
  if (top(r.s32max) === top(r.s32min)) {
    const a = ext(r.s32max);
    const b = ext(r.s32min);
    const hi = max(a, b);
    const lo = min(a, b);
    if (lo >= 0n === hi >= 0n) {
      r.s32min = lo;
      r.s32max = hi;
      r.u32min = u32(lo);
      r.u32max = u32(hi);
      r.varOff = tnumSubreg(tnumRange(u64(lo), u64(hi)));
      return;
    }
  }
  r.s32min = -(1n << BigInt(bits - 1));
  r.s32max = (1n << BigInt(bits - 1)) - 1n;
  r.u32min = 0n;
  r.u32max = U32_MAX;
  r.varOff = tnumSubreg(TNUM_UNKNOWN);
}

const tnum64 = (value: bigint, mask: bigint): Tnum => ({ value: u64(value) & ~u64(mask), mask: u64(mask) });

export function isConst(r: Reg, is32 = false): boolean {
  return r.type === 'scalar' && (is32 ? tnumSubregIsConst(r.varOff) : tnumIsConst(r.varOff));
}

export function constValue(r: Reg, is32 = false): bigint {
  return is32 ? tnumSubreg(r.varOff).value : r.varOff.value;
}

// ---------------------------------------------------------------------------------------------
// ALU bound propagation

function wrap(x: bigint, signed: boolean, bits: 32 | 64): bigint {
  return bits === 32 ? (signed ? s32(x) : u32(x)) : signed ? s64(x) : u64(x);
}

// Results of addBounds (module-level scratch: no tuple per call).
let outSmin = 0n;
let outSmax = 0n;
let outUmin = 0n;
let outUmax = 0n;

/** The range arithmetic of `scalar(_min_max)_add/sub` at one width, into the out* scratch. */
function addBounds(
  dsmin: bigint,
  dsmax: bigint,
  dumin: bigint,
  dumax: bigint,
  ssmin: bigint,
  ssmax: bigint,
  sumin: bigint,
  sumax: bigint,
  bits: 32 | 64,
  sub: boolean,
): void {
  const SMIN = bits === 32 ? S32_MIN : S64_MIN;
  const SMAX = bits === 32 ? S32_MAX : S64_MAX;
  const UMAX = bits === 32 ? U32_MAX : U64_MAX;
  const a = sub ? dsmin - ssmax : dsmin + ssmin;
  const b = sub ? dsmax - ssmin : dsmax + ssmax;
  if (a < SMIN || a > SMAX || b < SMIN || b > SMAX) {
    outSmin = SMIN;
    outSmax = SMAX;
  } else {
    outSmin = a;
    outSmax = b;
  }
  const c = sub ? dumin - sumax : dumin + sumin;
  const e = sub ? dumax - sumin : dumax + sumax;
  const co = c < 0n || c > UMAX;
  const eo = e < 0n || e > UMAX;
  if (sub ? co && !eo : !co && eo) {
    outUmin = 0n;
    outUmax = UMAX;
  } else {
    outUmin = wrap(c, false, bits);
    outUmax = wrap(e, false, bits);
  }
}

function rangeAdd(d: Reg, s: Reg, bits: 32 | 64, sub: boolean): void {
  if (bits === 32) {
    addBounds(d.s32min, d.s32max, d.u32min, d.u32max, s.s32min, s.s32max, s.u32min, s.u32max, 32, sub);
    d.s32min = outSmin;
    d.s32max = outSmax;
    d.u32min = outUmin;
    d.u32max = outUmax;
  } else {
    addBounds(d.smin, d.smax, d.umin, d.umax, s.smin, s.smax, s.umin, s.umax, 64, sub);
    d.smin = outSmin;
    d.smax = outSmax;
    d.umin = outUmin;
    d.umax = outUmax;
  }
}

/**
 * The bound fields of one width, made once: a fresh array per call, destructured, was a tenth
 * of the time of a loop of bitwise operations.
 */
const KEYS32 = ['s32min', 's32max', 'u32min', 'u32max'] as const;
const KEYS64 = ['smin', 'smax', 'umin', 'umax'] as const;

function rangeMul(d: Reg, s: Reg, bits: 32 | 64): void {
  const keys = bits === 32 ? KEYS32 : KEYS64;
  const sminK = keys[0];
  const smaxK = keys[1];
  const uminK = keys[2];
  const umaxK = keys[3];
  const SMIN = bits === 32 ? S32_MIN : S64_MIN;
  const SMAX = bits === 32 ? S32_MAX : S64_MAX;
  const UMAX = bits === 32 ? U32_MAX : U64_MAX;
  const umax = d[umaxK] * s[umaxK];
  const umin = d[uminK] * s[uminK];
  if (umax > UMAX || umin > UMAX) {
    d[uminK] = 0n;
    d[umaxK] = UMAX;
  } else {
    d[uminK] = umin;
    d[umaxK] = umax;
  }
  const p0 = d[sminK] * s[sminK];
  const p1 = d[sminK] * s[smaxK];
  const p2 = d[smaxK] * s[sminK];
  const p3 = d[smaxK] * s[smaxK];
  const out = (x: bigint) => x < SMIN || x > SMAX;
  if (out(p0) || out(p1) || out(p2) || out(p3)) {
    d[sminK] = SMIN;
    d[smaxK] = SMAX;
  } else {
    d[sminK] = min(min(min(p0, p1), p2), p3);
    d[smaxK] = max(max(max(p0, p1), p2), p3);
  }
}

function rangeBitwise(d: Reg, s: Reg, bits: 32 | 64, op: 'and' | 'or' | 'xor'): void {
  const t = bits === 32 ? tnumSubreg(d.varOff) : d.varOff;
  const srcKnown = bits === 32 ? tnumSubregIsConst(s.varOff) : tnumIsConst(s.varOff);
  const dstKnown = bits === 32 ? tnumSubregIsConst(d.varOff) : tnumIsConst(d.varOff);
  if (srcKnown && dstKnown) {
    if (bits === 32) markKnown32(d, t.value);
    else setKnown(d, t.value);
    return;
  }
  const keys = bits === 32 ? KEYS32 : KEYS64;
  const sminK = keys[0];
  const smaxK = keys[1];
  const uminK = keys[2];
  const umaxK = keys[3];
  if (op === 'and') {
    d[uminK] = t.value;
    d[umaxK] = min(d[umaxK], s[umaxK]);
  } else if (op === 'or') {
    d[uminK] = max(d[uminK], s[uminK]);
    d[umaxK] = t.value | t.mask;
  } else {
    d[uminK] = t.value;
    d[umaxK] = t.value | t.mask;
  }
  if (wrap(d[uminK], true, bits) <= wrap(d[umaxK], true, bits)) {
    d[sminK] = wrap(d[uminK], true, bits);
    d[smaxK] = wrap(d[umaxK], true, bits);
  } else {
    d[sminK] = bits === 32 ? S32_MIN : S64_MIN;
    d[smaxK] = bits === 32 ? S32_MAX : S64_MAX;
  }
}

function lsh32Bounds(d: Reg, umin: bigint, umax: bigint): void {
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  if (umax > 31n || d.u32max > 1n << (31n - umax)) {
    d.u32min = 0n;
    d.u32max = U32_MAX;
  } else {
    d.u32min <<= umin;
    d.u32max <<= umax;
  }
}

function lsh64Bounds(d: Reg, umin: bigint, umax: bigint): void {
  d.smax = umin === 32n && umax === 32n && d.s32max >= 0n ? d.s32max << 32n : S64_MAX;
  d.smin = umin === 32n && umax === 32n && d.s32min >= 0n ? d.s32min << 32n : S64_MIN;
  if (umax > 63n || d.umax > 1n << (63n - umax)) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin <<= umin;
    d.umax <<= umax;
  }
}

/** Scalar ALU operators the kernel computes ranges for. */
export type ScalarAluOp = 'add' | 'sub' | 'mul' | 'and' | 'or' | 'xor' | 'lsh' | 'rsh' | 'arsh' | 'neg';

/**
 * `adjust_scalar_min_max_vals`: the new range of `d` after `d op= s` at 32 or 64 bits. Division,
 * modulo and shifts by a non-constant or too-large amount give an unknown scalar, as Linux does.
 */
export function scalarAlu(d: Reg, src: Reg, op: string, bits: 32 | 64): void {
  // `d op= d`: read the source as it was (nothing else here writes to the source)
  const s = src === d ? copyReg(src) : src;
  const alu32 = bits === 32;
  const srcConst = alu32 ? tnumSubregIsConst(s.varOff) : tnumIsConst(s.varOff);
  const safe =
    op === 'add' ||
    op === 'sub' ||
    op === 'neg' ||
    op === 'and' ||
    op === 'or' ||
    op === 'xor' ||
    op === 'mul' ||
    ((op === 'lsh' || op === 'rsh' || op === 'arsh') && srcConst && (alu32 ? s.u32max < 32n : s.umax < 64n));
  if (!safe) {
    markUnknown(d);
    return;
  }
  if (srcConst && (alu32 ? tnumSubregIsConst(d.varOff) : tnumIsConst(d.varOff))) {
    // Both operands known: the general rules below would end in exactly this constant (each
    // tnum operation is exact on constants and the bounds collapse onto it), at several times
    // the cost; loops the verifier unrolls are mostly such arithmetic. On numbers when the
    // operands fit in 32 bits and the result in 53.
    const a = Number(d.varOff.value);
    const b = Number(s.varOff.value);
    const n = a <= 0xffffffff && b <= 0xffffffff ? constAluNumber(op, a, b, bits) : -1;
    if (n >= 0) setKnownNumber(d, n);
    else setKnown(d, constAlu(op, d.varOff.value, s.varOff.value, bits));
    return;
  }
  scalarAluRanges(d, s, op, alu32);
}

/** `a op b` on known values, as the instruction computes it (shift amounts already in range). */
export function constAlu(op: string, a: bigint, b: bigint, bits: 32 | 64): bigint {
  const wrap = bits === 32 ? u32 : u64;
  const x = wrap(a);
  const y = wrap(b);
  switch (op) {
    case 'add':
      return wrap(x + y);
    case 'sub':
      return wrap(x - y);
    case 'neg':
      return wrap(-x);
    case 'mul':
      return wrap(x * y);
    case 'and':
      return x & y;
    case 'or':
      return x | y;
    case 'xor':
      return x ^ y;
    case 'lsh':
      return wrap(x << y);
    case 'rsh':
      return x >> y;
    case 'arsh':
      return wrap((bits === 32 ? s32(x) : s64(x)) >> y);
    default:
      throw new Error(`constAlu: no constant rule for '${op}'`);
  }
}

/**
 * The general rules (`adjust_scalar_min_max_vals` past its checks) for an operator `scalarAlu`
 * found safe. Exported for the test that holds the constant shortcut to them.
 */
export function scalarAluRanges(d: Reg, s: Reg, op: string, alu32: boolean): void {
  if (!alu32 && (op === 'add' || op === 'and' || op === 'or' || op === 'xor') && aluZext(d, s, op)) return;
  scalarAluRangesBig(d, s, op, alu32);
}

/** {@link scalarAluRanges} by the bigint rules alone (what its number path must equal). */
export function scalarAluRangesBig(d: Reg, s: Reg, op: string, alu32: boolean): void {
  switch (op) {
    case 'add':
      rangeAdd(d, s, 32, false);
      rangeAdd(d, s, 64, false);
      d.varOff = tnumAdd(d.varOff, s.varOff);
      break;
    case 'sub':
      rangeAdd(d, s, 32, true);
      rangeAdd(d, s, 64, true);
      d.varOff = tnumSub(d.varOff, s.varOff);
      break;
    case 'neg': {
      const old = copyReg(d);
      setKnown(d, 0n);
      rangeAdd(d, old, 32, true);
      rangeAdd(d, old, 64, true);
      d.varOff = tnumNeg(old.varOff);
      break;
    }
    case 'mul':
      d.varOff = tnumMul(d.varOff, s.varOff);
      rangeMul(d, s, 32);
      rangeMul(d, s, 64);
      break;
    case 'and':
      d.varOff = tnumAnd(d.varOff, s.varOff);
      rangeBitwise(d, s, 32, 'and');
      rangeBitwise(d, s, 64, 'and');
      break;
    case 'or':
      d.varOff = tnumOr(d.varOff, s.varOff);
      rangeBitwise(d, s, 32, 'or');
      rangeBitwise(d, s, 64, 'or');
      break;
    case 'xor':
      d.varOff = tnumXor(d.varOff, s.varOff);
      rangeBitwise(d, s, 32, 'xor');
      rangeBitwise(d, s, 64, 'xor');
      break;
    case 'lsh':
      if (alu32) {
        const sub = tnumSubreg(d.varOff);
        lsh32Bounds(d, s.u32min, s.u32max);
        d.varOff = tnumSubreg(tnumLshift(sub, Number(s.u32min)));
        mark64Unbounded(d);
        update32Bounds(d);
      } else {
        lsh64Bounds(d, s.umin, s.umax);
        lsh32Bounds(d, s.umin, s.umax);
        d.varOff = tnumLshift(d.varOff, Number(s.umin));
        updateBounds(d);
      }
      break;
    case 'rsh':
      if (alu32) {
        const sub = tnumSubreg(d.varOff);
        d.s32min = S32_MIN;
        d.s32max = S32_MAX;
        d.varOff = tnumRshift(sub, Number(s.u32min));
        d.u32min >>= s.u32max;
        d.u32max >>= s.u32min;
        mark64Unbounded(d);
        update32Bounds(d);
      } else {
        d.smin = S64_MIN;
        d.smax = S64_MAX;
        d.varOff = tnumRshift(d.varOff, Number(s.umin));
        d.umin >>= s.umax;
        d.umax >>= s.umin;
        mark32Unbounded(d);
        updateBounds(d);
      }
      break;
    case 'arsh':
      if (alu32) {
        const sh = s.u32min;
        d.s32min = s32(d.s32min >> sh);
        d.s32max = s32(d.s32max >> sh);
        d.varOff = tnumArshift(tnumSubreg(d.varOff), Number(sh), 32);
        d.u32min = 0n;
        d.u32max = U32_MAX;
        mark64Unbounded(d);
        update32Bounds(d);
      } else {
        const sh = s.umin;
        d.smin >>= sh;
        d.smax >>= sh;
        d.varOff = tnumArshift(d.varOff, Number(sh), 64);
        d.umin = 0n;
        d.umax = U64_MAX;
        mark32Unbounded(d);
        updateBounds(d);
      }
      break;
  }
  if (alu32) zext32To64(d);
  boundsSync(d);
}

// ---------------------------------------------------------------------------------------------
// Branches

/** The condition of a conditional jump; `jnset` is the false side of `jset`. */
export type CondOp =
  | 'jeq'
  | 'jne'
  | 'jgt'
  | 'jge'
  | 'jlt'
  | 'jle'
  | 'jsgt'
  | 'jsge'
  | 'jslt'
  | 'jsle'
  | 'jset'
  | 'jnset';

/** The opposite condition (the fall-through side). */
export const REVERSE: Readonly<Record<CondOp, CondOp>> = {
  jeq: 'jne',
  jne: 'jeq',
  jgt: 'jle',
  jle: 'jgt',
  jge: 'jlt',
  jlt: 'jge',
  jsgt: 'jsle',
  jsle: 'jsgt',
  jsge: 'jslt',
  jslt: 'jsge',
  jset: 'jnset',
  jnset: 'jset',
};

/** The same condition with its operands swapped. */
export const FLIP: Readonly<Record<CondOp, CondOp>> = {
  jeq: 'jeq',
  jne: 'jne',
  jgt: 'jlt',
  jlt: 'jgt',
  jge: 'jle',
  jle: 'jge',
  jsgt: 'jslt',
  jslt: 'jsgt',
  jsge: 'jsle',
  jsle: 'jsge',
  jset: 'jset',
  jnset: 'jnset',
};

interface View {
  t: Tnum;
  umin: bigint;
  umax: bigint;
  smin: bigint;
  smax: bigint;
}

const view = (r: Reg, is32: boolean): View =>
  is32
    ? { t: tnumSubreg(r.varOff), umin: r.u32min, umax: r.u32max, smin: r.s32min, smax: r.s32max }
    : { t: r.varOff, umin: r.umin, umax: r.umax, smin: r.smin, smax: r.smax };

/** `is_scalar_branch_taken`: 1 always taken, 0 never, -1 unknown. */
export function scalarBranchTaken(r1: Reg, r2: Reg, op: CondOp, is32: boolean): -1 | 0 | 1 {
  if (op !== 'jeq' && op !== 'jne' && op !== 'jset' && op !== 'jnset') return orderTaken(r1, r2, op, is32);
  let a = view(r1, is32);
  let b = view(r2, is32);
  switch (op) {
    case 'jeq':
    case 'jne': {
      const eq = op === 'jeq' ? 1 : 0;
      if (tnumIsConst(a.t) && tnumIsConst(b.t)) return (a.t.value === b.t.value ? eq : 1 - eq) as 0 | 1;
      if (a.umin > b.umax || a.umax < b.umin) return (1 - eq) as 0 | 1;
      if (a.smin > b.smax || a.smax < b.smin) return (1 - eq) as 0 | 1;
      if (!is32) {
        if (r1.u32min > r2.u32max || r1.u32max < r2.u32min) return (1 - eq) as 0 | 1;
        if (r1.s32min > r2.s32max || r1.s32max < r2.s32min) return (1 - eq) as 0 | 1;
        // bits known in both and different prove inequality
        const known = ~a.t.mask & ~b.t.mask;
        if ((a.t.value ^ b.t.value) & known) return (1 - eq) as 0 | 1;
      } else {
        const known = ~a.t.mask & ~b.t.mask;
        if ((a.t.value ^ b.t.value) & known) return (1 - eq) as 0 | 1;
      }
      return -1;
    }
    case 'jset':
    case 'jnset': {
      if (!isConst(r2, is32)) {
        [a, b] = [b, a];
        if (!isConst(r1, is32)) return -1;
      }
      const set = op === 'jset' ? 1 : 0;
      if (~a.t.mask & a.t.value & b.t.value) return set as 0 | 1;
      if (!((a.t.mask | a.t.value) & b.t.value)) return (1 - set) as 0 | 1;
      return -1;
    }
  }
}

/** {@link scalarBranchTaken} of the ordered comparisons, on the bounds alone (no view objects). */
function orderTaken(r1: Reg, r2: Reg, op: CondOp, is32: boolean): -1 | 0 | 1 {
  switch (op) {
    case 'jgt':
    case 'jlt':
    case 'jge':
    case 'jle': {
      const aMin = is32 ? r1.u32min : r1.umin;
      const aMax = is32 ? r1.u32max : r1.umax;
      const bMin = is32 ? r2.u32min : r2.umin;
      const bMax = is32 ? r2.u32max : r2.umax;
      if (op === 'jgt') return aMin > bMax ? 1 : aMax <= bMin ? 0 : -1;
      if (op === 'jlt') return aMax < bMin ? 1 : aMin >= bMax ? 0 : -1;
      if (op === 'jge') return aMin >= bMax ? 1 : aMax < bMin ? 0 : -1;
      return aMax <= bMin ? 1 : aMin > bMax ? 0 : -1;
    }
    default: {
      const aMin = is32 ? r1.s32min : r1.smin;
      const aMax = is32 ? r1.s32max : r1.smax;
      const bMin = is32 ? r2.s32min : r2.smin;
      const bMax = is32 ? r2.s32max : r2.smax;
      if (op === 'jsgt') return aMin > bMax ? 1 : aMax <= bMin ? 0 : -1;
      if (op === 'jslt') return aMax < bMin ? 1 : aMin >= bMax ? 0 : -1;
      if (op === 'jsge') return aMin >= bMax ? 1 : aMax < bMin ? 0 : -1;
      return aMax <= bMin ? 1 : aMin > bMax ? 0 : -1;
    }
  }
}

/** `regs_refine_cond_op`: narrow both registers assuming `r1 op r2` holds. */
export function refineCond(r1In: Reg, r2In: Reg, opIn: CondOp, is32: boolean): void {
  let r1 = r1In;
  let r2 = r2In;
  let op = opIn;
  if (op === 'jge' || op === 'jgt' || op === 'jsge' || op === 'jsgt') {
    op = FLIP[op];
    [r1, r2] = [r2, r1];
  }
  switch (op) {
    case 'jeq':
      if (is32) {
        r1.u32min = max(r1.u32min, r2.u32min);
        r1.u32max = min(r1.u32max, r2.u32max);
        r1.s32min = max(r1.s32min, r2.s32min);
        r1.s32max = min(r1.s32max, r2.s32max);
        r2.u32min = r1.u32min;
        r2.u32max = r1.u32max;
        r2.s32min = r1.s32min;
        r2.s32max = r1.s32max;
        const t = tnumIntersect(tnumSubreg(r1.varOff), tnumSubreg(r2.varOff));
        r1.varOff = tnumWithSubreg(r1.varOff, t);
        r2.varOff = tnumWithSubreg(r2.varOff, t);
      } else {
        r1.umin = max(r1.umin, r2.umin);
        r1.umax = min(r1.umax, r2.umax);
        r1.smin = max(r1.smin, r2.smin);
        r1.smax = min(r1.smax, r2.smax);
        r2.umin = r1.umin;
        r2.umax = r1.umax;
        r2.smin = r1.smin;
        r2.smax = r1.smax;
        r1.varOff = tnumIntersect(r1.varOff, r2.varOff);
        r2.varOff = r1.varOff;
      }
      break;
    case 'jne': {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      const v = constValue(r2, is32);
      if (is32) {
        if (r1.u32min === u32(v)) r1.u32min++;
        if (r1.u32max === u32(v)) r1.u32max--;
        if (r1.s32min === s32(v)) r1.s32min++;
        if (r1.s32max === s32(v)) r1.s32max--;
      } else {
        if (r1.umin === v) r1.umin++;
        if (r1.umax === v) r1.umax--;
        if (r1.smin === s64(v)) r1.smin++;
        if (r1.smax === s64(v)) r1.smax--;
      }
      break;
    }
    case 'jset': {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      const v = constValue(r2, is32);
      if (v === 0n || (v & (v - 1n)) !== 0n) break;
      if (is32) r1.varOff = tnumWithSubreg(r1.varOff, tnumOr(tnumSubreg(r1.varOff), tnumConst(v)));
      else r1.varOff = tnumOr(r1.varOff, tnumConst(v));
      break;
    }
    case 'jnset': {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      const v = constValue(r2, is32);
      if (is32) r1.varOff = tnumWithSubreg(r1.varOff, tnumAnd(tnumSubreg(r1.varOff), tnumConst(u64(~v))));
      else r1.varOff = tnumAnd(r1.varOff, tnumConst(u64(~v)));
      break;
    }
    case 'jle':
      if (is32) {
        r1.u32max = min(r1.u32max, r2.u32max);
        r2.u32min = max(r1.u32min, r2.u32min);
      } else {
        r1.umax = min(r1.umax, r2.umax);
        r2.umin = max(r1.umin, r2.umin);
      }
      break;
    case 'jlt':
      if (is32) {
        r1.u32max = min(r1.u32max, r2.u32max - 1n);
        r2.u32min = max(r1.u32min + 1n, r2.u32min);
      } else {
        r1.umax = min(r1.umax, r2.umax - 1n);
        r2.umin = max(r1.umin + 1n, r2.umin);
      }
      break;
    case 'jsle':
      if (is32) {
        r1.s32max = min(r1.s32max, r2.s32max);
        r2.s32min = max(r1.s32min, r2.s32min);
      } else {
        r1.smax = min(r1.smax, r2.smax);
        r2.smin = max(r1.smin, r2.smin);
      }
      break;
    case 'jslt':
      if (is32) {
        r1.s32max = min(r1.s32max, r2.s32max - 1n);
        r2.s32min = max(r1.s32min + 1n, r2.s32min);
      } else {
        r1.smax = min(r1.smax, r2.smax - 1n);
        r2.smin = max(r1.smin + 1n, r2.smin);
      }
      break;
  }
}

/** `range_within`: every value `cur` allows, `old` allows. */
export function rangeWithin(old: Reg, cur: Reg): boolean {
  return (
    old.umin <= cur.umin &&
    old.umax >= cur.umax &&
    old.smin <= cur.smin &&
    old.smax >= cur.smax &&
    old.u32min <= cur.u32min &&
    old.u32max >= cur.u32max &&
    old.s32min <= cur.s32min &&
    old.s32max >= cur.s32max
  );
}

export { TNUM_UNKNOWN, tnumAdd, tnumConst, tnumIntersect, tnumIsConst, tnumRange, tnumSub, tnumSubreg };
