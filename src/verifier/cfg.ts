/**
 * Control-flow checks before any state is explored, as Linux's `check_subprogs` and `check_cfg`:
 * subprogram boundaries, jump ranges, the last instruction of each function, reachability, jumps
 * into the second slot of an `lddw`, back-edges (rejected without CAP_BPF), prune points, and
 * static register liveness (`compute_live_registers`, since 6.15).
 *
 * Everything here is indexed by *slot* (8-byte instruction unit), as the kernel counts.
 */
import type { Insn } from '../isa/instruction.js';
import { PseudoSrc } from '../isa/opcodes.js';

/** The program by slot: the instruction starting there, or `undefined` for an lddw second half. */
export type Slots = ReadonlyArray<Insn | undefined>;

export function toSlots(insns: readonly Insn[]): (Insn | undefined)[] {
  const slots: (Insn | undefined)[] = [];
  for (const insn of insns) {
    slots[insn.slot] = insn;
    if (insn.kind === 'lddw') slots[insn.slot + 1] = undefined;
  }
  for (let i = 0; i < slots.length; i++) if (!(i in slots)) slots[i] = undefined;
  return slots;
}

/** A CFG failure in the kernel's words. */
export interface CfgError {
  readonly message: string;
  readonly insn?: number;
}

/** What the CFG pass learned. */
export interface Cfg {
  /** Subprogram start slots, ascending; [0] is the main program. */
  readonly subprogs: readonly number[];
  /** Prune points: slots where states are checkpointed and compared. */
  readonly prunePoints: ReadonlySet<number>;
  /** Jump points: branch targets (jump history). */
  readonly jmpPoints: ReadonlySet<number>;
  /** Per slot: bit mask of registers live before it. */
  readonly liveBefore: Uint16Array;
  /**
   * Per slot: stack slots of the running frame that may be read after it, two 32-bit words per
   * slot (`spi` 0–31, 32–63); see {@link computeLiveStack}.
   */
  readonly liveStack: Uint32Array;
}

const isCondJmp = (i: Insn): boolean => i.kind === 'jmp' && i.form.op !== 'ja';
const isJa = (i: Insn): boolean => i.kind === 'jmp' && i.form.op === 'ja';
const isLocalCall = (i: Insn): boolean => i.kind === 'call' && i.form.target === 'local';
const isPseudoFunc = (i: Insn): boolean => i.kind === 'lddw' && i.src === PseudoSrc.FUNC;

/** The slot a jump lands on (`ja` with 32-bit offset reads imm). */
export function jumpDest(i: Insn): number {
  const off = i.kind === 'jmp' && i.form.op === 'ja' && i.form.bits === 32 ? i.imm : i.off;
  return i.slot + off + 1;
}

/** Subprogram of a slot: the last start at or before it. */
export function subprogOf(subprogs: readonly number[], slot: number): number {
  let k = 0;
  for (let j = 0; j < subprogs.length; j++) if (subprogs[j] <= slot) k = j;
  return k;
}

/** Run the kernel's CFG checks; `allowBackEdges` is CAP_BPF. */
/**
 * check_abnormal_return: without BTF func_info, a subprogram (other than the main one) may hold
 * neither LD_ABS/LD_IND (its hidden exit needs the function's return type) nor a tail call.
 */
export function abnormalReturn(slots: Slots, subprogs: readonly number[]): string | undefined {
  for (const i of slots) {
    if (!i || subprogOf(subprogs, i.slot) === 0) continue;
    if (i.kind === 'ldabs' || i.kind === 'ldind') return 'LD_ABS is not allowed in subprogs without BTF';
    if (i.kind === 'call' && i.form.target === 'helper' && i.imm === 12)
      return 'tail_call is not allowed in subprogs without BTF';
  }
  return undefined;
}

