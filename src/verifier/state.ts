/**
 * Verifier states: registers and stack slots per call frame, acquired references, and the
 * checkpoint tree used for pruning (`struct bpf_verifier_state`, `struct bpf_func_state`).
 */
import { assignReg, copyReg, newReg, type Reg, resetReg, sameReg } from './scalar.js';

/** Byte kinds of a stack slot (`STACK_*`). */
export enum Stype {
  INVALID = 0,
  SPILL = 1,
  MISC = 2,
  ZERO = 3,
}

/**
 * An 8-byte stack slot. `types[j]` is the byte at `-(8 * spi + j + 1)` from the frame pointer, the
 * kernel's indexing, so `types[7]` is the slot's lowest address.
 */
export interface StackSlot {
  types: number[];
  spilled: Reg;
}

export interface Frame {
  regs: Reg[];
  stack: StackSlot[];
  /** Slot of the call instruction that created this frame (-1 for the main program). */
  callsite: number;
  frameno: number;
  /** Subprogram index. */
  subprog: number;
  /** For a callback frame (bpf_loop…): the helper's call slot, to resume after the callback. */
  callbackOf?: number;
  /** Callback iterations are verified once: whether this frame's return goes back to the helper. */
  inCallback?: boolean;
}

export interface Ref {
  readonly id: number;
  readonly insn: number;
}

export interface VState {
  frames: Frame[];
  /** Never changed in place (copies of a state share it): replaced. */
  refs: readonly Ref[];
  /** Nearest checkpoint on this path (pruning and loop detection). */
  parent: VState | null;
  /** Live paths below this checkpoint. */
  branches: number;
  /** Slot this state was checkpointed at. */
  insn: number;
  /**
   * Instructions executed since {@link parent} (for a checkpoint: from its parent to it): what
   * precision backtracking walks (the kernel's jump history, kept whole). See {@link histPush}.
   */
  hist: number[];
  /** How many instructions {@link hist} lists. */
  histLen: number;
  /**
   * Precision backtracking already done from this state (see `markPrecise` in check.ts): a walk
   * that started at `hist[len - 1]` with registers `mask` and stack slots `slots` went to its end
   * without falling back to marking everything. A later walk reaching the same entry with a
   * subset of those has nothing left to mark. Dropped when `hist` or `parent` change.
   */
  precisionMemo?: PrecisionMemo;
  /** A path only a mispredicted branch or masked arithmetic takes (Spectre v1, not `root`). */
  speculative?: boolean;
}

export interface PrecisionMemo {
  readonly len: number;
  readonly mask: number;
  readonly slots: readonly number[];
  readonly frames: number;
}

export function newStackSlot(): StackSlot {
  return { types: [0, 0, 0, 0, 0, 0, 0, 0], spilled: newReg() };
}

/**
 * The register no instruction has written, shared by the copies of states (push, checkpoint)
 * where they have one, instead of an object each: a branchy loop's copies are mostly such
 * registers. Nothing writes into it: a write to a register that may be uninitialised takes a
 * register of its own first (`writeCheck` in check.ts; the others write only to registers an
 * instruction read, or replace them), and `runCheck` checks it is untouched when it ends.
 */
export const NOT_INIT: Reg = newReg();

/** A frame of these registers with an empty stack (every frame has this one object shape). */
export function newFrame(regs: Reg[], callsite: number, frameno: number, subprog: number): Frame {
  return { regs, stack: [], callsite, frameno, subprog, callbackOf: undefined, inCallback: undefined };
}

/** The state entering a function at `insn` with frame `frame` (the shape of every state). */
export function newState(frame: Frame, insn: number): VState {
  return {
    frames: [frame],
    refs: [],
    parent: null,
    branches: 1,
    insn,
    hist: [],
    histLen: 0,
    precisionMemo: undefined,
    speculative: undefined,
  };
}

/**
 * Registers of states whose paths ended ({@link releaseState}), taken by the next copies: a
 * branchy loop pushes a state and ends another at every turn, and their allocation and
 * collection were a large part of its time.
 */
const pool: Reg[] = [];
const POOL_MAX = 4096;

