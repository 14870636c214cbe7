/**
 * eBPF → WebAssembly code generation: one module per program, one WebAssembly function per eBPF
 * function (entry):
 *
 * ```
 *  fast code (reducible functions): structured blocks/loops (stackifier), budget checked only
 *            at checkpoints; near the end of the budget the interpreter finishes the function
 *  precise code (irreducible ones): loop $dispatch: br_table over the blocks, budget charged
 *            per segment
 *              block … block  br_table  end code(b0)  end code(b1) …
 *            end
 * ```
 *
 * Fast code charges each block's length on entry and, at checkpoints (function entry, loop
 * headers, call continuations), tests whether the longest path to the next checkpoint still fits
 * the remaining budget; when it does not, it *deopts*: the `deopt` import runs the rest of the
 * function on the interpreter from that block (registers through the spill area, the frame as
 * it is), which counts and faults exactly as a run on the interpreter would.
 * Precise code charges the instructions up to and including each instruction that can fault or
 * has an effect before running it, so a budget fault names exactly the instruction the interpreter
 * would.
 *
 * Registers are `i64` locals (r0–r9 and r10 = the frame pointer); a function takes r0–r9, r10
 * and the remaining budget (fuel) and returns r0–r5 and the fuel, so the caller keeps its own
 * r6–r9 and r10 as the interpreter restores them.
 */

import { helperId } from '../isa/helper-ids.js';
import type { Insn } from '../isa/instruction.js';
import { type CompiledProgram, MAX_CALL_FRAMES, STACK_SIZE } from '../vm/interpreter.js';
import { CPU_ADDRESS, FIRST_ADDRESS } from '../vm/memory.js';
import { analyseFunction, buildCfg, type Cfg, type FunctionGraph } from './cfg.js';
import { emitRecordLoop } from './record-loop-code.js';
import { Code, F64, I32, I64, ModuleBuilder, Op, type ValType } from './wasm.js';

/** Imported function indices. */
export enum Import {
  /**
   * helper(index, id, fp, r1 low, r1 high, … r5 low, r5 high): r0 comes back at address 0 (no
   * i64 crosses the boundary, so no BigInt is built for a helper that takes numbers).
   */
  Helper = 0,
  /** access(index, base register) → address, or throws the interpreter's MemoryAccessError */
  Access = 1,
  /** budget(index): throws InstructionBudgetError at instruction `index` */
  Budget = 2,
  /** fault(kind, index): throws the run-time VmError of {@link FaultKind} */
  Fault = 3,
  /**
   * deopt(index, fp, fuel): the interpreter runs the rest of the function from instruction
   * `index` (its first frame at `fp`, registers r0–r9 from the spill area, `fuel` instructions
   * left); r0–r5 come back at address 0 and the fuel left at {@link FUEL_OUT}.
   */
  Deopt = 4,
}

/** Run-time faults other than memory and budget. */
export enum FaultKind {
  FellOff = 0,
  CallDepth = 1,
  Kfunc = 2,
  PacketLoad = 3,
}

/** Global indices (all exported under these names). */
export const GLOBALS = ['rs', 'rl', 'ws', 'wl', 'stackBase', 'nested', 'tail', 'remaining'] as const;
const G = { rs: 0, rl: 1, ws: 2, wl: 3, stackBase: 4, nested: 5, tail: 6, remaining: 7 } as const;

/**
 * The access caches hold a region's start and its length less 8 (`rl`, `wl`): an access of `size`
 * bytes at `a` hits when `a - start <= limit + 8 - size`, one unsigned compare. Cached regions are
 * at least 8 bytes long and end below this address, so that an address within one cannot be
 * reached from a base register of 2^32 or more with an offset in [-32768, {@link FIRST_ADDRESS}]
 * (the interpreter faults on such a base); larger offsets also compare the base register.
 */
export const CACHE_END = 0x1_0000_0000 - 0x8000;
/** The access caches' globals: i64, read by the checks directly. */
const CACHE_GLOBALS: ReadonlySet<string> = new Set(['rs', 'rl', 'ws', 'wl']);
/** The access caches' shortest region: shorter ones are not cached (their accesses take the slow path). */
export const CACHE_MIN = 8;

/**
 * Registers r0–r9 live at addresses 0, 8, … 72 of the never-mapped NULL page when spilled (on
 * entry, before helpers that read them, at a tail call); the fuel left at exit at this address.
 */
export const FUEL_OUT = 96;

// Locals of an eBPF function: params r0–r9 (0–9), fp (10), fuel (11), then scratch.
const FP = 10;
const FUEL = 11;
const NEXT = 12;
const A = 13;
const B = 14;
const T = 15;
const SCRATCH: readonly ValType[] = [I32, I64, I64, I32];
const PARAMS: readonly ValType[] = [I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64];
const RESULTS: readonly ValType[] = [I64, I64, I64, I64, I64, I64, I64];

/** Helpers that run program code or read registers: registers are spilled to the VM before them. */
const REGISTER_HELPERS = new Set(
  ['loop', 'for_each_map_elem', 'find_vma', 'user_ringbuf_drain', 'timer_set_callback'].map(
    (n) => helperId(n) ?? -1,
  ),
);
const TAIL_CALL = helperId('tail_call') ?? 12;
const MAP_LOOKUP = helperId('map_lookup_elem') ?? 1;
/** VM-internal helpers (ld_abs/ld_ind stand-ins) read the index register: spill for them too. */
const INTERNAL_HELPER_BASE = 0x4000_0000;

