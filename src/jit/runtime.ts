/**
 * Running JIT-compiled programs: {@link jitExecute} has the interpreter's `execute` signature and
 * results (r0, executed instructions, the same faults at the same slots), so the VM swaps one for
 * the other. Modules are compiled on a program's first run and cached per VM memory.
 *
 * The module imports the VM's `WebAssembly.Memory`, so the JIT, the interpreter, maps, packets and
 * contexts share bytes and addresses. Its imports are the slow paths: helper calls (through the
 * same {@link HelperRegistry} and {@link RunState}), memory accesses outside the cached region,
 * and faults, each throwing exactly the interpreter's error.
 */
import { HELPER_NAMES } from '../isa/helper-ids.js';
import type { Insn } from '../isa/instruction.js';
import type { VerifierFacts } from '../verifier/types.js';
import {
  helperFailure,
  InstructionBudgetError,
  MemoryAccessError,
  UnknownHelperError,
  VmError,
} from '../vm/errors.js';
import {
  type CompiledProgram,
  type ExecuteOptions,
  type ExecuteResult,
  type ExecuteStart,
  execute,
  MAX_CALL_FRAMES,
  type Machine,
  STACK_SIZE,
  toBigInt,
} from '../vm/interpreter.js';
import { CPU_ADDRESS, type Region, type VmMemory } from '../vm/memory.js';
import {
  type ArrayLookup,
  CACHE_END,
  CACHE_MIN,
  COUNT_OUT,
  FaultKind,
  FRESH_RUN,
  FUEL_OUT,
  type GeneratedModule,
  GLOBALS,
  generate,
  REPEAT_RUN,
} from './codegen.js';
import { LOOP_GLOBAL_PREFIX, LOOP_GLOBALS, type LoopGlobal, WALK } from './record-loop-code.js';

type Entry = (fp: number, fuel: number, stackBase: number, fresh: number) => void;
/** What a fresh run takes: r1 and r2 (32-bit values), the frame, the budget, the stack, the cache state. */
type FreshArgs = [r1: number, r2: number, fp: number, fuel: number, stackBase: number, fresh: number];
/** {@link FRESH_RUN}: `(r1, r2, fp, fuel, stackBase, fresh)` → r0's low 32 bits. */
type FreshEntry = (...args: FreshArgs) => number;
/** {@link REPEAT_RUN}: `(n, r1, r2, fp, fuel, stackBase, fresh)` → the last r0's low 32 bits. */
type RepeatEntry = (n: number, ...args: FreshArgs) => number;

/** What one execution in progress gives the imports. */
interface Run {
  readonly options: ExecuteOptions;
  readonly machine: Machine;
  readonly stackTop: number;
}

/** A program compiled for one VM memory. */
export interface JitProgram {
  readonly generated: GeneratedModule;
  readonly facts: VerifierFacts | undefined;
  /** Entry functions by slot. */
  readonly entries: ReadonlyMap<number, Entry>;
  readonly globals: Readonly<Record<(typeof GLOBALS)[number], WebAssembly.Global>>;
  /** The execution the imports serve (nested for callbacks). */
  run: Run | undefined;
  /**
   * The regions in the module's read and write caches and their indices in the memory's region
   * list: still there, or the caches are reset to the run's stack before the next run (undefined
   * before the first run).
   */
  cached: [Region | undefined, Region | undefined];
  cachedAt: [number, number];
  /** The entry at slot 0. */
  main: Entry | undefined;
  /** The entry at slot 0 for a fresh run (registers from parameters). */
  readonly fresh: FreshEntry;
  /** The entry at slot 0 for repeated fresh runs, or undefined when the program may tail call. */
  readonly repeat: RepeatEntry | undefined;
  /** The module's record loop (`record-loop.ts`): its function and globals. */
  readonly loop: {
    readonly walk: (...args: number[]) => number;
    readonly globals: Readonly<Record<LoopGlobal, WebAssembly.Global>>;
  };
}

const factsByProgram = new WeakMap<CompiledProgram, VerifierFacts>();
const lookupsByProgram = new WeakMap<CompiledProgram, (handle: bigint) => ArrayLookup | undefined>();

