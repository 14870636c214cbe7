/**
 * The control-flow graph the JIT compiles from: basic blocks over instruction indices, one
 * function per entry (slot 0, bpf-to-bpf call targets, callback addresses), and per function
 * the reverse postorder, dominator tree, loop headers and reducibility that the stackifier needs.
 *
 * A block ends at a jump, an exit, or a call (a call's continuation is where the budget is checked
 * again). The slot after the last instruction is a block of its own, the "fell off the end"
 * pseudo-instruction, which the interpreter also counts and faults at.
 */
import type { Insn } from '../isa/instruction.js';
import { PseudoSrc } from '../isa/opcodes.js';

export type Terminator = 'jump' | 'cond' | 'exit' | 'call' | 'fall' | 'felloff';

export interface Block {
  readonly id: number;
  /** First instruction index; for the fell-off block, `insns.length`. */
  readonly start: number;
  /** One past the last instruction index (the terminator is `end - 1`). */
  readonly end: number;
  readonly term: Terminator;
  /** Successor block ids: `[taken, fallthrough]` for conditional jumps. */
  readonly succs: readonly number[];
}

export interface Cfg {
  readonly blocks: readonly Block[];
  /** Block id by instruction index (the fell-off block at `insns.length`). */
  readonly blockAt: Int32Array;
  /** Instruction index by slot, -1 inside an lddw; `slots` maps to `insns.length`. */
  readonly indexOfSlot: Int32Array;
  /** Entry instruction indices of every function, slot 0 first. */
  readonly entries: readonly number[];
}

/** The slot a jump, local call or lddw FUNC refers to, if the instruction is one. */
export function targetSlot(insn: Insn): number | undefined {
  if (insn.kind === 'jmp')
    return insn.slot + 1 + (insn.form.op === 'ja' && insn.form.bits === 32 ? insn.imm : insn.off);
  if (insn.kind === 'call' && insn.form.target === 'local') return insn.slot + 1 + insn.imm;
  if (insn.kind === 'lddw' && insn.form.pseudo === PseudoSrc.FUNC) return insn.slot + 1 + insn.imm;
  return undefined;
}

/** Split a program (already checked by the interpreter's `compile`) into basic blocks. */
export function buildCfg(insns: readonly Insn[], slots: number): Cfg {
  const n = insns.length;
  const indexOfSlot = new Int32Array(slots + 1).fill(-1);
  insns.forEach((insn, i) => {
    indexOfSlot[insn.slot] = i;
  });
  indexOfSlot[slots] = n;
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  leader[n] = 1;
  const entries = [0];
  const at = (slot: number) => {
    const index = slot >= 0 && slot <= slots ? indexOfSlot[slot] : -1;
    if (index < 0) throw new Error(`jit: target slot ${slot} is not an instruction`);
    return index;
  };
  for (let i = 0; i < n; i++) {
    const insn = insns[i];
    const target = targetSlot(insn);
    if (insn.kind === 'jmp') {
      leader[at(target!)] = 1;
      leader[i + 1] = 1;
    } else if (insn.kind === 'exit' || insn.kind === 'call' || insn.kind === 'callx') {
      leader[i + 1] = 1;
      if (target !== undefined) {
        leader[at(target)] = 1;
        entries.push(at(target));
      }
    } else if (target !== undefined) {
      // lddw of a function address: a callback entry.
      const index = target >= 0 && target <= slots ? indexOfSlot[target] : -1;
      if (index >= 0) {
        leader[index] = 1;
        entries.push(index);
      }
    }
  }
  const blockAt = new Int32Array(n + 1);
  const starts: number[] = [];
  for (let i = 0; i <= n; i++) {
    if (leader[i]) starts.push(i);
    blockAt[i] = starts.length - 1;
  }
  const blocks: Block[] = starts.map((start, id) => {
    if (start === n) return { id, start, end: n + 1, term: 'felloff', succs: [] };
    const end = id + 1 < starts.length ? starts[id + 1] : n;
    const last = insns[end - 1];
    const next = blockAt[end];
    if (last.kind === 'exit') return { id, start, end, term: 'exit', succs: [] };
    if (last.kind === 'call' || last.kind === 'callx') return { id, start, end, term: 'call', succs: [next] };
    if (last.kind === 'jmp') {
      const target = blockAt[at(targetSlot(last)!)];
      if (last.form.op === 'ja') return { id, start, end, term: 'jump', succs: [target] };
      return { id, start, end, term: 'cond', succs: [target, next] };
    }
    return { id, start, end, term: 'fall', succs: [next] };
  });
  return { blocks, blockAt, indexOfSlot, entries: [...new Set(entries)] };
}