export interface GenerateOptions {
  /** Instruction indices whose memory accesses the verifier proved in bounds. */
  readonly safeAccess?: ReadonlySet<number>;
  /**
   * The verifier accepted the program: no pointer into a frame exists but through that frame's
   * r10, so a function that never names r10 skips zeroing its frame (nothing can read it).
   */
  readonly verified?: boolean;
  /**
   * With `verified`: the bytes below r10 each function may touch, by the index of its first
   * instruction ({@link VerifierFacts.stackDepth}); a function zeroes only those at entry.
   */
  readonly stackDepth?: ReadonlyMap<number, number>;
  /**
   * Where the values of the array map behind a map handle lie, when `bpf_map_lookup_elem` on it
   * may be compiled inline (the VM's own helper, an ARRAY or PERCPU_ARRAY map); undefined otherwise.
   */
  readonly arrayLookup?: (handle: bigint) => ArrayLookup | undefined;
}

/** An array map's values: element `i` of CPU `c` at `base + i * stride + c * cpuSlot`. */
export interface ArrayLookup {
  readonly base: number;
  readonly maxEntries: number;
  readonly stride: number;
  readonly cpuSlot: number;
}

/** A generated module and what the runtime needs to know about it. */
export interface GeneratedModule {
  readonly bytes: Uint8Array;
  /** Export name of each function entry, by slot. */
  readonly entries: ReadonlyMap<number, string>;
  /** Instruction indices of helper calls before which registers are spilled. */
  readonly spillAt: ReadonlySet<number>;
  readonly cfg: Cfg;
  /** Functions compiled to structured code (the rest: dispatch loop only). */
  readonly structured: number;
  readonly functions: number;
}

/** Compile a program to a WebAssembly module's bytes. */
export function generate(program: CompiledProgram, options: GenerateOptions = {}): GeneratedModule {
  const insns = program.insns;
  const cfg = buildCfg(insns, program.slots);
  const mb = new ModuleBuilder();
  mb.importMemory('vm', 'memory');
  mb.importFunction('vm', 'helper', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], []);
  mb.importFunction('vm', 'access', [I32, I64], [I32]);
  mb.importFunction('vm', 'budget', [I32], []);
  mb.importFunction('vm', 'fault', [I32, I32], []);
  mb.importFunction('vm', 'deopt', [I32, I32, F64], []);
  // The access caches start out unset: a program's first run resets them (resetCache).
  for (const name of GLOBALS) {
    const type = CACHE_GLOBALS.has(name) || name === 'nested' ? I64 : name === 'remaining' ? F64 : I32;
    mb.exportGlobal(name, mb.global(type));
  }
  const graphs = cfg.entries.map((e) => analyseFunction(cfg, cfg.blockAt[e]));
  const funcIndex = new Map<number, number>();
  for (const g of graphs) funcIndex.set(g.entry, mb.defineFunction(PARAMS, RESULTS));
  const wrappers = graphs.map(() => mb.defineFunction([I32, F64, I32, I32], []));
  const fresh = mb.defineFunction([I32, I32, I32, F64, I32, I32], [I32]);
  const spillAt = new Set<number>();
  const shared: Shared = {
    program,
    cfg,
    funcIndex,
    safe: options.safeAccess ?? new Set(),
    spillAt,
    verified: options.verified ?? false,
    stackDepth: options.stackDepth,
    arrayLookup: options.arrayLookup,
  };
  let structured = 0;
  graphs.forEach((g, k) => {
    mb.setBody(funcIndex.get(g.entry)!, SCRATCH, new FunctionEmitter(shared, g).emit());
    if (g.reducible) structured++;
    const slot = insnSlot(program, cfg.blocks[g.entry].start);
    const name = `f${slot}`;
    mb.setBody(wrappers[k], [I64, I64], wrapper(funcIndex.get(g.entry)!));
    mb.exportFunction(name, wrappers[k]);
  });
  mb.setBody(fresh, [I64, I64], freshWrapper(funcIndex.get(graphs[0].entry)!));
  mb.exportFunction(FRESH_RUN, fresh);
  const repeat = mb.defineFunction([I32, I32, I32, I32, F64, I32, I32], [I32]);
  mb.setBody(repeat, [I64, I64, I64, I64, I32], repeatWrapper(funcIndex.get(graphs[0].entry)!));
  mb.exportFunction(REPEAT_RUN, repeat);
  // The record loop (`record-loop.ts`) in the same module: one compile, and direct calls of `fresh`.
  emitRecordLoop(mb, fresh);
  const entries = new Map<number, string>();
  for (const g of graphs) {
    const slot = insnSlot(program, cfg.blocks[g.entry].start);
    entries.set(slot, `f${slot}`);
  }
  return { bytes: mb.finish(), entries, spillAt, cfg, structured, functions: graphs.length };
}

function insnSlot(program: CompiledProgram, index: number): number {
  return index < program.insns.length ? program.insns[index].slot : program.slots;
}

/**
 * The exported entry `(fp, fuel, stackBase, fresh)`: registers r0–r9 from the spill area, the
 * budget as a double; r0 goes back to address 0 and the remaining fuel (a double) to
 * {@link FUEL_OUT}, so no BigInt crosses the boundary. `fresh` empties the access cache (the
 * runtime passes it when a cached region was unmapped since).
 */
function wrapper(func: number): Code {
  const c = new Code();
  c.get(2).gset(G.stackBase);
  c.get(3).if();
  resetCache(c, 2);
  c.end();
  c.i64(0n).gset(G.nested).i32(0).gset(G.tail);
  for (let r = 0; r < 10; r++) c.i32(r * 8).mem(Op.i64_load);
  c.get(0).op(Op.i64_extend_i32_u);
  c.get(1).op(Op.i64_trunc_f64_s);
  c.call(func);
  c.set(4);
  for (let r = 5; r >= 1; r--) c.op(Op.drop);
  c.set(5);
  c.i32(0).get(5).mem(Op.i64_store);
  c.i32(FUEL_OUT).get(4).op(Op.f64_convert_i64_s).mem(Op.f64_store);
  return c;
}