/**
 * Let the JIT compile `bpf_map_lookup_elem` on the array maps `resolve` describes inline (before
 * the program's first run; used with verifier facts only). The VM gives it for its own map helpers.
 */
export function useArrayLookups(
  program: CompiledProgram,
  resolve: (handle: bigint) => ArrayLookup | undefined,
): void {
  lookupsByProgram.set(program, resolve);
}
const cache = new WeakMap<VmMemory, WeakMap<CompiledProgram, JitProgram | null>>();

/**
 * Give the JIT what the verifier proved about `program` (before its first run): accesses in
 * {@link VerifierFacts.safeAccess} compile to plain loads and stores without region checks.
 */
export function useVerifierFacts(program: CompiledProgram, facts: VerifierFacts): void {
  factsByProgram.set(program, facts);
  lastProgram = undefined;
}

/** Whether this JavaScript engine can run JIT-compiled programs. */
export const jitAvailable = typeof WebAssembly === 'object' && typeof WebAssembly.Module === 'function';

/**
 * Compile `program` to a WebAssembly instance bound to `memory`. Returns undefined when the engine
 * refuses a synchronous compile (browsers' main threads limit its size): an asynchronous compile
 * then starts, and the interpreter runs the program until it is ready.
 */
export function compileJit(program: CompiledProgram, memory: VmMemory): JitProgram | undefined {
  // Instructions the code generator does not know yet run on the interpreter.
  if (program.insns.some((insn) => !jitSupports(insn))) return undefined;
  const facts = factsByProgram.get(program);
  const generated = generate(program, {
    safeAccess: facts?.safeAccess,
    verified: facts !== undefined,
    stackDepth: facts?.stackDepth,
    arrayLookup: lookupsByProgram.get(program),
  });
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(generated.bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    WebAssembly.compile(generated.bytes as Uint8Array<ArrayBuffer>).then(
      (compiled) => perMemory(memory).set(program, instantiate(program, memory, generated, compiled, facts)),
      () => undefined,
    );
    return undefined;
  }
  return instantiate(program, memory, generated, module, facts);
}

/**
 * Helpers that run program callbacks inside the call (bpf_loop, for_each_map_elem, find_vma,
 * user_ringbuf_drain): their instructions count against the run's budget mid-block, which the
 * JIT's block-wise budget cannot place exactly, so such programs run on the interpreter.
 */
const CALLBACK_HELPERS = new Set([164, 180, 181, 209]);

/** Whether the code generator handles `insn` (may_goto and addr_space_cast are interpreter-only for now). */
function jitSupports(insn: Insn): boolean {
  const op = (insn.form as { op?: string }).op;
  if (insn.kind === 'call' && insn.src === 0 && CALLBACK_HELPERS.has(insn.imm)) return false;
  return op !== 'may_goto' && op !== 'addr_space_cast';
}

function perMemory(memory: VmMemory): WeakMap<CompiledProgram, JitProgram | null> {
  let map = cache.get(memory);
  if (!map) {
    map = new WeakMap();
    cache.set(memory, map);
  }
  return map;
}

// The last program run: most runs repeat it, and the two WeakMap lookups cost more than its run.
let lastProgram: CompiledProgram | undefined;
let lastMemory: VmMemory | undefined;
let lastJit: JitProgram | undefined;

/** The cached compilation of `program` for `memory`, compiling it on first use. */
export function jitFor(program: CompiledProgram, memory: VmMemory): JitProgram | undefined {
  if (program === lastProgram && memory === lastMemory) return lastJit;
  const jit = lookup(program, memory);
  if (jit) {
    lastProgram = program;
    lastMemory = memory;
    lastJit = jit;
  }
  return jit;
}

function lookup(program: CompiledProgram, memory: VmMemory): JitProgram | undefined {
  const map = perMemory(memory);
  let jit = map.get(program);
  if (jit === undefined || (jit && jit.facts !== factsByProgram.get(program))) {
    jit = compileJit(program, memory) ?? null;
    map.set(program, jit);
  }
  return jit ?? undefined;
}

