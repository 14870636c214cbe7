/**
 * Register states and the kernel's scalar range arithmetic: a tnum plus signed and unsigned
 * 64- and 32-bit bounds kept in sync (`reg_bounds_sync`), the bound propagation of every ALU
 * operator (`adjust_scalar_min_max_vals`), and branch refinement (`regs_refine_cond_op`,
 * `is_scalar_branch_taken`). Semantics follow Linux 6.18's verifier; the code is our own.
 */
import {
  aluZext,
  type Bounds,
  big,
  boundsSyncFast,
  constAluNumber,
  constAluPair,
  leS,
  leU,
  pairBig,
  setKnownNumber,
  setKnownPair,
  splitBig,
  splitH,
  splitL,
} from './bounds-fast.js';
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

/**
 * The fields of a register only some pointer types use ({@link Reg.ptr}): kept apart, a copy of
 * a register (states are copied at every branch) moves a third fewer fields.
 */
export interface PtrInfo {
  rdonly: boolean;
  refObjId: number;
  map: number;
  range: number;
  memSize: number;
  frameno: number;
  subprog: number;
  btfId: number;
  btfFlags: number;
}

const NO_PTR: PtrInfo = Object.freeze({
  rdonly: false,
  refObjId: 0,
  map: -1,
  range: 0,
  memSize: 0,
  frameno: 0,
  subprog: -1,
  btfId: 0,
  btfFlags: 0,
});

const copyPtr = (p: PtrInfo): PtrInfo => ({
  rdonly: p.rdonly,
  refObjId: p.refObjId,
  map: p.map,
  range: p.range,
  memSize: p.memSize,
  frameno: p.frameno,
  subprog: p.subprog,
  btfId: p.btfId,
  btfFlags: p.btfFlags,
});

const samePtr = (a: PtrInfo, b: PtrInfo): boolean =>
  a === b ||
  (a.rdonly === b.rdonly &&
    a.refObjId === b.refObjId &&
    a.map === b.map &&
    a.range === b.range &&
    a.memSize === b.memSize &&
    a.frameno === b.frameno &&
    a.subprog === b.subprog &&
    a.btfId === b.btfId &&
    a.btfFlags === b.btfFlags);

/**
 * One register's abstract value (`struct bpf_reg_state`). Mutable: states are copied on fork.
 *
 * The tnum and the four 64-bit bounds are held as numbers, each 64-bit value as the two
 * 32-bit halves of its bits (`…H`, `…L`), the 32-bit bounds as one number each, every one an
 * int32 (`x | 0`; unsigned readers take `x >>> 0`), which V8 keeps in the object itself where a
 * number from 2^31 up takes a heap box of its own: the range rules of bounds-fast.ts read and write these without converting,
 * where bigints would allocate at nearly every step. The bigint accessors (`umin`, `varOff`…)
 * serve the general rules of this file, which follow the kernel's 64-bit arithmetic literally.
 */
export class Reg implements Bounds {
  type: RegType;
  /** PTR_MAYBE_NULL */
  maybeNull = false;
  /** Fixed part of a pointer's offset. */
  off = 0;
  valH = 0;
  valL = 0;
  maskH = -1;
  maskL = -1;
  uminH = 0;
  uminL = 0;
  umaxH = -1;
  umaxL = -1;
  sminH = -0x80000000;
  sminL = 0;
  smaxH = 0x7fffffff;
  smaxL = -1;
  u32minN = 0;
  u32maxN = -1;
  s32minN = -0x80000000;
  s32maxN = 0x7fffffff;
  /** Shared by copies: null checks and packet ranges propagate to every register with it. */
  id = 0;
  /** Whether this scalar's exact value mattered for a decision (precision tracking). */
  precise = false;

  /** What only some pointers use, shared by copies (never changed in place: replaced). */
  ptr: PtrInfo = NO_PTR;

  constructor(type: RegType = 'not_init') {
    this.type = type;
  }