/**
 * Point both access caches at the run's stack (local `stackBase`): mapped for the whole run, and
 * an empty cache cannot be written as one compare that always misses.
 */
function resetCache(c: Code, stackBase: number): void {
  const limit = MAX_CALL_FRAMES * STACK_SIZE - CACHE_MIN;
  c.get(stackBase).op(Op.i64_extend_i32_u).gset(G.rs).i64(limit).gset(G.rl);
  c.get(stackBase).op(Op.i64_extend_i32_u).gset(G.ws).i64(limit).gset(G.wl);
}

/** Export name of {@link freshWrapper}. */
export const FRESH_RUN = 'run';

/**
 * The exported entry of a fresh run of the main function `(r1, r2, fp, fuel, stackBase, fresh)`
 * → r0's low 32 bits: r1 and r2 (zero-extended) and r10 = `fp` from parameters, every other
 * register zero, so a prepared run (`vm/runner.ts`) passes no registers through memory. As
 * {@link wrapper}, r0 goes to address 0 and the fuel left to {@link FUEL_OUT}.
 */
function freshWrapper(func: number): Code {
  const c = new Code();
  c.get(4).gset(G.stackBase);
  c.get(5).if();
  resetCache(c, 4);
  c.end();
  c.i64(0n).gset(G.nested).i32(0).gset(G.tail);
  c.i64(0n);
  c.get(0).op(Op.i64_extend_i32_u);
  c.get(1).op(Op.i64_extend_i32_u);
  for (let r = 3; r < 10; r++) c.i64(0n);
  c.get(2).op(Op.i64_extend_i32_u);
  c.get(3).op(Op.i64_trunc_f64_s);
  c.call(func);
  c.set(6);
  for (let r = 5; r >= 1; r--) c.op(Op.drop);
  c.set(7);
  c.i32(0).get(7).mem(Op.i64_store);
  c.i32(FUEL_OUT).get(6).op(Op.f64_convert_i64_s).mem(Op.f64_store);
  c.get(7).op(Op.i32_wrap_i64);
  return c;
}

/** Export name of {@link repeatWrapper}. */
export const REPEAT_RUN = 'repeat';
/** Where {@link repeatWrapper} leaves the instructions its runs executed (a double). */
export const COUNT_OUT = FUEL_OUT + 8;

/**
 * The exported entry of `n` fresh runs back to back `(n, r1, r2, fp, fuel, stackBase, fresh)` →
 * the last r0's low 32 bits, as `n` calls of {@link freshWrapper} would run them (each with the
 * whole budget and zeroed registers) but without leaving WebAssembly between runs: the kernel's
 * test-run `repeat`. The last r0 goes to address 0, the instructions of all runs (a double) to
 * {@link COUNT_OUT}. Programs that may tail call are not run this way (the runtime continues a
 * tail call between runs).
 */
function repeatWrapper(func: number): Code {
  // Locals: 7 fuel per run, 8 r0, 9 total executed, 10 fuel left, 11 runs done.
  const c = new Code();
  c.get(5).gset(G.stackBase);
  c.get(6).if();
  resetCache(c, 5);
  c.end();
  c.get(4).op(Op.i64_trunc_f64_s).set(7);
  c.block().loop();
  c.get(11).get(0).op(Op.i32_ge_u).brIf(1);
  c.i64(0n).gset(G.nested).i32(0).gset(G.tail);
  c.i64(0n);
  c.get(1).op(Op.i64_extend_i32_u);
  c.get(2).op(Op.i64_extend_i32_u);
  for (let r = 3; r < 10; r++) c.i64(0n);
  c.get(3).op(Op.i64_extend_i32_u);
  c.get(7);
  c.call(func);
  c.set(10);
  for (let r = 5; r >= 1; r--) c.op(Op.drop);
  c.set(8);
  c.get(9).get(7).get(10).op(Op.i64_sub).op(Op.i64_add).set(9);
  c.get(11).i32(1).op(Op.i32_add).set(11);
  c.br(0);
  c.end().end();
  c.i32(0).get(8).mem(Op.i64_store);
  c.i32(COUNT_OUT).get(9).op(Op.f64_convert_i64_s).mem(Op.f64_store);
  c.get(8).op(Op.i32_wrap_i64);
  return c;
}

interface Shared {
  readonly program: CompiledProgram;
  readonly cfg: Cfg;
  readonly funcIndex: ReadonlyMap<number, number>;
  readonly safe: ReadonlySet<number>;
  readonly spillAt: Set<number>;
  readonly verified: boolean;
  readonly stackDepth: ReadonlyMap<number, number> | undefined;
  readonly arrayLookup: ((handle: bigint) => ArrayLookup | undefined) | undefined;
}

type InsnOf<K extends Insn['kind']> = Extract<Insn, { kind: K }>;

