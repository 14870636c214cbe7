/**
 * The stack-liveness bookkeeping Linux 6.18 does beside the walk (`kernel/bpf/liveness.c`), kept
 * here for what it prints at log level 2: per call chain ("function instance"), each instruction
 * collects the stack slots it may read and must write; when a path ends or a subprogram returns,
 * the instances that changed are brought to a fixed point (live-before = reads ∪ (live-after −
 * writes); must-write-accumulated = writes ∪ ⋂ successors'), and every change of either set at an
 * instruction that touches the stack, starts the subprogram or is a prune point is logged:
 *
 *   (0) frame 0 insn 6 +live -8
 *   (9,15) frame 0 insn 20 +written -8
 *   (0) live stack update done in 2 iterations
 *
 * A call chain prints as the call instructions leading to the subprogram, then its first
 * instruction. Changes found in a subprogram's entry are passed on to its call instruction in the
 * caller's instance. Our pruning does not use these sets: only the log does.
 */
import type { Insn } from '../isa/instruction.js';
import type { VState } from './state.js';

/** One instruction's sets for one frame, as 64-bit stack-slot masks (bit i: `fp-8*(i+1)`). */
interface Masks {
  mayRead: bigint;
  mustWrite: bigint;
  mustWriteAcc: bigint;
  liveBefore: bigint;
}

/** A subprogram's sets under one call chain (`struct func_instance`). */
interface Instance {
  /** Call instructions of the outer frames, then the subprogram's first instruction. */
  readonly chain: readonly number[];
  readonly start: number;
  /** Per frame of the chain (allocated when first touched), per instruction of the subprogram. */
  readonly frames: (Masks[] | undefined)[];
  /** Per instruction: `must_write` was set once (later visits intersect). */
  readonly mustWriteSet: boolean[];
  updated: boolean;
  mustWriteDropped: boolean;
}

const ALL = (1n << 64n) - 1n;

/** `bpf_insn_successors`: fallthrough first, then the jump target. */
function successors(slots: readonly (Insn | undefined)[], pc: number): number[] {
  const insn = slots[pc];
  if (!insn) return [];
  const next = pc + (insn.kind === 'lddw' ? 2 : 1);
  if (insn.kind === 'exit') return [];
  if (insn.kind !== 'jmp') return [next];
  const target = pc + (insn.form.op === 'ja' && insn.form.bits === 32 ? insn.imm : insn.off) + 1;
  return insn.form.op === 'ja' ? [target] : [next, target];
}

/**
 * `compute_postorder`: per subprogram, its instructions in the post order of a depth-first walk
 * from its start that pushes every undiscovered successor at once (so the last pushed is explored
 * first).
 */
function postorder(slots: readonly (Insn | undefined)[], starts: readonly number[]): number[][] {
  const DISCOVERED = 1;
  const EXPLORED = 2;
  const state = new Uint8Array(slots.length);
  return starts.map((start) => {
    const order: number[] = [];
    const stack = [start];
    while (stack.length) {
      const top = stack[stack.length - 1];
      state[top] |= DISCOVERED;
      if (state[top] & EXPLORED) {
        order.push(top);
        stack.pop();
        continue;
      }
      for (const t of successors(slots, top)) {
        if (t < 0 || t >= slots.length || state[t]) continue;
        stack.push(t);
        state[t] |= DISCOVERED;
      }
      state[top] |= EXPLORED;
    }
    return order;
  });
}

/** `bpf_fmt_stack_mask`: the slots' offsets, lowest slot first (`-8,-24`). */
function maskText(mask: bigint): string {
  const offs: number[] = [];
  for (let i = 0; mask >> BigInt(i); i++) if ((mask >> BigInt(i)) & 1n) offs.push(-(i + 1) * 8);
  return offs.join(',');
}

const emptyMasks = (): Masks => ({ mayRead: 0n, mustWrite: 0n, mustWriteAcc: 0n, liveBefore: 0n });