/** One function's blocks in reverse postorder, with what structured code generation needs. */
export interface FunctionGraph {
  readonly entry: number;
  /** Block ids in reverse postorder; `order[0]` is the entry. */
  readonly order: readonly number[];
  /** Position in {@link order} by block id, -1 for blocks outside the function. */
  readonly rpo: Int32Array;
  /** Immediate dominator by block id (the entry dominates itself). */
  readonly idom: Int32Array;
  readonly loopHeaders: ReadonlySet<number>;
  /** Blocks with two or more forward in-edges: code placed after a `block` its predecessors leave. */
  readonly mergeNodes: ReadonlySet<number>;
  /** Whether every retreating edge goes to a block that dominates its source. */
  readonly reducible: boolean;
  /**
   * Blocks where the budget is checked in fast code: the entry, loop headers and call
   * continuations. Every cycle passes through one.
   */
  readonly checkpoints: ReadonlySet<number>;
  /** By block id: the most instructions any path from the block runs before the next checkpoint. */
  readonly maxPath: Float64Array;
}

/** Analyse the function whose entry block is `entry`. */
export function analyseFunction(cfg: Cfg, entry: number): FunctionGraph {
  const { blocks } = cfg;
  const count = blocks.length;
  // Iterative DFS for postorder.
  const post: number[] = [];
  const seen = new Uint8Array(count);
  const stack: Array<[number, number]> = [[entry, 0]];
  seen[entry] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const succs = blocks[top[0]].succs;
    if (top[1] < succs.length) {
      const s = succs[top[1]++];
      if (!seen[s]) {
        seen[s] = 1;
        stack.push([s, 0]);
      }
    } else {
      post.push(top[0]);
      stack.pop();
    }
  }
  const order = post.reverse();
  const rpo = new Int32Array(count).fill(-1);
  order.forEach((b, i) => {
    rpo[b] = i;
  });
  const preds: number[][] = Array.from({ length: count }, () => []);
  for (const b of order) for (const s of blocks[b].succs) preds[s].push(b);

  // Cooper, Harvey & Kennedy: iterate to a fixed point over the reverse postorder.
  const idom = new Int32Array(count).fill(-1);
  idom[entry] = entry;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (rpo[a] > rpo[b]) a = idom[a];
      while (rpo[b] > rpo[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const b of order) {
      if (b === entry) continue;
      let d = -1;
      for (const p of preds[b]) if (idom[p] >= 0) d = d < 0 ? p : intersect(p, d);
      if (d !== idom[b]) {
        idom[b] = d;
        changed = true;
      }
    }
  }
  const dominates = (a: number, b: number) => {
    for (let x = b; ; x = idom[x]) {
      if (x === a) return true;
      if (x === entry) return false;
    }
  };

  const loopHeaders = new Set<number>();
  const mergeNodes = new Set<number>();
  let reducible = true;
  for (const b of order) {
    let forward = 0;
    for (const p of preds[b]) {
      if (rpo[p] >= rpo[b]) {
        loopHeaders.add(b);
        if (!dominates(b, p)) reducible = false;
      } else forward++;
    }
    if (forward >= 2) mergeNodes.add(b);
  }
  const checkpoints = new Set<number>([entry, ...loopHeaders]);
  for (const b of order) if (blocks[b].term === 'call') checkpoints.add(blocks[b].succs[0]);

  // Longest path to the next checkpoint: the graph without edges into checkpoints is acyclic.
  const maxPath = new Float64Array(count);
  for (let i = order.length - 1; i >= 0; i--) {
    const b = blocks[order[i]];
    let longest = 0;
    for (const s of b.succs) if (!checkpoints.has(s) && rpo[s] > i) longest = Math.max(longest, maxPath[s]);
    maxPath[b.id] = b.end - b.start + longest;
  }
  return { entry, order, rpo, idom, loopHeaders, mergeNodes, reducible, checkpoints, maxPath };
}