const ALU64: Partial<Record<string, number>> = {
  add: Op.i64_add,
  sub: Op.i64_sub,
  mul: Op.i64_mul,
  or: Op.i64_or,
  and: Op.i64_and,
  xor: Op.i64_xor,
  lsh: Op.i64_shl,
  rsh: Op.i64_shr_u,
  arsh: Op.i64_shr_s,
};
const ALU32: Partial<Record<string, number>> = {
  add: Op.i32_add,
  sub: Op.i32_sub,
  mul: Op.i32_mul,
  or: Op.i32_or,
  and: Op.i32_and,
  xor: Op.i32_xor,
  lsh: Op.i32_shl,
  rsh: Op.i32_shr_u,
  arsh: Op.i32_shr_s,
};
const CMP64: Record<string, number> = {
  jeq: Op.i64_eq,
  jne: Op.i64_ne,
  jgt: Op.i64_gt_u,
  jge: Op.i64_ge_u,
  jlt: Op.i64_lt_u,
  jle: Op.i64_le_u,
  jsgt: Op.i64_gt_s,
  jsge: Op.i64_ge_s,
  jslt: Op.i64_lt_s,
  jsle: Op.i64_le_s,
};
const CMP32: Record<string, number> = {
  jeq: Op.i32_eq,
  jne: Op.i32_ne,
  jgt: Op.i32_gt_u,
  jge: Op.i32_ge_u,
  jlt: Op.i32_lt_u,
  jle: Op.i32_le_u,
  jsgt: Op.i32_gt_s,
  jsge: Op.i32_ge_s,
  jslt: Op.i32_lt_s,
  jsle: Op.i32_le_s,
};
const LOAD: Record<number, number> = {
  1: Op.i64_load8_u,
  2: Op.i64_load16_u,
  4: Op.i64_load32_u,
  8: Op.i64_load,
};
const LOAD_SIGNED: Record<number, number> = { 1: Op.i64_load8_s, 2: Op.i64_load16_s, 4: Op.i64_load32_s };
const STORE: Record<number, number> = {
  1: Op.i64_store8,
  2: Op.i64_store16,
  4: Op.i64_store32,
  8: Op.i64_store,
};
const ATOMIC64: Partial<Record<string, number>> = {
  add: Op.i64_add,
  or: Op.i64_or,
  and: Op.i64_and,
  xor: Op.i64_xor,
};

class FunctionEmitter {
  private readonly c = new Code();
  /** Structured code: constructs open around the current position (a `br` depth counts them). */
  private level = 0;
  /** By block id, the level of the open `loop` of a loop header, or of the `block` a merge node follows; -1 when closed. */
  private readonly loopLevel: Int32Array;
  private readonly blockLevel: Int32Array;
  /** By block id, its dominator-tree children that are merge nodes, highest reverse postorder first. */
  private readonly merges: Array<number[] | undefined>;
  /** The block being emitted: where it ends, and whether its budget is charged per segment. */
  private current = { end: 0, precise: true };
  private readonly insns: readonly Insn[];

  constructor(
    private readonly s: Shared,
    private readonly g: FunctionGraph,
  ) {
    this.insns = s.program.insns;
    const count = s.cfg.blocks.length;
    this.loopLevel = new Int32Array(count).fill(-1);
    this.blockLevel = new Int32Array(count).fill(-1);
    this.merges = new Array(count);
    for (let i = g.order.length - 1; i > 0; i--) {
      const b = g.order[i];
      if (!g.mergeNode[b]) continue;
      const d = g.idom[b];
      const list = this.merges[d];
      if (list) list.push(b);
      else this.merges[d] = [b];
    }
  }

  /** The function's body: fast code, or precise code for an irreducible function. */
  emit(): Code {
    const { c, g } = this;
    // Every frame starts with a zeroed stack, as in the interpreter. Unobservable past what the
    // verifier saw the function touch, so a verified function zeroes only its stack depth
    // (nothing when it never names r10).
    const depth = this.frameBytes();
    if (depth > 0) c.get(FP).op(Op.i32_wrap_i64).i32(depth).op(Op.i32_sub).i32(0).i32(depth).fill();
    if (!g.reducible) {
      this.dispatch();
      c.op(Op.unreachable);
      return c;
    }
    // Checkpoints leave this block with $next = the block to deopt at: the deopt's code stays
    // out of loops, where V8 would otherwise keep registers ready for its call.
    c.block();
    this.level++;
    this.tree(g.entry);
    this.level--;
    c.end();
    this.spill();
    c.get(NEXT).get(FP).op(Op.i32_wrap_i64).get(FUEL).op(Op.f64_convert_i64_s).call(Import.Deopt);
    for (let r = 0; r <= 5; r++)
      c.i32(r * 8)
        .mem(Op.i64_load)
        .set(r);
    c.i32(FUEL_OUT).mem(Op.f64_load).op(Op.i64_trunc_f64_s).set(FUEL);
    this.ret();
    return c;
  }

  /** The precise copy: a dispatch loop over the blocks in reverse postorder, from block `$next`. */
  private dispatch(): void {
    const { c, g } = this;
    const n = g.order.length;
    c.loop();
    for (let k = 0; k < n; k++) c.block();
    c.get(NEXT).brTable(
      Array.from({ length: n }, (_, k) => k),
      0,
    );
    for (let k = 0; k < n; k++) {
      c.end();
      this.preciseBlock(g.order[k], n - 1 - k);
    }
    c.end();
  }

  /** Bytes of the frame the function must zero at entry. */
  private frameBytes(): number {
    if (!this.s.verified) return STACK_SIZE;
    if (!this.namesFramePointer()) return 0;
    const depth = this.s.stackDepth?.get(this.s.cfg.blocks[this.g.entry].start);
    return depth === undefined ? STACK_SIZE : Math.min(depth, STACK_SIZE);
  }

  /** Whether any instruction of the function has r10 as a register operand. */
  private namesFramePointer(): boolean {
    const blocks = this.s.cfg.blocks;
    for (const b of this.g.order) {
      const block = blocks[b];
      for (let i = block.start; i < block.end && i < this.insns.length; i++) {
        const insn = this.insns[i];
        if (insn.dst === FP || insn.src === FP) return true;
      }
    }
    return false;
  }

  // ---- structured code (Ramsey, "Beyond Relooper", 2022) ----