export function checkCfg(
  slots: Slots,
  allowBackEdges: boolean,
  helperArgs: (id: number) => number | undefined = () => undefined,
): Cfg | CfgError {
  const n = slots.length;
  // add_subprog_and_kfunc: call targets and pseudo-func targets start subprograms.
  const starts = new Set<number>().add(0);
  for (const i of slots) {
    if (!i) continue;
    if (isLocalCall(i) || isPseudoFunc(i)) {
      const t = i.slot + i.imm + 1;
      if (t < 0 || t >= n)
        return {
          message: isLocalCall(i) ? 'call to invalid destination' : 'function pointer to invalid destination',
        };
      starts.add(t);
    }
  }
  const subprogs = starts.size === 1 ? [0] : [...starts].sort((a, b) => a - b);
  // check_subprogs: jumps stay in their function, each function ends in exit or ja.
  let sp = 0;
  for (let k = 0; k < n; k++) {
    const i = slots[k];
    const end = sp + 1 < subprogs.length ? subprogs[sp + 1] : n;
    if (i && i.kind === 'jmp') {
      const t = jumpDest(i);
      if (t < subprogs[sp] || t >= end) return { message: `jump out of range from insn ${k} to ${t}` };
    }
    if (k === end - 1) {
      const last = slots[k] ?? slots[k - 1];
      if (!last || !(last.kind === 'exit' || isJa(last)))
        return { message: 'last insn is not an exit or jmp' };
      sp++;
    }
  }
  // check_cfg: depth-first walk from slot 0 over each slot's (at most two) successors.
  const edges = cfgEdges(slots);
  const state = new Uint8Array(n); // 0 new, 1 discovered, 2 explored
  const prunePoints = new Set<number>();
  const jmpPoints = new Set<number>();
  const stack: number[] = [0];
  const nextEdge = new Uint8Array(n);
  state[0] = 1;
  for (let t = 0; t < n; t++) {
    const i = slots[t];
    if (!i) continue;
    // visit_func_call_insn: the instruction after a call is a prune and jump point; a local call
    // (and a pseudo-func load) is a prune point itself, and so is its callee's entry (push_insn
    // marks every BRANCH edge's target)
    if (i.kind === 'call' || i.kind === 'callx') {
      prunePoints.add(t + 1);
      jmpPoints.add(t + 1);
      if (isLocalCall(i)) {
        prunePoints.add(t);
        prunePoints.add(t + i.imm + 1);
        jmpPoints.add(t + i.imm + 1);
      }
    }
    if (isJa(i)) {
      prunePoints.add(jumpDest(i));
      jmpPoints.add(jumpDest(i));
    }
    if (isCondJmp(i)) {
      prunePoints.add(t);
      prunePoints.add(jumpDest(i));
      jmpPoints.add(jumpDest(i));
    }
    if (isPseudoFunc(i)) {
      prunePoints.add(t);
      prunePoints.add(t + 2);
      jmpPoints.add(t + 2);
      prunePoints.add(t + i.imm + 1);
      jmpPoints.add(t + i.imm + 1);
    }
  }
  while (stack.length) {
    const t = stack[stack.length - 1];
    let pushed = false;
    while (nextEdge[t] < 2 && !Number.isNaN(edges[2 * t + nextEdge[t]])) {
      const w = edges[2 * t + nextEdge[t]++];
      if (w < 0 || w >= n) return { message: `jump out of range from insn ${t} to ${w}` };
      if (state[w] === 0) {
        state[w] = 1;
        stack.push(w);
        pushed = true;
        break;
      }
      if (state[w] === 1 && !allowBackEdges) return { message: `back-edge from insn ${t} to ${w}` };
    }
    if (!pushed) {
      state[t] = 2;
      stack.pop();
    }
  }
  for (let k = 0; k < n; k++) {
    if (state[k] !== 2) return { message: `unreachable insn ${k}` };
    const i = slots[k];
    if (i?.kind === 'lddw') {
      if (state[k + 1] !== 0 && jumpsInto(slots, k + 1))
        return { message: `jump into the middle of ldimm64 insn ${k}` };
      k++;
    }
  }
  const inFrame = frameEdges(slots);
  return {
    subprogs,
    prunePoints,
    jmpPoints,
    liveStack: computeLiveStack(slots, inFrame),
    liveBefore: computeLiveRegs(slots, helperArgs, inFrame),
  };
}

/**
 * Each slot's successors for check_cfg's walk, at most two (slot `t`'s at `2t` and `2t + 1`, NaN
 * for none): calls go on to the next instruction and into their callee, so do pseudo-func loads.
 */
