/**
 * Verifier states: registers and stack slots per call frame, acquired references, and the
 * checkpoint tree used for pruning (`struct bpf_verifier_state`, `struct bpf_func_state`).
 */
import { copyReg, newReg, type Reg } from './scalar.js';

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
  refs: Ref[];
  /** Nearest checkpoint on this path (pruning and loop detection). */
  parent: VState | null;
  /** Live paths below this checkpoint. */
  branches: number;
  /** Slot this state was checkpointed at. */
  insn: number;
  /**
   * Instructions executed since {@link parent} (for a checkpoint: from its parent to it), each
   * `slot * 1024 + stack`, where `stack` is 0 or `1 + frameno * 64 + spi` for a fixed-offset stack
   * access: what precision backtracking walks (the kernel's jump history, kept whole).
   */
  hist: number[];
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

export function copyFrame(f: Frame): Frame {
  const regs = new Array<Reg>(f.regs.length);
  for (let i = 0; i < regs.length; i++) regs[i] = copyReg(f.regs[i]);
  const stack = new Array<StackSlot>(f.stack.length);
  for (let i = 0; i < stack.length; i++) {
    const slot = f.stack[i];
    stack[i] = { types: slot.types.slice(), spilled: copyReg(slot.spilled) };
  }
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
  const frames = new Array<Frame>(s.frames.length);
  for (let i = 0; i < frames.length; i++) frames[i] = copyFrame(s.frames[i]);
  return {
    frames,
    refs: s.refs.slice(),
    parent: s.parent,
    branches: s.branches,
    insn: s.insn,
    hist: s.hist.slice(),
    precisionMemo: undefined,
    speculative: s.speculative,
  };
}

export const curFrame = (s: VState): Frame => s.frames[s.frames.length - 1];

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