  /** MEM_RDONLY */
  get rdonly(): boolean {
    return this.ptr.rdonly;
  }
  set rdonly(v: boolean) {
    if (this.ptr.rdonly === v) return;
    const p = copyPtr(this.ptr);
    p.rdonly = v;
    this.ptr = p;
  }
  /** Reference (ringbuf record, socket) this pointer holds. */
  get refObjId(): number {
    return this.ptr.refObjId;
  }
  set refObjId(v: number) {
    if (this.ptr.refObjId === v) return;
    const p = copyPtr(this.ptr);
    p.refObjId = v;
    this.ptr = p;
  }
  /** Map index (map_ptr, map_value, map_key). */
  get map(): number {
    return this.ptr.map;
  }
  set map(v: number) {
    if (this.ptr.map === v) return;
    const p = copyPtr(this.ptr);
    p.map = v;
    this.ptr = p;
  }
  /** Packet bytes proven readable past `off` (pkt, pkt_meta); negative: AT/BEYOND pkt_end. */
  get range(): number {
    return this.ptr.range;
  }
  set range(v: number) {
    if (this.ptr.range === v) return;
    const p = copyPtr(this.ptr);
    p.range = v;
    this.ptr = p;
  }
  /** Size of the memory a `mem` pointer points to. */
  get memSize(): number {
    return this.ptr.memSize;
  }
  set memSize(v: number) {
    if (this.ptr.memSize === v) return;
    const p = copyPtr(this.ptr);
    p.memSize = v;
    this.ptr = p;
  }
  /** Frame of the stack a `fp` pointer points into. */
  get frameno(): number {
    return this.ptr.frameno;
  }
  set frameno(v: number) {
    if (this.ptr.frameno === v) return;
    const p = copyPtr(this.ptr);
    p.frameno = v;
    this.ptr = p;
  }
  /** Subprogram a `func` pointer names (its first slot). */
  get subprog(): number {
    return this.ptr.subprog;
  }
  set subprog(v: number) {
    if (this.ptr.subprog === v) return;
    const p = copyPtr(this.ptr);
    p.subprog = v;
    this.ptr = p;
  }
  /** `btf_id`: the struct it points to, a type id in the kernel's BTF (0: unknown). */
  get btfId(): number {
    return this.ptr.btfId;
  }
  set btfId(v: number) {
    if (this.ptr.btfId === v) return;
    const p = copyPtr(this.ptr);
    p.btfId = v;
    this.ptr = p;
  }
  /** `btf_id`: trust flags ({@link BtfFlag}: PTR_TRUSTED, MEM_RCU, PTR_UNTRUSTED…). */
  get btfFlags(): number {
    return this.ptr.btfFlags;
  }
  set btfFlags(v: number) {
    if (this.ptr.btfFlags === v) return;
    const p = copyPtr(this.ptr);
    p.btfFlags = v;
    this.ptr = p;
  }

  /** The variable part of a pointer's offset, a scalar's known bits (a new object per read). */
  get varOff(): Tnum {
    return { value: pairBig(this.valH, this.valL, false), mask: pairBig(this.maskH, this.maskL, false) };
  }
  set varOff(t: Tnum) {
    splitBig(t.value);
    this.valH = splitH;
    this.valL = splitL;
    splitBig(t.mask);
    this.maskH = splitH;
    this.maskL = splitL;
  }
  get umin(): bigint {
    return pairBig(this.uminH, this.uminL, false);
  }
  set umin(x: bigint) {
    splitBig(x);
    this.uminH = splitH;
    this.uminL = splitL;
  }
  get umax(): bigint {
    return pairBig(this.umaxH, this.umaxL, false);
  }
  set umax(x: bigint) {
    splitBig(x);
    this.umaxH = splitH;
    this.umaxL = splitL;
  }
  get smin(): bigint {
    return pairBig(this.sminH, this.sminL, true);
  }
  set smin(x: bigint) {
    splitBig(x);
    this.sminH = splitH;
    this.sminL = splitL;
  }
  get smax(): bigint {
    return pairBig(this.smaxH, this.smaxL, true);
  }
  set smax(x: bigint) {
    splitBig(x);
    this.smaxH = splitH;
    this.smaxL = splitL;
  }
  get u32min(): bigint {
    return big(this.u32minN >>> 0);
  }
  set u32min(x: bigint) {
    this.u32minN = int32Of(x);
  }
  get u32max(): bigint {
    return big(this.u32maxN >>> 0);
  }
  set u32max(x: bigint) {
    this.u32maxN = int32Of(x);
  }
  get s32min(): bigint {
    return big(this.s32minN);
  }
  set s32min(x: bigint) {
    this.s32minN = int32Of(x);
  }
  get s32max(): bigint {
    return big(this.s32maxN);
  }
  set s32max(x: bigint) {
    this.s32maxN = int32Of(x);
  }
}