export class StackLiveness {
  private readonly instances = new Map<string, Instance>();
  private readonly order: number[][];
  /** The instance of the walk's current state (`cur_instance`); reset at calls and updates. */
  private cur: Instance | undefined;
  private writeInsn = 0;
  private writeAcc: bigint[] = [];

  constructor(
    private readonly slots: readonly (Insn | undefined)[],
    private readonly starts: readonly number[],
    private readonly prunePoints: ReadonlySet<number>,
    private readonly say: (line: string) => void,
  ) {
    this.order = postorder(slots, starts);
  }

  private subprogOf(start: number): number {
    return this.starts.indexOf(start);
  }

  private lookup(chain: readonly number[]): Instance {
    const key = chain.join(',');
    let inst = this.instances.get(key);
    if (!inst) {
      const start = chain[chain.length - 1];
      const k = this.subprogOf(start);
      const len = (this.starts[k + 1] ?? this.slots.length) - start;
      inst = {
        chain: [...chain],
        start,
        frames: [],
        mustWriteSet: new Array<boolean>(len).fill(false),
        updated: false,
        mustWriteDropped: false,
      };
      this.instances.set(key, inst);
    }
    return inst;
  }

  /** `compute_callchain`: the call chain of `s` down to frame `depth`. */
  private chainOf(s: VState, depth: number): number[] {
    const chain: number[] = [];
    for (let i = 0; i < depth; i++) chain.push(s.frames[i + 1].callsite);
    chain.push(this.starts[s.frames[depth].subprog]);
    return chain;
  }

  private ensure(s: VState): Instance {
    this.cur ??= this.lookup(this.chainOf(s, s.frames.length - 1));
    return this.cur;
  }

  private masks(inst: Instance, frame: number, pc: number): Masks {
    let arr = inst.frames[frame];
    if (!arr) {
      arr = Array.from({ length: inst.mustWriteSet.length }, emptyMasks);
      inst.frames[frame] = arr;
    }
    return arr[pc - inst.start];
  }

  private markRead(inst: Instance, frame: number, pc: number, mask: bigint): void {
    const m = this.masks(inst, frame, pc);
    const now = m.mayRead | mask;
    if (now !== m.mayRead && (now | m.liveBefore) !== m.liveBefore) inst.updated = true;
    m.mayRead = now;
  }

  /** Slot `spi` of frame `frame` is read by the instruction at `pc` (`bpf_mark_stack_read`). */
  read(s: VState, frame: number, pc: number, spi: number): void {
    this.markRead(this.ensure(s), frame, pc, 1n << BigInt(spi));
  }

  /** Slot `spi` of frame `frame` is written whole by this instruction (`bpf_mark_stack_write`). */
  write(frame: number, spi: number): void {
    this.writeAcc[frame] = (this.writeAcc[frame] ?? 0n) | (1n << BigInt(spi));
  }

  private resetWrites(inst: Instance, pc: number): void {
    this.writeInsn = pc;
    this.writeAcc = new Array<bigint>(inst.chain.length).fill(0n);
  }

  /** Before an instruction (`bpf_reset_stack_write_marks`). */
  begin(s: VState, pc: number): void {
    this.resetWrites(this.ensure(s), pc);
  }

  private commitTo(inst: Instance | undefined): void {
    if (!inst) return;
    const idx = this.writeInsn - inst.start;
    for (let frame = 0; frame < inst.chain.length; frame++) {
      let mask = this.writeAcc[frame] ?? 0n;
      if (mask === 0n && !inst.mustWriteSet[idx]) continue;
      const m = this.masks(inst, frame, this.writeInsn);
      const old = m.mustWrite;
      if (inst.mustWriteSet[idx]) mask &= old;
      if (old !== mask) {
        m.mustWrite = mask;
        inst.updated = true;
      }
      if (old & ~mask) inst.mustWriteDropped = true;
    }
    inst.mustWriteSet[idx] = true;
    this.writeInsn = 0;
  }