  private tree(x: number): void {
    const { g, c } = this;
    const merges = this.merges[x];
    if (g.loopHeader[x]) {
      c.loop();
      this.loopLevel[x] = this.level++;
      this.within(x, merges, 0);
      this.loopLevel[x] = -1;
      this.level--;
      c.end();
    } else this.within(x, merges, 0);
  }

  /** Block `x` after `block`s for its merge children `merges[k…]`, each placed after its `block`. */
  private within(x: number, merges: readonly number[] | undefined, k: number): void {
    const { c } = this;
    if (!merges || k === merges.length) {
      this.fastBlock(x);
      return;
    }
    const y = merges[k];
    c.block();
    this.blockLevel[y] = this.level++;
    this.within(x, merges, k + 1);
    this.blockLevel[y] = -1;
    this.level--;
    c.end();
    this.tree(y);
  }

  /** The `br` depth of an open construct at `level`. */
  private depth(level: number, to: number): number {
    if (level < 0) throw new Error(`jit: no enclosing construct for block ${to}`);
    return this.level - 1 - level;
  }

  private branch(from: number, to: number): void {
    const { g, c } = this;
    if (g.rpo[to] <= g.rpo[from]) c.br(this.depth(this.loopLevel[to], to));
    else if (g.mergeNode[to]) c.br(this.depth(this.blockLevel[to], to));
    else this.tree(to);
  }

  private fastBlock(id: number): void {
    const { c, g } = this;
    const block = this.s.cfg.blocks[id];
    if (g.checkpoint[id]) {
      // Deopt when the longest path to the next checkpoint may exhaust the budget.
      c.get(FUEL).i64(g.maxPath[id]).op(Op.i64_lt_s).if();
      // The deopt block is the outermost construct: br depth = the open constructs, this `if` included, less one.
      c.i32(block.start).set(NEXT).br(this.level);
      c.end();
    }
    c.get(FUEL)
      .i64(block.end - block.start)
      .op(Op.i64_sub)
      .set(FUEL);
    this.body(id, false);
    const last = this.insns[block.end - 1];
    switch (block.term) {
      case 'exit':
        this.ret();
        return;
      case 'felloff':
        this.fault(FaultKind.FellOff, block.start);
        return;
      case 'jump':
        this.branch(id, block.succs[0]);
        return;
      case 'cond':
        this.condition(last as InsnOf<'jmp'>);
        c.if();
        this.level++;
        this.branch(id, block.succs[0]);
        c.else();
        this.branch(id, block.succs[1]);
        this.level--;
        c.end().op(Op.unreachable);
        return;
      default:
        this.branch(id, block.succs[0]);
    }
  }

  private preciseBlock(id: number, dispatchDepth: number): void {
    const { c, g } = this;
    const block = this.s.cfg.blocks[id];
    this.body(id, true);
    const last = this.insns[block.end - 1];
    switch (block.term) {
      case 'exit':
        this.ret();
        return;
      case 'felloff':
        this.fault(FaultKind.FellOff, block.start);
        return;
      case 'cond':
        c.i32(g.rpo[block.succs[0]]).i32(g.rpo[block.succs[1]]);
        this.condition(last as InsnOf<'jmp'>);
        c.op(Op.select).set(NEXT).br(dispatchDepth);
        return;
      default:
        c.i32(g.rpo[block.succs[0]]).set(NEXT).br(dispatchDepth);
    }
  }

  /** The block's instructions (all but a closing jump or exit), with precise budget segments. */
  private body(id: number, precise: boolean): void {
    const block = this.s.cfg.blocks[id];
    this.current = { end: block.end, precise };
    let segmentEnd = -1;
    for (let i = block.start; i < block.end; i++) {
      if (precise && i > segmentEnd) {
        segmentEnd = i;
        while (segmentEnd < block.end - 1 && !this.endsSegment(segmentEnd)) segmentEnd++;
        this.charge(i, segmentEnd - i + 1);
      }
      if (i === this.insns.length) return;
      const insn = this.insns[i];
      if (insn.kind === 'jmp' || insn.kind === 'exit') return;
      this.insn(insn, i);
    }
  }

  /** Whether instruction `i` can fault or has an effect a budget fault must not see run. */
  private endsSegment(i: number): boolean {
    const insn = this.insns[i];
    switch (insn.kind) {
      case 'call':
      case 'callx':
      case 'ldabs':
      case 'ldind':
        return true;
      case 'ldx':
        return !this.safe(i, insn.src, insn.off, insn.form.size);
      case 'st':
      case 'stx':
        return !this.inFrame(insn.dst, insn.off, insn.form.size);
      case 'atomic':
        if (insn.form.op === 'load_acquire') return !this.safe(i, insn.src, insn.off, insn.form.size);
        return !this.inFrame(insn.dst, insn.off, insn.form.size);
      default:
        return false;
    }
  }

  /** Charge `count` instructions starting at `index`; throw the budget fault at the first over. */
  private charge(index: number, count: number): void {
    const { c } = this;
    c.get(FUEL).i64(count).op(Op.i64_sub).tee(FUEL).i64(0n).op(Op.i64_lt_s).if();
    c.get(FUEL)
      .op(Op.i32_wrap_i64)
      .i32(index + count)
      .op(Op.i32_add)
      .call(Import.Budget)
      .op(Op.unreachable);
    c.end();
  }

  private ret(): void {
    const { c } = this;
    for (let r = 0; r <= 5; r++) c.get(r);
    c.get(FUEL).op(Op.return);
  }

  private fault(kind: FaultKind, index: number): void {
    this.c.i32(kind).i32(index).call(Import.Fault).op(Op.unreachable);
  }

  private inFrame(reg: number, off: number, size: number): boolean {
    return reg === FP && off >= -STACK_SIZE && off + size <= 0;
  }