/** The low 32 bits of `x` as an int32. */
const int32Of = (x: bigint): number =>
  x >= -0x80000000n && x <= 0xffffffffn ? Number(x) | 0 : Number(BigInt.asIntN(32, x));

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
  return new Reg(type);
}

/** A copy (field by field, {@link assignReg}: one object shape, much faster than a spread). */
export function copyReg(r: Reg): Reg {
  const c = new Reg(r.type);
  assignReg(c, r);
  return c;
}

/** Whether every field of `a` equals `b`'s. */
export function sameReg(a: Reg, b: Reg): boolean {
  return (
    a === b ||
    (a.type === b.type &&
      a.maybeNull === b.maybeNull &&
      a.off === b.off &&
      a.valH === b.valH &&
      a.valL === b.valL &&
      a.maskH === b.maskH &&
      a.maskL === b.maskL &&
      a.uminH === b.uminH &&
      a.uminL === b.uminL &&
      a.umaxH === b.umaxH &&
      a.umaxL === b.umaxL &&
      a.sminH === b.sminH &&
      a.sminL === b.sminL &&
      a.smaxH === b.smaxH &&
      a.smaxL === b.smaxL &&
      a.u32minN === b.u32minN &&
      a.u32maxN === b.u32maxN &&
      a.s32minN === b.s32minN &&
      a.s32maxN === b.s32maxN &&
      a.id === b.id &&
      a.precise === b.precise &&
      samePtr(a.ptr, b.ptr))
  );
}

/** Overwrite every field of `d` with `s`'s (`Object.assign(d, s)` without its cost). */
export function assignReg(d: Reg, s: Reg): void {
  d.type = s.type;
  d.maybeNull = s.maybeNull;
  d.off = s.off;
  d.valH = s.valH;
  d.valL = s.valL;
  d.maskH = s.maskH;
  d.maskL = s.maskL;
  d.uminH = s.uminH;
  d.uminL = s.uminL;
  d.umaxH = s.umaxH;
  d.umaxL = s.umaxL;
  d.sminH = s.sminH;
  d.sminL = s.sminL;
  d.smaxH = s.smaxH;
  d.smaxL = s.smaxL;
  d.u32minN = s.u32minN;
  d.u32maxN = s.u32maxN;
  d.s32minN = s.s32minN;
  d.s32maxN = s.s32maxN;
  d.id = s.id;
  d.precise = s.precise;
  d.ptr = s.ptr;
}

/** Reset to `newReg(type)` in place (what `Object.assign(r, newReg(type))` did). */
export function resetReg(r: Reg, type: RegType): void {
  r.type = type;
  r.maybeNull = false;
  r.off = 0;
  r.valH = r.valL = 0;
  r.maskH = r.maskL = -1;
  mark64Unbounded(r);
  mark32Unbounded(r);
  r.id = 0;
  r.precise = false;
  r.ptr = NO_PTR;
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
  splitBig(value);
  setKnownPair(r, splitH, splitL);
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
  r.sminH = -0x80000000;
  r.sminL = 0;
  r.smaxH = 0x7fffffff;
  r.smaxL = -1;
  r.uminH = r.uminL = 0;
  r.umaxH = r.umaxL = -1;
}

