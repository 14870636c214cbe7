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
  readonly order: Int32Array;
  /** Position in {@link order} by block id, -1 for blocks outside the function. */
  readonly rpo: Int32Array;
  /** Immediate dominator by block id (the entry dominates itself). */
  readonly idom: Int32Array;
  /** By block id, 1 for a loop header (the target of a retreating edge). */
  readonly loopHeader: Uint8Array;
  /**
   * By block id, 1 for a merge node (two or more forward in-edges): code placed after a `block`
   * its predecessors leave.
   */
  readonly mergeNode: Uint8Array;
  /** Whether every retreating edge goes to a block that dominates its source. */
  readonly reducible: boolean;
  /**
   * By block id, 1 where the budget is checked in fast code: the entry, loop headers and call
   * continuations. Every cycle passes through one.
   */
  readonly checkpoint: Uint8Array;
  /** By block id: the most instructions any path from the block runs before the next checkpoint. */
  readonly maxPath: Float64Array;
}

/** Analyse the function whose entry block is `entry`. */
export function analyseFunction(cfg: Cfg, entry: number): FunctionGraph {
  const { blocks } = cfg;
  const count = blocks.length;
  // Iterative DFS for postorder: a stack of blocks and the next successor of each.
  const post = new Int32Array(count);
  let postLength = 0;
  const seen = new Uint8Array(count);
  const stack = new Int32Array(count);
  const nextSucc = new Int32Array(count);
  let top = 0;
  stack[0] = entry;
  seen[entry] = 1;
  while (top >= 0) {
    const b = stack[top];
    const succs = blocks[b].succs;
    const k = nextSucc[top];
    if (k < succs.length) {
      nextSucc[top] = k + 1;
      const s = succs[k];
      if (!seen[s]) {
        seen[s] = 1;
        stack[++top] = s;
        nextSucc[top] = 0;
      }
    } else {
      post[postLength++] = b;
      top--;
    }
  }
  const order = new Int32Array(postLength);
  const rpo = new Int32Array(count).fill(-1);
  for (let i = 0; i < postLength; i++) {
    const b = post[postLength - 1 - i];
    order[i] = b;
    rpo[b] = i;
  }
  // Predecessors inside the function, as one array sliced by block (predStart[b] … predStart[b + 1]).
  const predStart = new Int32Array(count + 1);
  for (let i = 0; i < postLength; i++) for (const s of blocks[order[i]].succs) predStart[s + 1]++;
  for (let b = 0; b < count; b++) predStart[b + 1] += predStart[b];
  const preds = new Int32Array(predStart[count]);
  const fill = predStart.slice(0, count);
  for (let i = 0; i < postLength; i++) {
    const b = order[i];
    for (const s of blocks[b].succs) preds[fill[s]++] = b;
  }

  // Cooper, Harvey & Kennedy: iterate to a fixed point over the reverse postorder.
  const idom = new Int32Array(count).fill(-1);
  idom[entry] = entry;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 1; i < postLength; i++) {
      const b = order[i];
      let d = -1;
      for (let k = predStart[b]; k < predStart[b + 1]; k++) {
        let p = preds[k];
        if (idom[p] < 0) continue;
        if (d < 0) {
          d = p;
          continue;
        }
        while (p !== d) {
          while (rpo[p] > rpo[d]) p = idom[p];
          while (rpo[d] > rpo[p]) d = idom[d];
        }
      }
      if (d !== idom[b]) {
        idom[b] = d;
        changed = true;
      }
    }
  }

  const loopHeader = new Uint8Array(count);
  const mergeNode = new Uint8Array(count);
  let reducible = true;
  for (let i = 0; i < postLength; i++) {
    const b = order[i];
    let forward = 0;
    for (let k = predStart[b]; k < predStart[b + 1]; k++) {
      const p = preds[k];
      if (rpo[p] >= i) {
        loopHeader[b] = 1;
        // Reducible when the header dominates the edge's source.
        let x = p;
        while (x !== b && x !== entry) x = idom[x];
        if (x !== b) reducible = false;
      } else forward++;
    }
    if (forward >= 2) mergeNode[b] = 1;
  }
  const checkpoint = loopHeader.slice();
  checkpoint[entry] = 1;
  for (let i = 0; i < postLength; i++) {
    const b = blocks[order[i]];
    if (b.term === 'call') checkpoint[b.succs[0]] = 1;
  }

  // Longest path to the next checkpoint: the graph without edges into checkpoints is acyclic.
  const maxPath = new Float64Array(count);
  for (let i = postLength - 1; i >= 0; i--) {
    const b = blocks[order[i]];
    let longest = 0;
    for (const s of b.succs) if (!checkpoint[s] && rpo[s] > i && maxPath[s] > longest) longest = maxPath[s];
    maxPath[b.id] = b.end - b.start + longest;
  }
  return { entry, order, rpo, idom, loopHeader, mergeNode, reducible, checkpoint, maxPath };
}