function cfgEdges(slots: Slots): Float64Array {
  const n = slots.length;
  const edges = new Float64Array(2 * n).fill(Number.NaN);
  for (let t = 0; t < n; t++) {
    const i = slots[t];
    let a = t + 1;
    let b = Number.NaN;
    if (!i) {
      if (t + 1 >= n) continue;
    } else if (i.kind === 'exit') continue;
    else if (i.kind === 'call') {
      if (isLocalCall(i)) b = t + i.imm + 1;
    } else if (isPseudoFunc(i)) {
      a = t + 2;
      b = t + i.imm + 1;
    } else if (i.kind === 'lddw') a = t + 2;
    else if (isJa(i)) a = jumpDest(i);
    else if (isCondJmp(i)) b = jumpDest(i);
    edges[2 * t] = a;
    edges[2 * t + 1] = b;
  }
  return edges;
}

function jumpsInto(slots: Slots, target: number): boolean {
  for (const i of slots) if (i && (i.kind === 'jmp' ? jumpDest(i) === target : false)) return true;
  return false;
}

const bit = (r: number): number => 1 << r;

/** Registers an instruction reads (bit mask), for static liveness. */
function useMask(i: Insn): number {
  switch (i.kind) {
    case 'alu': {
      const f = i.form;
      if (f.op === 'mov' || f.op === 'movsx') return f.source === 'reg' ? bit(i.src) : 0;
      if (f.op === 'neg') return bit(i.dst);
      return bit(i.dst) | (f.source === 'reg' ? bit(i.src) : 0);
    }
    case 'end':
      return bit(i.dst);
    case 'jmp':
      if (i.form.op === 'ja') return 0;
      return bit(i.dst) | (i.form.source === 'reg' ? bit(i.src) : 0);
    case 'call':
      // Helpers read r1-r5 conservatively (Linux uses each helper's argument count)
      return 0b111110;
    case 'callx':
      return 0b111110 | bit(i.dst);
    case 'exit':
      return 1;
    case 'lddw':
      return 0;
    case 'ldx':
      return bit(i.src);
    case 'st':
      return bit(i.dst);
    case 'stx':
      return bit(i.dst) | bit(i.src);
    case 'atomic': {
      const f = i.form;
      if (f.op === 'load_acquire') return bit(i.src);
      if (f.op === 'store_release') return bit(i.dst) | bit(i.src);
      return bit(i.dst) | bit(i.src) | (f.op === 'cmpxchg' ? 1 : 0);
    }
    case 'ldabs':
      return bit(6);
    case 'ldind':
      return bit(6) | bit(i.src);
  }
}

/** Registers an instruction writes (bit mask), for static liveness; calls clobber r0-r5. */
function defMask(i: Insn): number {
  switch (i.kind) {
    case 'alu':
    case 'end':
    case 'lddw':
    case 'ldx':
      return bit(i.dst);
    case 'call':
    case 'callx':
    case 'ldabs':
    case 'ldind':
      return 0b111111;
    case 'atomic': {
      const f = i.form;
      if (f.op === 'load_acquire') return bit(i.dst);
      if (f.op === 'store_release') return 0;
      return f.op === 'cmpxchg' ? 1 : f.fetch ? bit(i.src) : 0;
    }
    default:
      return 0;
  }
}

/** Registers an instruction reads and writes (bit masks), for static liveness. */
export function useDef(i: Insn): { use: number; def: number } {
  return { use: useMask(i), def: defMask(i) };
}

/**
 * Where control goes after each slot within its frame (calls return to t + 1): at most two
 * successors, slot `t`'s at `2t` and `2t + 1`, -1 for none (out-of-range ones are dropped).
 */
function frameEdges(slots: Slots): Int32Array {
  const n = slots.length;
  const edges = new Int32Array(2 * n).fill(-1);
  for (let t = 0; t < n; t++) {
    const i = slots[t];
    if (!i || i.kind === 'exit') continue;
    const ja = i.kind === 'jmp' && i.form.op === 'ja';
    const a = i.kind === 'lddw' ? t + 2 : ja ? jumpDest(i) : t + 1;
    const b = i.kind === 'jmp' && !ja ? jumpDest(i) : -1;
    if (a >= 0 && a < n) edges[2 * t] = a;
    if (b >= 0 && b < n) edges[2 * t + 1] = b;
  }
  return edges;
}