export function mark32Unbounded(r: Reg): void {
  r.s32minN = -0x80000000;
  r.s32maxN = 0x7fffffff;
  r.u32minN = 0;
  r.u32maxN = -1;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

function update32Bounds(r: Reg): void {
  // the subregister's value and mask, on the registers' int32 numbers
  const v = r.valL;
  const m = r.maskL;
  r.s32minN = Math.max(r.s32minN, v | (m & 0x80000000));
  r.s32maxN = Math.min(r.s32maxN, v | (m & 0x7fffffff));
  r.u32minN = Math.max(r.u32minN >>> 0, v >>> 0) | 0;
  r.u32maxN = Math.min(r.u32maxN >>> 0, (v | m) >>> 0) | 0;
}

function update64Bounds(r: Reg): void {
  const vh = r.valH;
  const vl = r.valL;
  const mh = r.maskH;
  const ml = r.maskL;
  // smin = max(smin, value | (mask & SIGN)), smax = min(smax, value | (mask & ~SIGN))
  let h = vh | (mh & 0x80000000);
  if (leS(r.sminH, r.sminL, h, vl)) {
    r.sminH = h;
    r.sminL = vl;
  }
  h = vh | (mh & 0x7fffffff);
  let l = vl | ml;
  if (leS(h, l, r.smaxH, r.smaxL)) {
    r.smaxH = h;
    r.smaxL = l;
  }
  if (leU(r.uminH, r.uminL, vh, vl)) {
    r.uminH = vh;
    r.uminL = vl;
  }
  h = vh | mh;
  l = vl | ml;
  if (leU(h, l, r.umaxH, r.umaxL)) {
    r.umaxH = h;
    r.umaxL = l;
  }
}

export function updateBounds(r: Reg): void {
  update32Bounds(r);
  update64Bounds(r);
}

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
  if (r.maskH !== 0 || r.maskL !== 0) return false;
  const h = r.valH;
  const l = r.valL;
  if (r.uminH !== h || r.uminL !== l || r.umaxH !== h || r.umaxL !== l) return false;
  if (r.sminH !== h || r.sminL !== l || r.smaxH !== h || r.smaxL !== l) return false;
  if (r.u32minN !== l || r.u32maxN !== l) return false;
  return r.s32minN === l && r.s32maxN === l;
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
  return (
    leU(r.uminH, r.uminL, r.umaxH, r.umaxL) &&
    leS(r.sminH, r.sminL, r.smaxH, r.smaxL) &&
    r.u32minN >>> 0 <= r.u32maxN >>> 0 &&
    r.s32minN <= r.s32maxN
  );
}