  /** After an instruction checked without error (`bpf_commit_stack_write_marks`). */
  commit(): void {
    this.commitTo(this.cur);
  }

  /** The walk entered a subprogram (`bpf_reset_live_stack_callchain`). */
  enter(): void {
    this.cur = undefined;
  }

  /** A path ended or a subprogram returns (`bpf_update_live_stack`): innermost frame first. */
  update(s: VState): void {
    this.cur = undefined;
    for (let depth = s.frames.length - 1; depth >= 0; depth--) {
      const inst = this.lookup(this.chainOf(s, depth));
      if (!inst.updated) continue;
      this.updateInstance(inst);
      inst.updated = false;
      inst.mustWriteDropped = false;
    }
  }

  private chainText(inst: Instance): string {
    return `(${inst.chain.join(',')})`;
  }

  private logChange(inst: Instance, what: string, frame: number, pc: number, old: bigint, now: bigint): void {
    const changed = old ^ now;
    if (!changed) return;
    const ones = now & changed;
    const zeros = ~now & changed & ALL;
    let line = `${this.chainText(inst)} frame ${frame} insn ${pc} `;
    if (ones) line += `+${what} ${maskText(ones)} `;
    if (zeros) line += `-${what} ${maskText(zeros)}`;
    this.say(line);
  }

  private updateInsn(inst: Instance, frame: number, pc: number): boolean {
    const succ = successors(this.slots, pc);
    if (succ.length === 0) return false;
    const m = this.masks(inst, frame, pc);
    let after = 0n;
    let acc = ALL;
    for (const t of succ) {
      const n = this.masks(inst, frame, t);
      after |= n.liveBefore;
      acc &= n.mustWriteAcc;
    }
    acc |= m.mustWrite;
    const before = (after & ~m.mustWrite) | m.mayRead;
    const changed = before !== m.liveBefore || acc !== m.mustWriteAcc;
    if (m.mayRead || m.mustWrite || pc === inst.start || this.prunePoints.has(pc)) {
      this.logChange(inst, 'live', frame, pc, m.liveBefore, before);
      this.logChange(inst, 'written', frame, pc, m.mustWriteAcc, acc);
    }
    m.liveBefore = before;
    m.mustWriteAcc = acc;
    return changed;
  }

  /** `update_instance`: the fixed point, then the entry's sets passed on to the call site. */
  private updateInstance(inst: Instance): void {
    if (inst.mustWriteDropped)
      for (const arr of inst.frames) if (arr) for (const m of arr) m.mustWriteAcc = 0n;
    const order = this.order[this.subprogOf(inst.start)];
    let iterations = 0;
    for (let changed = true; changed; ) {
      iterations++;
      changed = false;
      for (let frame = 0; frame < inst.chain.length; frame++) {
        if (!inst.frames[frame]) continue;
        for (const pc of order) changed = this.updateInsn(inst, frame, pc) || changed;
      }
    }
    this.say(`${this.chainText(inst)} live stack update done in ${iterations} iterations`);
    const depth = inst.chain.length - 1;
    if (depth === 0) return;
    // propagate_to_outer_instance
    const outerChain = inst.chain.slice(0, depth - 1);
    const callsite = inst.chain[depth - 1];
    const outerStart = this.outerStart(inst);
    outerChain.push(outerStart);
    const outer = this.lookup(outerChain);
    this.resetWrites(outer, callsite);
    for (let frame = 0; frame < depth; frame++) {
      const arr = inst.frames[frame];
      if (!arr) continue;
      const entry = arr[0];
      this.writeAcc[frame] |= entry.mustWriteAcc;
      this.markRead(outer, frame, callsite, entry.liveBefore);
    }
    this.commitTo(outer);
  }

  /** The first instruction of the subprogram holding the call that starts `inst`. */
  private outerStart(inst: Instance): number {
    const callsite = inst.chain[inst.chain.length - 2];
    let start = 0;
    for (const st of this.starts) if (st <= callsite) start = st;
    return start;
  }
}
