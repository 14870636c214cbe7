/**
 * The facts' `constants`: per instruction, the registers it reads that hold one known scalar on
 * every path to it. The walk shows this module the registers of each instruction it processes
 * ({@link ConstantTracker.note}); a register seen with two values, or once not a known scalar,
 * is dropped for that instruction.
 *
 * Pruning makes that incomplete: a state pruned at a checkpoint is never walked on, because an
 * explored state covers it, and a covering state may hold other values in registers that were
 * not precise. So every instruction the program can reach from a checkpoint where a state was
 * pruned loses its constants: through jumps, into a function it calls (and back to every caller
 * of a function it returns from), into callbacks. What remains was seen on every path.
 */
import type { Insn } from '../isa/instruction.js';
import { PseudoSrc } from '../isa/opcodes.js';
import { jumpDest, type Slots, subprogOf, useDef } from './cfg.js';
import { type Reg, tnumValue } from './scalar.js';

/**
 * A known register's value as {@link ConstantTracker} records it: a number below 2^53 (no
 * allocation per instruction), a bigint above, so one value always has one form.
 */
const valueKey = (r: Reg): number | bigint =>
  r.valH >>> 0 < 0x200000 ? (r.valH >>> 0) * 2 ** 32 + (r.valL >>> 0) : tnumValue(r);

/** Registers the facts speak of: r0–r10. */
const REGS = 11;
/** A register shown with two values, or not a known scalar, at an instruction. */
const VARIES = null;

export class ConstantTracker {
  /** Per slot, the registers it reads (a bit mask). */
  private readonly uses: Uint16Array;
  /** `slot * REGS + reg`: undefined before any visit, the value seen, or VARIES. */
  private readonly seen: Array<number | bigint | typeof VARIES | undefined>;
  private readonly prunedAt: number[] = [];

  constructor(private readonly slots: Slots) {
    this.uses = new Uint16Array(slots.length);
    for (let t = 0; t < slots.length; t++) {
      const insn = slots[t];
      // r10 is a pointer: never a constant
      if (insn) this.uses[t] = useDef(insn).use & ~(1 << 10);
    }
    // filled, so that every tracker's array has one elements kind from the start
    this.seen = new Array(slots.length * REGS).fill(undefined);
  }

  /** The registers of the running frame before slot `pc` is processed. */
  note(pc: number, regs: readonly Reg[]): void {
    let use = this.uses[pc];
    for (let r = 0; use !== 0; r++, use >>>= 1) {
      if ((use & 1) === 0) continue;
      const k = pc * REGS + r;
      const was = this.seen[k];
      if (was === VARIES) continue;
      const reg = regs[r];
      const value = reg.type === 'scalar' && reg.maskH === 0 && reg.maskL === 0 ? valueKey(reg) : VARIES;
      this.seen[k] = was === undefined || was === value ? value : VARIES;
    }
  }

  /** A state was pruned at checkpoint `pc`. */
  pruned(pc: number): void {
    this.prunedAt.push(pc);
  }

  /** The constants, by instruction index (`insns`' order), of an accepted program. */
  facts(insns: readonly Insn[], subprogs: readonly number[]): Map<number, Map<number, bigint>> {
    const cut = this.reachableFromPrunes(subprogs);
    const out = new Map<number, Map<number, bigint>>();
    insns.forEach((insn, k) => {
      const t = insn.slot;
      if (cut[t] === 1) return;
      for (let r = 0; r < REGS; r++) {
        const value = this.seen[t * REGS + r];
        if (value === VARIES || value === undefined) continue;
        const regs = out.get(k) ?? new Map<number, bigint>();
        regs.set(r, BigInt(value));
        out.set(k, regs);
      }
    });
    return out;
  }

  /** Slots reachable from a slot where a state was pruned (1), over calls and returns too. */
  private reachableFromPrunes(subprogs: readonly number[]): Uint8Array {
    const { slots } = this;
    const n = slots.length;
    const cut = new Uint8Array(n);
    if (this.prunedAt.length === 0) return cut;
    // Where each function returns to: after each call of it; a callback, after every helper call.
    const returnsTo: number[][] = subprogs.map(() => []);
    const helperCalls: number[] = [];
    const callbacks = new Set<number>();
    for (let t = 0; t < n; t++) {
      const insn = slots[t];
      if (!insn) continue;
      if (insn.kind === 'call' && insn.form.target === 'local') {
        const callee = subprogs.indexOf(t + insn.imm + 1);
        if (callee >= 0) returnsTo[callee]!.push(t + 1);
      } else if (insn.kind === 'call') {
        helperCalls.push(t + 1);
      } else if (insn.kind === 'lddw' && insn.src === PseudoSrc.FUNC) {
        const callee = subprogs.indexOf(t + insn.imm + 1);
        if (callee >= 0) callbacks.add(callee);
      }
    }
    for (const callee of callbacks) returnsTo[callee]!.push(...helperCalls);
    const work = [...this.prunedAt];
    const reach = (t: number) => {
      if (t >= 0 && t < n && cut[t] === 0) {
        cut[t] = 1;
        work.push(t);
      }
    };
    for (const t of this.prunedAt) cut[t] = 1;
    while (work.length > 0) {
      const t = work.pop()!;
      const insn = slots[t];
      if (!insn) continue;
      if (insn.kind === 'exit') {
        for (const back of returnsTo[subprogOf(subprogs, t)] ?? []) reach(back);
      } else if (insn.kind === 'jmp') {
        reach(jumpDest(insn));
        if (insn.form.op !== 'ja') reach(t + 1);
      } else if (insn.kind === 'call' && insn.form.target === 'local') {
        reach(t + insn.imm + 1);
        reach(t + 1);
      } else if (insn.kind === 'lddw') {
        if (insn.src === PseudoSrc.FUNC) reach(t + insn.imm + 1);
        reach(t + 2);
      } else {
        reach(t + 1);
      }
    }
    return cut;
  }
}