/** A copy of register `r` for another state ({@link NOT_INIT} when it is uninitialised). */
function regCopy(r: Reg): Reg {
  if (r.type === 'not_init') return NOT_INIT;
  const c = pool.pop();
  if (c === undefined) return copyReg(r);
  assignReg(c, r);
  return c;
}

/**
 * Give the registers of `s`, a live state whose path ended, to the next copies. Nothing else
 * refers to them: a live state's registers and slots are its own (pushes and checkpoints copy
 * them; moves write into them). Each goes back once: its type becomes `not_init`, which the test
 * here skips.
 */
export function releaseState(s: VState): void {
  for (const f of s.frames) {
    for (const r of f.regs) release(r);
    for (const slot of f.stack) release(slot.spilled);
  }
  // the state itself (frames, slots, history) is taken whole by a later copyState
  if (statePool.length < STATE_POOL_MAX) statePool.push(s);
}

/** States whose paths ended, their objects reused by {@link copyState}. */
const statePool: VState[] = [];
const STATE_POOL_MAX = 64;

/** An uninitialised register of its own ({@link newReg}), from the pool when it has one. */
export function takeReg(): Reg {
  const r = pool.pop();
  if (r === undefined) return newReg();
  resetReg(r, 'not_init');
  return r;
}

function release(r: Reg): void {
  if (r.type === 'not_init' || pool.length >= POOL_MAX) return;
  r.type = 'not_init';
  pool.push(r);
}

/** A copy of frame `f` for another state. */
export const copyFrame = (f: Frame): Frame => copyFrameInto(newFrame([], 0, 0, 0), f);

/** {@link copyState} into `d`, a released or an empty state, reusing its objects. */
function copyStateInto(d: VState, s: VState): VState {
  const frames = d.frames;
  const n = s.frames.length;
  // (an array's length set when it changes only: the setter is a call into the runtime)
  for (let i = 0; i < n; i++)
    frames[i] = i < frames.length ? copyFrameInto(frames[i], s.frames[i]) : copyFrame(s.frames[i]);
  if (frames.length !== n) frames.length = n;
  d.refs = s.refs;
  d.parent = s.parent;
  d.branches = s.branches;
  d.insn = s.insn;
  // the history copied into the released state's array: a new array per copy, stored into a
  // reused (old-generation) state, made every young collection scan it
  const hist = d.hist;
  const from = s.hist;
  for (let k = 0; k < from.length; k++) hist[k] = from[k];
  while (hist.length > from.length) hist.pop();
  d.histLen = s.histLen;
  d.precisionMemo = undefined;
  d.speculative = s.speculative;
  return d;
}

/** {@link copyFrame} into `d`, a released or an empty frame, reusing its arrays and slots. */
function copyFrameInto(d: Frame, f: Frame): Frame {
  const regs = d.regs;
  for (let i = 0; i < f.regs.length; i++) regs[i] = regCopy(f.regs[i]);
  if (regs.length !== f.regs.length) regs.length = f.regs.length;
  const stack = d.stack;
  for (let i = 0; i < f.stack.length; i++) {
    const slot = f.stack[i];
    const to = i < stack.length ? stack[i] : undefined;
    if (to === undefined) stack[i] = { types: slot.types.slice(), spilled: regCopy(slot.spilled) };
    else {
      for (let j = 0; j < 8; j++) to.types[j] = slot.types[j];
      to.spilled = regCopy(slot.spilled);
    }
  }
  if (stack.length !== f.stack.length) stack.length = f.stack.length;
  d.callsite = f.callsite;
  d.frameno = f.frameno;
  d.subprog = f.subprog;
  d.callbackOf = f.callbackOf;
  d.inCallback = f.inCallback;
  return d;
}

/** Frame `f` with these registers and stack slots. */
function frameWith(f: Frame, regs: Reg[], stack: StackSlot[]): Frame {
  // an explicit literal: one object shape, where a spread of a frame with optional fields is not
  return {
    regs,
    stack,
    callsite: f.callsite,
    frameno: f.frameno,
    subprog: f.subprog,
    callbackOf: f.callbackOf,
    inCallback: f.inCallback,
  };
}