/** `zext_32_to_64`: a 32-bit result zero-extended into the whole register. */
export function zext32To64(r: Reg): void {
  r.valH = r.maskH = 0;
  r.uminH = r.umaxH = r.sminH = r.smaxH = 0;
  r.uminL = r.u32minN;
  r.umaxL = r.u32maxN;
  if (r.s32minN >= 0 && r.s32maxN >= 0) {
    r.sminL = r.s32minN;
    r.smaxL = r.s32maxN;
  } else {
    r.sminL = 0;
    r.smaxL = -1;
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
  if (isKnown(r)) {
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
  if (isKnown(r)) {
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
  return r.type === 'scalar' && (is32 ? isKnown32(r) : isKnown(r));
}

export function constValue(r: Reg, is32 = false): bigint {
  return is32 ? big(r.valL >>> 0) : tnumValue(r);
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
  const srcKnown = bits === 32 ? isKnown32(s) : isKnown(s);
  const dstKnown = bits === 32 ? isKnown32(d) : isKnown(d);
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
  const srcConst = alu32 ? isKnown32(s) : isKnown(s);
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
  if (srcConst && (alu32 ? isKnown32(d) : isKnown(d))) {
    // Both operands known: the general rules below would end in exactly this constant (each
    // tnum operation is exact on constants and the bounds collapse onto it), at several times
    // the cost; loops the verifier unrolls are mostly such arithmetic. On numbers when the
    // operands fit in 32 bits and the result in 53.
    const n = d.valH === 0 && s.valH === 0 ? constAluNumber(op, d.valL >>> 0, s.valL >>> 0, bits) : -1;
    if (n >= 0) setKnownNumber(d, n);
    else if (!constAluPair(d, s, op, bits)) setKnown(d, constAlu(op, tnumValue(d), tnumValue(s), bits));
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
  // the comparisons of a's minimum with b's maximum, and of a's maximum with b's minimum
  let minMax: number;
  let maxMin: number;
  const unsigned = op === 'jgt' || op === 'jlt' || op === 'jge' || op === 'jle';
  if (is32) {
    minMax = unsigned ? cmpN(r1.u32minN >>> 0, r2.u32maxN >>> 0) : cmpN(r1.s32minN, r2.s32maxN);
    maxMin = unsigned ? cmpN(r1.u32maxN >>> 0, r2.u32minN >>> 0) : cmpN(r1.s32maxN, r2.s32minN);
  } else if (unsigned) {
    minMax = cmpU(r1.uminH, r1.uminL, r2.umaxH, r2.umaxL);
    maxMin = cmpU(r1.umaxH, r1.umaxL, r2.uminH, r2.uminL);
  } else {
    minMax = cmpS(r1.sminH, r1.sminL, r2.smaxH, r2.smaxL);
    maxMin = cmpS(r1.smaxH, r1.smaxL, r2.sminH, r2.sminL);
  }
  switch (op) {
    case 'jgt':
    case 'jsgt':
      return minMax > 0 ? 1 : maxMin <= 0 ? 0 : -1;
    case 'jlt':
    case 'jslt':
      return maxMin < 0 ? 1 : minMax >= 0 ? 0 : -1;
    case 'jge':
    case 'jsge':
      return minMax >= 0 ? 1 : maxMin < 0 ? 0 : -1;
    default:
      return maxMin <= 0 ? 1 : minMax > 0 ? 0 : -1;
  }
}

const cmpN = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);
/** Unsigned comparison of 64-bit values as (int32) halves. */
const cmpU = (ah: number, al: number, bh: number, bl: number): number =>
  ah !== bh ? (ah >>> 0 < bh >>> 0 ? -1 : 1) : cmpN(al >>> 0, bl >>> 0);
/** Signed comparison of 64-bit values as (int32) halves. */
const cmpS = (ah: number, al: number, bh: number, bl: number): number =>
  ah !== bh ? (ah < bh ? -1 : 1) : cmpN(al >>> 0, bl >>> 0);

/** `regs_refine_cond_op`: narrow both registers assuming `r1 op r2` holds. */
export function refineCond(r1In: Reg, r2In: Reg, opIn: CondOp, is32: boolean): void {
  let r1 = r1In;
  let r2 = r2In;
  let op = opIn;
  if (op === 'jge' || op === 'jgt' || op === 'jsge' || op === 'jsgt') {
    op = FLIP[op];
    r1 = r2In;
    r2 = r1In;
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
    case 'jlt': {
      // r1 <= r2 (r1 < r2: r2's maximum less one, r1's minimum plus one, wrapping as u64/u32 do)
      const strict = op === 'jlt' ? 1 : 0;
      if (is32) {
        r1.u32maxN = Math.min(r1.u32maxN >>> 0, (r2.u32maxN - strict) >>> 0) | 0;
        r2.u32minN = Math.max((r1.u32minN + strict) >>> 0, r2.u32minN >>> 0) | 0;
      } else {
        stepPair(r2.umaxH, r2.umaxL, -strict);
        if (cmpU(stepH, stepL, r1.umaxH, r1.umaxL) < 0) {
          r1.umaxH = stepH;
          r1.umaxL = stepL;
        }
        stepPair(r1.uminH, r1.uminL, strict);
        if (cmpU(stepH, stepL, r2.uminH, r2.uminL) > 0) {
          r2.uminH = stepH;
          r2.uminL = stepL;
        }
      }
      break;
    }
    case 'jsle':
    case 'jslt': {
      const strict = op === 'jslt' ? 1 : 0;
      if (is32) {
        r1.s32maxN = Math.min(r1.s32maxN, (r2.s32maxN - strict) | 0);
        r2.s32minN = Math.max((r1.s32minN + strict) | 0, r2.s32minN);
      } else {
        stepPair(r2.smaxH, r2.smaxL, -strict);
        if (cmpS(stepH, stepL, r1.smaxH, r1.smaxL) < 0) {
          r1.smaxH = stepH;
          r1.smaxL = stepL;
        }
        stepPair(r1.sminH, r1.sminL, strict);
        if (cmpS(stepH, stepL, r2.sminH, r2.sminL) > 0) {
          r2.sminH = stepH;
          r2.sminL = stepL;
        }
      }
      break;
    }
  }
}

/** The halves {@link stepPair} made. */
let stepH = 0;
let stepL = 0;
/** `(h, l) + by` for `by` in -1..1, modulo 2^64, into stepH and stepL (int32 halves). */
function stepPair(h: number, l: number, by: number): void {
  const sum = (l >>> 0) + by;
  if (sum < 0) {
    stepH = (h - 1) | 0;
    stepL = -1;
  } else if (sum > 0xffffffff) {
    stepH = (h + 1) | 0;
    stepL = 0;
  } else {
    stepH = h;
    stepL = sum | 0;
  }
}

/** `range_within`: every value `cur` allows, `old` allows. */
export function rangeWithin(old: Reg, cur: Reg): boolean {
  return (
    leU(old.uminH, old.uminL, cur.uminH, cur.uminL) &&
    leU(cur.umaxH, cur.umaxL, old.umaxH, old.umaxL) &&
    leS(old.sminH, old.sminL, cur.sminH, cur.sminL) &&
    leS(cur.smaxH, cur.smaxL, old.smaxH, old.smaxL) &&
    old.u32minN >>> 0 <= cur.u32minN >>> 0 &&
    old.u32maxN >>> 0 >= cur.u32maxN >>> 0 &&
    old.s32minN <= cur.s32minN &&
    old.s32maxN >= cur.s32maxN
  );
}

/** `tnumIn(old.varOff, cur.varOff)`: every value `cur`'s tnum can hold, `old`'s can. */
export function tnumWithin(old: Reg, cur: Reg): boolean {
  if ((cur.maskH & ~old.maskH) !== 0 || (cur.maskL & ~old.maskL) !== 0) return false;
  return old.valH === (cur.valH & ~old.maskH) && old.valL === (cur.valL & ~old.maskL);
}

/** Whether the tnums of `a` and `b` are equal. */
export const sameTnum = (a: Reg, b: Reg): boolean =>
  a.valH === b.valH && a.valL === b.valL && a.maskH === b.maskH && a.maskL === b.maskL;

/** Whether `r`'s tnum is a known value (`tnum_is_const`). */
export const isKnown = (r: Reg): boolean => r.maskH === 0 && r.maskL === 0;

/** The value of `r`'s tnum (a bigint made at each call). */
export const tnumValue = (r: Reg): bigint => pairBig(r.valH, r.valL, false);

/** Whether `r`'s tnum is the known value 0. */
export const isZero = (r: Reg): boolean => (r.valH | r.valL | r.maskH | r.maskL) === 0;

/**
 * The tnum's value of `r` as a signed number (a known pointer offset): exact in (-2^53, 2^53),
 * where every offset an access can use lies.
 */
export const knownOffset = (r: Reg): number => r.valH * 2 ** 32 + (r.valL >>> 0);

/** `r.smin` as a number: exact in (-2^53, 2^53), rounded beyond. */
export const sminNumber = (r: Reg): number => r.sminH * 2 ** 32 + (r.sminL >>> 0);

/** Whether `r`'s low 32 bits are known (`tnum_subreg_is_const`). */
export const isKnown32 = (r: Reg): boolean => r.maskL === 0;

export { TNUM_UNKNOWN, tnumAdd, tnumConst, tnumIntersect, tnumIsConst, tnumRange, tnumSub, tnumSubreg };