/**
 * Backward dataflow: registers live before each slot (r10 always). A helper call reads only its
 * arguments when `helperArgs` knows their number (compute_live_registers uses the prototype).
 */
export function computeLiveRegs(
  slots: Slots,
  helperArgs: (id: number) => number | undefined = () => undefined,
  edges: Int32Array = frameEdges(slots),
): Uint16Array {
  const n = slots.length;
  const use = new Uint16Array(n);
  const keep = new Uint16Array(n);
  for (let t = 0; t < n; t++) {
    const i = slots[t];
    if (!i) continue;
    const args = i.kind === 'call' && i.form.target === 'helper' ? helperArgs(i.imm) : undefined;
    use[t] = args === undefined ? useMask(i) : ((1 << args) - 1) << 1;
    keep[t] = ~(args === undefined ? defMask(i) : 0b111111) & 0x7ff;
  }
  const live = new Uint16Array(n);
  let changed = true;
  while (changed) {
    changed = false;
    for (let t = n - 1; t >= 0; t--) {
      if (!slots[t]) continue;
      const a = edges[2 * t];
      const b = edges[2 * t + 1];
      const out = (a < 0 ? 0 : live[a]) | (b < 0 ? 0 : live[b]);
      const v = (use[t] | (out & keep[t])) & 0x7ff;
      if (v !== live[t]) {
        live[t] = v;
        changed = true;
      }
    }
  }
  return live;
}

/**
 * Stack slots of the running frame that may still be read before each slot: Linux 6.18 drops the
 * others from checkpoints (`bpf_stack_slot_alive`, `kernel/bpf/liveness.c`), so they do not stop
 * pruning. Linux learns which slots helpers and pointers reach while it verifies; this static
 * version only follows `r10`-based accesses and counts every slot live before any instruction
 * whose reach it cannot see (a call, an access through another register), so it never calls a
 * slot dead that Linux keeps. An aligned 8-byte store through `r10` overwrites its slot; `exit`
 * ends the frame.
 */
export function computeLiveStack(slots: Slots, edges: Int32Array = frameEdges(slots)): Uint32Array {
  const n = slots.length;
  const live = new Uint32Array(2 * n);
  const ALL = 0xffffffff;
  let changed = true;
  while (changed) {
    changed = false;
    for (let t = n - 1; t >= 0; t--) {
      const i = slots[t];
      if (!i) continue;
      let lo = 0;
      let hi = 0;
      for (let e = 2 * t; e < 2 * t + 2; e++) {
        const s = edges[e];
        if (s < 0) continue;
        lo |= live[2 * s];
        hi |= live[2 * s + 1];
      }
      switch (i.kind) {
        case 'ldx':
        case 'atomic':
        case 'st':
        case 'stx': {
          const size = i.form.size;
          const readsSrc = i.kind === 'ldx' || (i.kind === 'atomic' && i.form.op === 'load_acquire');
          const base = readsSrc ? i.src : i.dst;
          // the slots an r10-based access [off, off + size) touches; any other reaches anywhere
          const off = i.off;
          if (base !== 10 || off >= 0 || off < -512 || off + size > 0) {
            lo = ALL;
            hi = ALL;
            break;
          }
          let reachLo = 0;
          let reachHi = 0;
          for (let b = off; b < off + size; b++) {
            const spi = (-b - 1) >> 3;
            if (spi < 32) reachLo |= 1 << spi;
            else reachHi |= 1 << (spi - 32);
          }
          if (i.kind === 'ldx' || i.kind === 'atomic') {
            lo |= reachLo;
            hi |= reachHi;
          } else if (size === 8 && off % 8 === 0) {
            lo &= ~reachLo;
            hi &= ~reachHi;
          }
          break;
        }
        case 'call':
        case 'callx':
          lo = ALL;
          hi = ALL;
          break;
        case 'exit':
          lo = 0;
          hi = 0;
          break;
        default:
          break;
      }
      if (lo >>> 0 !== live[2 * t] || hi >>> 0 !== live[2 * t + 1]) {
        live[2 * t] = lo;
        live[2 * t + 1] = hi;
        changed = true;
      }
    }
  }
  return live;
}