export function copyState(s: VState): VState {
  return copyStateInto(statePool.pop() ?? newState(newFrame([], 0, 0, 0), 0), s);
}

/**
 * A checkpoint of the live state `s` (`is_state_visited`'s copy): it takes `s.hist` (the caller
 * starts `s` a new one), and shares with `s.parent`, the checkpoint before it, every register
 * and stack slot equal to the one at the same place there instead of copying it. A loop's
 * checkpoints stay alive on the path's parent chain, and most of their registers do not change
 * from one to the next: copied, they were most of what the garbage collector moved. Checkpoints
 * are read-only but for precision marks, which replace a register before they set its flag
 * ({@link preciseReg}), so a shared object never changes.
 */
export function checkpointState(s: VState): VState {
  const prev = s.parent;
  const frames = new Array<Frame>(s.frames.length);
  for (let i = 0; i < frames.length; i++) {
    const f = s.frames[i];
    const pf = prev && i < prev.frames.length ? prev.frames[i] : undefined;
    const regs = new Array<Reg>(f.regs.length);
    for (let r = 0; r < regs.length; r++) {
      const old = pf?.regs[r];
      regs[r] = old && sameReg(old, f.regs[r]) ? old : regCopy(f.regs[r]);
    }
    const stack = new Array<StackSlot>(f.stack.length);
    for (let k = 0; k < stack.length; k++) {
      const slot = f.stack[k];
      const old = pf?.stack[k];
      stack[k] =
        old && sameTypes(old.types, slot.types) && sameReg(old.spilled, slot.spilled)
          ? old
          : { types: slot.types.slice(), spilled: regCopy(slot.spilled) };
    }
    frames[i] = frameWith(f, regs, stack);
  }
  return {
    frames,
    refs: s.refs,
    parent: prev,
    branches: s.branches,
    insn: s.insn,
    hist: s.hist,
    histLen: s.histLen,
    precisionMemo: undefined,
    speculative: s.speculative,
  };
}

function sameTypes(a: readonly number[], b: readonly number[]): boolean {
  for (let j = 0; j < 8; j++) if (a[j] !== b[j]) return false;
  return true;
}

/**
 * `reg` of a checkpoint, marked precise: a new object in its place (checkpoints share registers,
 * see {@link checkpointState}).
 */
export function preciseReg(reg: Reg): Reg {
  const c = copyReg(reg);
  c.precise = true;
  return c;
}

/** Mark precise the spilled register of stack slot `spi` of a checkpoint's frame `f`. */
export function preciseSpill(f: Frame, spi: number): void {
  const slot = f.stack[spi];
  f.stack[spi] = { types: slot.types, spilled: preciseReg(slot.spilled) };
}

export const curFrame = (s: VState): Frame => s.frames[s.frames.length - 1];

/**
 * Record instruction `slot` in `s.hist`, `stack` being 0 or `1 + frameno * 64 + spi` for a
 * fixed-offset stack access. An entry is `slot * 1024 + stack`; a negative entry `-n` after one
 * stands for the `n` instructions that followed it one slot after another, none touching the
 * stack: straight-line code takes one entry, where an entry per instruction made most of what a
 * long loop body allocated.
 */
export function histPush(s: VState, slot: number, stack: number): void {
  const h = s.hist;
  s.histLen++;
  const n = h.length;
  if (stack === 0 && n > 0) {
    const last = h[n - 1];
    if (last < 0) {
      if (Math.floor(h[n - 2] / 1024) - last + 1 === slot) {
        h[n - 1] = last - 1;
        return;
      }
    } else if (Math.floor(last / 1024) + 1 === slot) {
      h.push(-1);
      return;
    }
  }
  h.push(slot * 1024 + stack);
}

/**
 * Every register and spilled register in every frame (`bpf_for_each_reg_in_vstate`), as a fresh
 * array (cheaper to make and walk than a generator's steps).
 */
export function allRegs(s: VState): Reg[] {
  const out: Reg[] = [];
  for (const f of s.frames) {
    for (const r of f.regs) out.push(r);
    for (const slot of f.stack) if (slot.types[7] === Stype.SPILL) out.push(slot.spilled);
  }
  return out;
}