  private safe(i: number, reg: number, off: number, size: number): boolean {
    return this.inFrame(reg, off, size) || this.s.safe.has(i);
  }

  /** Push the i32 address of `reg + off`, checked unless proven safe. */
  private address(i: number, reg: number, off: number, size: number, write: boolean): void {
    const { c } = this;
    if (this.inFrame(reg, off, size) || this.s.safe.has(i)) {
      c.get(reg).op(Op.i32_wrap_i64);
      if (off !== 0) c.i32(off).op(Op.i32_add);
      return;
    }
    // a - start <= limit + 8 - size, unsigned (see CACHE_END).
    c.get(reg);
    if (off !== 0) c.i64(off).op(Op.i64_add);
    c.tee(A)
      .gget(write ? G.ws : G.rs)
      .op(Op.i64_sub)
      .gget(write ? G.wl : G.rl);
    if (size !== CACHE_MIN) c.i64(CACHE_MIN - size).op(Op.i64_add);
    c.op(Op.i64_le_u);
    // The interpreter requires the base register itself to be a 32-bit address.
    if (off > FIRST_ADDRESS) c.get(reg).i64(0x1_0000_0000).op(Op.i64_lt_u).op(Op.i32_and);
    c.if(I32).get(A).op(Op.i32_wrap_i64).else().i32(i).get(reg).call(Import.Access).end();
  }

  private condition(insn: InsnOf<'jmp'>): void {
    const { c } = this;
    const f = insn.form;
    if (f.bits === 64) {
      c.get(insn.dst);
      if (f.source === 'reg') c.get(insn.src);
      else c.i64(insn.imm);
      if (f.op === 'jset') c.op(Op.i64_and).op(Op.i64_eqz).op(Op.i32_eqz);
      else c.op(CMP64[f.op]);
    } else {
      c.get(insn.dst).op(Op.i32_wrap_i64);
      if (f.source === 'reg') c.get(insn.src).op(Op.i32_wrap_i64);
      else c.i32(insn.imm);
      if (f.op === 'jset') c.op(Op.i32_and);
      else c.op(CMP32[f.op]);
    }
  }

  private spill(): void {
    for (let r = 0; r < 10; r++)
      this.c
        .i32(r * 8)
        .get(r)
        .mem(Op.i64_store);
  }

  private insn(insn: Insn, i: number): void {
    const { c } = this;
    switch (insn.kind) {
      case 'alu':
        if (insn.form.bits === 64) this.alu64(insn);
        else this.alu32(insn);
        return;
      case 'end':
        this.byteOrder(insn);
        return;
      case 'lddw': {
        const value =
          (BigInt(this.s.program.imm2[insn.slot] >>> 0) << 32n) | BigInt(this.s.program.imm[insn.slot] >>> 0);
        c.i64(value).set(insn.dst);
        return;
      }
      case 'ldx': {
        this.address(i, insn.src, insn.off, insn.form.size, false);
        c.mem(insn.form.signed ? LOAD_SIGNED[insn.form.size] : LOAD[insn.form.size]).set(insn.dst);
        return;
      }
      case 'st':
        this.address(i, insn.dst, insn.off, insn.form.size, true);
        c.i64(insn.imm).mem(STORE[insn.form.size]);
        return;
      case 'stx':
        this.address(i, insn.dst, insn.off, insn.form.size, true);
        c.get(insn.src).mem(STORE[insn.form.size]);
        return;
      case 'atomic':
        this.atomic(insn, i);
        return;
      case 'call':
        if (insn.form.target === 'helper') this.helper(insn, i, insn.imm);
        else if (insn.form.target === 'local') this.localCall(insn, i);
        else this.fault(FaultKind.Kfunc, i);
        return;
      case 'callx':
        this.helper(insn, i, undefined);
        return;
      case 'ldabs':
      case 'ldind':
        this.fault(FaultKind.PacketLoad, i);
        return;
      default:
        throw new Error(`jit: unexpected ${insn.kind} inside a block`);
    }
  }

  /**
   * The map handle r1 holds at instruction `i`: set by an `lddw` of a map earlier in the same
   * block and not written since (calls end the search: a bpf-to-bpf call returns r1–r5).
   */
  private mapHandleInR1(i: number): bigint | undefined {
    const block = this.s.cfg.blocks[this.s.cfg.blockAt[i]];
    for (let j = i - 1; j >= block.start; j--) {
      const insn = this.insns[j];
      if (insn.kind === 'call' || insn.kind === 'callx') return undefined;
      if (insn.kind === 'atomic' && (insn.src === 1 || insn.dst === 1)) return undefined;
      if (insn.kind === 'lddw' && insn.dst === 1) {
        const pseudo = insn.src;
        // BPF_PSEUDO_MAP_FD (1) and BPF_PSEUDO_MAP_IDX (5): r1 is the map itself.
        if (pseudo !== 1 && pseudo !== 5) return undefined;
        return (
          (BigInt(this.s.program.imm2[insn.slot] >>> 0) << 32n) | BigInt(this.s.program.imm[insn.slot] >>> 0)
        );
      }
      if (
        (insn.kind === 'alu' || insn.kind === 'end' || insn.kind === 'ldx' || insn.kind === 'lddw') &&
        insn.dst === 1
      )
        return undefined;
    }
    return undefined;
  }