/** Where each load and store's base register, offset, size and direction come from. */
function accessOf(insn: Insn): { reg: number; size: number; write: boolean } {
  switch (insn.kind) {
    case 'ldx':
      return { reg: insn.src, size: insn.form.size, write: false };
    case 'st':
    case 'stx':
      return { reg: insn.dst, size: insn.form.size, write: true };
    case 'atomic':
      return insn.form.op === 'load_acquire'
        ? { reg: insn.src, size: insn.form.size, write: false }
        : { reg: insn.dst, size: insn.form.size, write: true };
    default:
      throw new Error(`jit: instruction ${insn.slot} does not access memory`);
  }
}

function instantiate(
  program: CompiledProgram,
  memory: VmMemory,
  generated: GeneratedModule,
  module: WebAssembly.Module,
  facts: VerifierFacts | undefined,
): JitProgram {
  const insns = program.insns;
  const slotOf = (index: number) => (index < insns.length ? insns[index].slot : program.slots);
  let jit: JitProgram;
  const current = (): Run => jit.run!;
  const imports = {
    vm: {
      memory: memory.memory,
      helper(
        index: number,
        id: number,
        fp: number,
        a: number,
        ah: number,
        b: number,
        bh: number,
        c: number,
        ch: number,
        d: number,
        dh: number,
        e: number,
        eh: number,
      ): void {
        const run = current();
        const { options, machine } = run;
        const slot = insns[index].slot;
        const helper = options.helpers.get(id);
        if (!helper) throw new UnknownHelperError(slot, id, HELPER_NAMES[id]);
        if (generated.spillAt.has(index)) readRegisters(memory, machine);
        const state = options.state;
        state.depth = (run.stackTop - (fp >>> 0)) / STACK_SIZE;
        state.nested = 0;
        let lo: number;
        let hi: number;
        try {
          const call32 = helper.call32;
          // A call32 helper runs no program code: it needs no budget left (reading a
          // WebAssembly global from JavaScript costs more than the lookup itself).
          if (call32 !== undefined && (ah | bh | ch | dh | eh) === 0) {
            lo = call32(options.env, a >>> 0, b >>> 0, c >>> 0, d >>> 0, e >>> 0) | 0;
            hi = 0;
          } else {
            // What the run has left at this call, as the interpreter counts it (callbacks draw on it).
            state.remaining = jit.globals.remaining.value as number;
            const r0 = BigInt.asUintN(
              64,
              helper.call(
                options.env,
                toBigInt(a, ah),
                toBigInt(b, bh),
                toBigInt(c, ch),
                toBigInt(d, dh),
                toBigInt(e, eh),
              ),
            );
            lo = Number(r0 & 0xffffffffn) | 0;
            hi = Number(r0 >> 32n) | 0;
          }
        } catch (error) {
          throw helperFailure(slot, helper.name, id, error);
        }
        if (state.nested !== 0) jit.globals.nested.value = BigInt(state.nested);
        if (state.tailCall) jit.globals.tail.value = 1;
        // r0 back through the spill area (the helper may have grown the memory: fresh views).
        const out = spillArea(memory).i32;
        out[0] = lo;
        out[1] = hi;
      },
      access(index: number, reg: bigint): number {
        const insn = insns[index];
        const { size, write } = accessOf(insn);
        const value = BigInt.asUintN(64, reg);
        const a = value < 0x1_0000_0000n ? Number(value) + insn.off : -1;
        const region = a >= 0 ? memory.find(a, size) : undefined;
        if (region && (region.writable || !write)) {
          // Cache the region (its part below CACHE_END) when at least CACHE_MIN bytes are left.
          const end = Math.min(region.end, CACHE_END);
          if (end - region.start >= CACHE_MIN) {
            const g = jit.globals;
            jit.cached[write ? 1 : 0] = region;
            jit.cachedAt[write ? 1 : 0] = memory.regions.indexOf(region);
            if (write) {
              g.ws.value = BigInt(region.start);
              g.wl.value = BigInt(end - region.start - CACHE_MIN);
            } else {
              g.rs.value = BigInt(region.start);
              g.rl.value = BigInt(end - region.start - CACHE_MIN);
            }
          }
          return a;
        }
        // The interpreter's words for the fault, case by case.
        const exact = BigInt.asUintN(64, value + BigInt(insn.off));
        const detail = memory.accessFault(exact, size, write) ?? 'address not mapped';
        throw new MemoryAccessError(insn.slot, exact, size, write ? 'write' : 'read', detail);
      },
      budget(index: number): never {
        throw new InstructionBudgetError(slotOf(index), current().options.state.budget);
      },
      deopt(index: number, fp: number, fuel: number): void {
        // The rest of the function on the interpreter, which counts and faults as a whole run
        // on it would: registers from the spill area, the frame as the function left it.
        const { options, machine, stackTop } = current();
        readRegisters(memory, machine);
        const depth = (stackTop - (fp >>> 0)) / STACK_SIZE;
        const result = execute(
          program,
          machine,
          { ...options, budget: fuel },
          { pc: insns[index].slot, depth, resume: true },
        );
        // r0–r5 as the function leaves them, and the fuel left (the memory may have grown).
        const out = spillArea(memory);
        const r0 = BigInt.asUintN(64, result.r0);
        out.i32[0] = Number(r0 & 0xffffffffn) | 0;
        out.i32[1] = Number(r0 >> 32n) | 0;
        for (let r = 1; r <= 5; r++) {
          out.i32[2 * r] = machine.lo[r];
          out.i32[2 * r + 1] = machine.hi[r];
        }
        out.f64[FUEL_SLOT] = fuel - result.insnsExecuted;
      },
      fault(kind: number, index: number): never {
        const slot = slotOf(index);
        switch (kind as FaultKind) {
          case FaultKind.FellOff:
            throw new VmError(slot, 'fell off the end of the program without exit');
          case FaultKind.CallDepth:
            throw new VmError(slot, `call stack too deep (more than ${MAX_CALL_FRAMES} frames)`);
          case FaultKind.Kfunc:
            throw new VmError(slot, `kfunc call (BTF id ${insns[index].imm}) is not supported by the VM`);
          default:
            throw new VmError(slot, 'legacy packet load (ld_abs/ld_ind) needs a socket buffer context');
        }
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  const exports = instance.exports as Record<string, unknown>;
  const entries = new Map<number, Entry>();
  for (const [slot, name] of generated.entries) entries.set(slot, exports[name] as Entry);
  const globals = Object.fromEntries(
    GLOBALS.map((name) => [name, exports[name] as WebAssembly.Global]),
  ) as Record<(typeof GLOBALS)[number], WebAssembly.Global>;
  jit = {
    generated,
    facts,
    entries,
    globals,
    run: undefined,
    cached: [undefined, undefined],
    cachedAt: [-1, -1],
    main: entries.get(0),
    fresh: exports[FRESH_RUN] as FreshEntry,
    repeat: !repeatable(insns) ? undefined : (exports[REPEAT_RUN] as RepeatEntry),
    loop: {
      walk: exports[WALK] as (...args: number[]) => number,
      globals: Object.fromEntries(
        LOOP_GLOBALS.map((name) => [name, exports[`${LOOP_GLOBAL_PREFIX}${name}`] as WebAssembly.Global]),
      ) as Record<LoopGlobal, WebAssembly.Global>,
    },
  };
  return jit;
}

/**
 * The JIT keeps r0–r9 and the fuel left at exit in the never-mapped NULL page, bytes
 * [0, JIT_REGISTER_FILE_END): no program access can reach them (every address below 0x1000
 * faults), and no region is ever placed there.
 */
export const JIT_REGISTER_FILE_END = CPU_ADDRESS + 4;
/** {@link FUEL_OUT} as an index of a `Float64Array` of the spill area. */
const FUEL_SLOT = FUEL_OUT / 8;
const COUNT_SLOT = COUNT_OUT / 8;

/**
 * Whether a program's runs can repeat inside WebAssembly: no `bpf_tail_call` or `callx` (the
 * runtime continues a tail call) and no legacy packet load (a load past the packet ends one run
 * with r0 = 0, caught by the VM).
 */
function repeatable(insns: readonly Insn[]): boolean {
  return !insns.some(
    (insn) =>
      insn.kind === 'callx' ||
      (insn.kind === 'call' && insn.src === 0 && (insn.imm === 12 || insn.imm >= 0x4000_0000)),
  );
}

/**
 * Typed views of the spill area, renewed when the memory grows (its buffer is replaced, and with
 * it {@link VmMemory.bytes}: the views are keyed by that array, since reading `.buffer` costs more
 * than a short program's run).
 */
const views = new WeakMap<VmMemory, { bytes: Uint8Array; i32: Int32Array; f64: Float64Array }>();

let lastView: { bytes: Uint8Array; i32: Int32Array; f64: Float64Array } | undefined;

function spillArea(memory: VmMemory): { i32: Int32Array; f64: Float64Array } {
  const bytes = memory.bytes;
  if (lastView?.bytes === bytes) return lastView;
  let view = views.get(memory);
  if (!view || view.bytes !== bytes) {
    const buffer = bytes.buffer;
    view = { bytes, i32: new Int32Array(buffer, 0, 32), f64: new Float64Array(buffer, 0, 16) };
    views.set(memory, view);
  }
  lastView = view;
  return view;
}

/** Registers r0–r9 from the spill area at address 0 (the NULL page, never mapped for programs). */
function readRegisters(memory: VmMemory, m: Machine): void {
  const i32 = spillArea(memory).i32;
  const { lo, hi } = m;
  for (let r = 0; r < 10; r++) {
    lo[r] = i32[2 * r];
    hi[r] = i32[2 * r + 1];
  }
}

/**
 * Run a program as the interpreter's `execute` does, JIT-compiled (compiling on first use).
 * Falls back to the interpreter where the JIT cannot start: an entry that is not a function's
 * first instruction, or an engine that refused the module.
 */
export function jitExecute(
  program: CompiledProgram,
  m: Machine,
  options: ExecuteOptions,
  start: ExecuteStart = {},
): ExecuteResult {
  const jit = jitFor(program, options.memory);
  const entry = start.pc ? jit?.entries.get(start.pc) : jit?.main;
  const fresh = jit && entry ? accessCacheState(jit, options.memory, options.stackBase) : -1;
  if (!jit || !entry || fresh < 0) return execute(program, m, options, start);
  const depth = start.depth ?? 0;
  const stackTop = options.stackBase + MAX_CALL_FRAMES * STACK_SIZE;
  // A fault ends the whole run, so `jit.run` is restored only on the way out of a normal return.
  const saved = jit.run;
  jit.run = { options, machine: m, stackTop };
  const memory = options.memory;
  const spill = spillArea(memory);
  const { lo, hi } = m;
  const i32 = spill.i32;
  for (let r = 0; r < 10; r++) {
    i32[2 * r] = lo[r];
    i32[2 * r + 1] = hi[r];
  }
  const budget = options.budget;
  entry(stackTop - depth * STACK_SIZE, Math.min(budget, 2 ** 53), options.stackBase, fresh);
  jit.run = saved;
  // Helpers may have grown the memory (a new buffer): take the views again.
  const out = spillArea(memory);
  const count = budget - out.f64[FUEL_OUT / 8];
  const state = options.state;
  if (state.tailCall) {
    // The target replaces this program in the same frame, with the registers as they are.
    const target = state.tailCall;
    state.tailCall = undefined;
    state.program = target;
    readRegisters(options.memory, m);
    const rest = jitExecute(target, m, { ...options, budget: budget - count }, { pc: 0, depth });
    return { r0: rest.r0, insnsExecuted: count + rest.insnsExecuted };
  }
  return { r0: toBigInt(out.i32[0], out.i32[1]), insnsExecuted: count };
}

/** The run's stack region when the access caches can name it (it ends below `CACHE_END`). */
export function cacheableStack(memory: VmMemory, stackBase: number): Region | undefined {
  const size = MAX_CALL_FRAMES * STACK_SIZE;
  return stackBase + size <= CACHE_END ? memory.find(stackBase, size) : undefined;
}

/**
 * Whether the access caches (the last read and written regions) still name mapped regions: 0 when
 * they do; else 1, and the module resets both to the run's stack (with the runtime's record of
 * them); -1 when the stack lies too high to be cached (the run then takes the interpreter).
 */
export function accessCacheState(jit: JitProgram, memory: VmMemory, stackBase: number): 0 | 1 | -1 {
  const { cached, cachedAt } = jit;
  const regions = memory.regions;
  if (
    cached[0] !== undefined &&
    regions[cachedAt[0]] === cached[0] &&
    cached[1] !== undefined &&
    regions[cachedAt[1]] === cached[1]
  )
    return 0;
  const stack = cacheableStack(memory, stackBase);
  if (!stack) {
    cached[0] = cached[1] = undefined;
    return -1;
  }
  cached[0] = cached[1] = stack;
  cachedAt[0] = cachedAt[1] = regions.indexOf(stack);
  return 1;
}

/**
 * One execution's context for {@link jitRunFresh}, built once by a prepared runner
 * (`vm/runner.ts`) and reused for all its runs.
 */
export interface JitRunContext {
  readonly options: ExecuteOptions;
  readonly machine: Machine;
  readonly stackTop: number;
  /** Filled by each run: r0 at exit as two 32-bit halves. */
  r0lo: number;
  r0hi: number;
}

/** A run context over `options` (its budget is each run's) and `machine` (used by helpers and tail calls). */
export function jitRunContext(options: ExecuteOptions, machine: Machine): JitRunContext {
  return { options, machine, stackTop: options.stackBase + MAX_CALL_FRAMES * STACK_SIZE, r0lo: 0, r0hi: 0 };
}

/**
 * A fresh run of `program` from slot 0 with r1 and r2 (32-bit values) and every other register
 * zero, as `execute` from a zeroed machine would run it, without allocating: r0 lands in
 * `context.r0lo`/`r0hi`, the executed instructions are returned. Returns -1 when the JIT cannot
 * run the program (the caller then takes the general path).
 */
export function jitRunFresh(
  program: CompiledProgram,
  context: JitRunContext,
  r1: number,
  r2: number,
): number {
  const options = context.options;
  const memory = options.memory;
  const jit = jitFor(program, memory);
  const fresh = jit ? accessCacheState(jit, memory, options.stackBase) : -1;
  if (!jit || fresh < 0) return -1;
  const stackTop = context.stackTop;
  const saved = jit.run;
  jit.run = context;
  const budget = options.budget;
  jit.fresh(r1, r2, stackTop, Math.min(budget, 2 ** 53), options.stackBase, fresh);
  jit.run = saved;
  const out = spillArea(memory);
  const count = budget - out.f64[FUEL_SLOT];
  const state = options.state;
  if (state.tailCall) {
    const target = state.tailCall;
    state.tailCall = undefined;
    state.program = target;
    const m = context.machine;
    readRegisters(memory, m);
    const rest = jitExecute(target, m, { ...options, budget: budget - count }, { pc: 0, depth: 0 });
    const r0 = BigInt.asUintN(64, rest.r0);
    context.r0lo = Number(r0 & 0xffffffffn) | 0;
    context.r0hi = Number(r0 >> 32n) | 0;
    return count + rest.insnsExecuted;
  }
  context.r0lo = out.i32[0];
  context.r0hi = out.i32[1];
  return count;
}

/**
 * `n` fresh runs as {@link jitRunFresh} runs them, back to back inside WebAssembly (the kernel's
 * test-run `repeat`): returns the instructions all runs executed, with the last r0 in `context`;
 * -1 when the JIT cannot run the program or it may tail call (the caller then runs them one by one).
 */
export function jitRepeatFresh(
  program: CompiledProgram,
  context: JitRunContext,
  n: number,
  r1: number,
  r2: number,
): number {
  const options = context.options;
  const memory = options.memory;
  const jit = jitFor(program, memory);
  const repeat = jit?.repeat;
  const fresh = jit && repeat ? accessCacheState(jit, memory, options.stackBase) : -1;
  if (!jit || !repeat || fresh < 0) return -1;
  const saved = jit.run;
  jit.run = context;
  repeat(n, r1, r2, context.stackTop, Math.min(options.budget, 2 ** 53), options.stackBase, fresh);
  jit.run = saved;
  const out = spillArea(memory);
  context.r0lo = out.i32[0];
  context.r0hi = out.i32[1];
  return out.f64[COUNT_SLOT];
}