  /**
   * `bpf_map_lookup_elem` on an array map, inline: r0 = the element's address for the current
   * CPU, or 0 past the end, as the helper gives it. Only in verified programs: the verifier proved
   * r2 points to the 4-byte key.
   */
  private inlineArrayLookup(i: number): boolean {
    const { c, s } = this;
    if (!s.verified || !s.arrayLookup) return false;
    const handle = this.mapHandleInR1(i);
    const layout = handle === undefined ? undefined : s.arrayLookup(handle);
    if (!layout) return false;
    c.get(2).op(Op.i32_wrap_i64).mem(Op.i32_load).set(T);
    c.get(T).i32(layout.maxEntries).op(Op.i32_lt_u).if(I64);
    c.get(T)
      .op(Op.i64_extend_i32_u)
      .i64(BigInt(layout.stride))
      .op(Op.i64_mul)
      .i64(BigInt(layout.base))
      .op(Op.i64_add);
    if (layout.cpuSlot !== 0)
      c.i32(CPU_ADDRESS)
        .mem(Op.i32_load)
        .op(Op.i64_extend_i32_u)
        .i64(BigInt(layout.cpuSlot))
        .op(Op.i64_mul)
        .op(Op.i64_add);
    c.else().i64(0n).end().set(0);
    return true;
  }

  private helper(insn: Insn, i: number, id: number | undefined): void {
    const { c } = this;
    if (id === MAP_LOOKUP && this.inlineArrayLookup(i)) return;
    const spill = id === undefined || id >= INTERNAL_HELPER_BASE || REGISTER_HELPERS.has(id);
    if (spill) {
      this.spill();
      this.s.spillAt.add(i);
    }
    // The budget left after this call as the interpreter counts it: a fast block charged its
    // instructions up front, so those after the call are given back.
    const ahead = this.current.precise ? 0 : this.current.end - i - 1;
    c.get(FUEL).i64(BigInt(ahead)).op(Op.i64_add).op(Op.f64_convert_i64_s).gset(G.remaining);
    c.i32(i);
    if (id === undefined) c.get(insn.dst).op(Op.i32_wrap_i64);
    else c.i32(id);
    c.get(FP).op(Op.i32_wrap_i64);
    for (let r = 1; r <= 5; r++) {
      c.get(r).op(Op.i32_wrap_i64);
      c.get(r).i64(32n).op(Op.i64_shr_u).op(Op.i32_wrap_i64);
    }
    c.call(Import.Helper);
    c.i32(0).mem(Op.i64_load).set(0);
    // Instructions run by callbacks during the helper count against this run's budget.
    c.gget(G.nested).op(Op.i64_eqz).op(Op.i32_eqz).if();
    c.get(FUEL).gget(G.nested).op(Op.i64_sub).set(FUEL).i64(0n).gset(G.nested);
    c.get(FUEL).i64(0n).op(Op.i64_lt_s).if().i32(i).call(Import.Budget).op(Op.unreachable).end();
    c.end();
    if (id === undefined || id === TAIL_CALL) {
      // A successful tail call: hand every register to the runtime, which continues in the target.
      c.gget(G.tail).if();
      this.spill();
      this.ret();
      c.end();
    }
  }

  private localCall(insn: InsnOf<'call'>, i: number): void {
    const { c } = this;
    const target = this.s.cfg.blockAt[this.s.cfg.indexOfSlot[insn.slot + 1 + insn.imm]];
    c.get(FP).i64(STACK_SIZE).op(Op.i64_sub).gget(G.stackBase).op(Op.i64_extend_i32_u).op(Op.i64_le_u);
    c.if();
    this.fault(FaultKind.CallDepth, i);
    c.end();
    for (let r = 0; r < 10; r++) c.get(r);
    c.get(FP).i64(STACK_SIZE).op(Op.i64_sub).get(FUEL).call(this.s.funcIndex.get(target)!);
    c.set(FUEL);
    for (let r = 5; r >= 0; r--) c.set(r);
  }

  private atomic(insn: InsnOf<'atomic'>, i: number): void {
    const { c } = this;
    const f = insn.form;
    if (f.op === 'load_acquire') {
      this.address(i, insn.src, insn.off, f.size, false);
      c.mem(LOAD[f.size]).set(insn.dst);
      return;
    }
    if (f.op === 'store_release') {
      this.address(i, insn.dst, insn.off, f.size, true);
      c.get(insn.src).mem(STORE[f.size]);
      return;
    }
    const wide = f.size === 8;
    const load = wide ? Op.i64_load : Op.i64_load32_u;
    const store = wide ? Op.i64_store : Op.i64_store32;
    this.address(i, insn.dst, insn.off, f.size, true);
    c.tee(T).mem(load).set(A);
    const s = insn.src;
    if (f.op === 'cmpxchg') {
      if (wide) c.get(A).get(0).op(Op.i64_eq);
      else c.get(A).op(Op.i32_wrap_i64).get(0).op(Op.i32_wrap_i64).op(Op.i32_eq);
      c.if().get(T).get(s).mem(store).end();
      c.get(A).set(0);
      return;
    }
    c.get(T);
    if (f.op === 'xchg') c.get(s);
    else c.get(A).get(s).op(ATOMIC64[f.op]!);
    c.mem(store);
    if (f.fetch) c.get(A).set(s);
  }

  private alu64(insn: InsnOf<'alu'>): void {
    const { c } = this;
    const f = insn.form;
    const d = insn.dst;
    const src = () => (f.source === 'reg' ? c.get(insn.src) : c.i64(insn.imm));
    const simple = ALU64[f.op];
    if (simple !== undefined) {
      c.get(d);
      src();
      c.op(simple).set(d);
      return;
    }
    switch (f.op) {
      case 'mov':
        src();
        c.set(d);
        return;
      case 'neg':
        c.i64(0n).get(d).op(Op.i64_sub).set(d);
        return;
      case 'movsx':
        c.get(insn.src).op(
          f.extend === 8 ? Op.i64_extend8_s : f.extend === 16 ? Op.i64_extend16_s : Op.i64_extend32_s,
        );
        c.set(d);
        return;
      default:
        this.divide(insn, true);
    }
  }

  private alu32(insn: InsnOf<'alu'>): void {
    const { c } = this;
    const f = insn.form;
    const d = insn.dst;
    const src = () => (f.source === 'reg' ? c.get(insn.src).op(Op.i32_wrap_i64) : c.i32(insn.imm));
    const simple = ALU32[f.op];
    if (simple !== undefined) {
      c.get(d).op(Op.i32_wrap_i64);
      src();
      c.op(simple).op(Op.i64_extend_i32_u).set(d);
      return;
    }
    switch (f.op) {
      case 'mov':
        src();
        c.op(Op.i64_extend_i32_u).set(d);
        return;
      case 'neg':
        c.i32(0).get(d).op(Op.i32_wrap_i64).op(Op.i32_sub).op(Op.i64_extend_i32_u).set(d);
        return;
      case 'movsx':
        c.get(insn.src)
          .op(Op.i32_wrap_i64)
          .op(f.extend === 8 ? Op.i32_extend8_s : Op.i32_extend16_s);
        c.op(Op.i64_extend_i32_u).set(d);
        return;
      default:
        this.divide(insn, false);
    }
  }

  /**
   * Division and modulo with eBPF's rules: x / 0 = 0, x % 0 = x (32-bit: zero-extended),
   * INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0 (WebAssembly would trap on the first and on zero).
   */
  private divide(insn: InsnOf<'alu'>, wide: boolean): void {
    const { c } = this;
    const op = insn.form.op;
    const d = insn.dst;
    const signed = op === 'sdiv' || op === 'smod';
    const isDiv = op === 'div' || op === 'sdiv';
    const divOp = wide
      ? { div: Op.i64_div_u, sdiv: Op.i64_div_s, mod: Op.i64_rem_u, smod: Op.i64_rem_s }[op as 'div']
      : { div: Op.i32_div_u, sdiv: Op.i32_div_s, mod: Op.i32_rem_u, smod: Op.i32_rem_s }[op as 'div'];
    const x = () => (wide ? c.get(d) : c.get(d).op(Op.i32_wrap_i64));
    const done = () => (wide ? c.set(d) : c.op(Op.i64_extend_i32_u).set(d));
    if (insn.form.source === 'imm') {
      const y = insn.imm;
      if (y === 0) {
        if (isDiv) c.i64(0n).set(d);
        else if (!wide) {
          x();
          done();
        }
        return;
      }
      if (signed && y === -1) {
        if (isDiv) {
          if (wide) c.i64(0n).get(d).op(Op.i64_sub).set(d);
          else c.i32(0).get(d).op(Op.i32_wrap_i64).op(Op.i32_sub).op(Op.i64_extend_i32_u).set(d);
        } else c.i64(0n).set(d);
        return;
      }
      x();
      if (wide) c.i64(y);
      else c.i32(y);
      c.op(divOp);
      done();
      return;
    }
    // Register divisor: B (i64) holds it, tested at run time.
    const s = insn.src;
    if (wide) c.get(s).set(B);
    else c.get(s).op(Op.i32_wrap_i64).op(Op.i64_extend_i32_s).set(B);
    // Zero divisor.
    c.get(B).op(Op.i64_eqz).if();
    if (isDiv) c.i64(0n).set(d);
    else if (!wide) {
      x();
      done();
    }
    c.else();
    if (signed) {
      c.get(B).i64(-1n).op(Op.i64_eq).if();
      if (isDiv) {
        if (wide) c.i64(0n).get(d).op(Op.i64_sub).set(d);
        else c.i32(0).get(d).op(Op.i32_wrap_i64).op(Op.i32_sub).op(Op.i64_extend_i32_u).set(d);
      } else c.i64(0n).set(d);
      c.else();
    }
    x();
    if (wide) c.get(B);
    else c.get(B).op(Op.i32_wrap_i64);
    c.op(divOp);
    done();
    if (signed) c.end();
    c.end();
  }

  private byteOrder(insn: InsnOf<'end'>): void {
    const { c } = this;
    const d = insn.dst;
    const f = insn.form;
    if (f.order === 'le') {
      if (f.bits === 16) c.get(d).i64(0xffffn).op(Op.i64_and).set(d);
      else if (f.bits === 32) c.get(d).i64(0xffffffffn).op(Op.i64_and).set(d);
      return;
    }
    if (f.bits === 16) {
      c.get(d).i64(8n).op(Op.i64_shl).i64(0xff00n).op(Op.i64_and);
      c.get(d).i64(8n).op(Op.i64_shr_u).i64(0xffn).op(Op.i64_and);
      c.op(Op.i64_or).set(d);
      return;
    }
    if (f.bits === 32) {
      c.get(d).op(Op.i32_wrap_i64).set(T);
      this.bswap32();
      c.op(Op.i64_extend_i32_u).set(d);
      return;
    }
    c.get(d).op(Op.i32_wrap_i64).set(T);
    this.bswap32();
    c.op(Op.i64_extend_i32_u).i64(32n).op(Op.i64_shl);
    c.get(d).i64(32n).op(Op.i64_shr_u).op(Op.i32_wrap_i64).set(T);
    this.bswap32();
    c.op(Op.i64_extend_i32_u).op(Op.i64_or).set(d);
  }

  /** Push bswap32 of local T. */
  private bswap32(): void {
    const { c } = this;
    c.get(T).i32(8).op(Op.i32_rotl).i32(0x00ff00ff).op(Op.i32_and);
    c.get(T)
      .i32(24)
      .op(Op.i32_rotl)
      .i32(0xff00ff00 | 0)
      .op(Op.i32_and);
    c.op(Op.i32_or);
  }
}
