/**
 * Prepared runs ({@link Runner}, from `Vm.prepare`): one program run many times — benchmarks,
 * test runs over a capture's packets — without the per-run set-up of `Vm.run`. The stack and
 * input regions stay mapped between runs, the execution options and the JIT's run context are
 * built once, and a run returns r0's low 32 bits as a number (the full r0 in {@link Runner.r0}),
 * so a run allocates nothing. Results are `Vm.run`'s: r0, executed instructions, faults (class,
 * slot, message), maps and trace lines, on both engines.
 */
import { jitRecordLoop, type RecordLoop, type RecordWalk } from '../jit/record-loop.js';
import { type JitRunContext, jitRepeatFresh, jitRunContext, jitRunFresh } from '../jit/runtime.js';
import type { HelperEnv, HelperRegistry } from './helpers.js';
import {
  type CompiledProgram,
  type ExecuteOptions,
  execute,
  MAX_CALL_FRAMES,
  type Machine,
  type RunState,
  STACK_SIZE,
  toBigInt,
} from './interpreter.js';
import type { VmMapRegistry } from './maps/registry.js';
import type { Region, VmMemory } from './memory.js';

/** What a {@link Runner} uses of its VM (given by `Vm.prepare`). */
export interface RunnerHost {
  readonly memory: VmMemory;
  readonly maps: VmMapRegistry;
  readonly engine: 'jit' | 'interpreter';
  readonly machine: Machine;
  readonly state: RunState;
  readonly helpers: HelperRegistry;
  readonly env: HelperEnv;
  /** Point the VM's trace collection and callbacks' stack at this run's. */
  enter(lines: string[], stackBase: number): void;
  /**
   * Whether `error` ends a run with r0 = 0 instead of failing it (a legacy packet load past the
   * packet, as in the kernel).
   */
  endsWithZero(error: unknown): boolean;
}

/** Options of `Vm.prepare`. */
export interface PrepareOptions {
  /** Executed-instruction budget of each run (default: the VM's). */
  readonly budget?: number;
  /** The simulated CPU the runs run on (default: the VM's current one). */
  readonly cpu?: number;
}

/** A program prepared for many runs on one VM (`Vm.prepare`). */
export class Runner {
  readonly program: CompiledProgram;
  /** Instructions executed by the last run. */
  insnsExecuted = 0;
  /** `bpf_trace_printk` lines of the last run (when the VM has no `trace` callback). */
  readonly trace: string[] = [];
  private readonly host: RunnerHost;
  private readonly options: ExecuteOptions;
  private readonly context: JitRunContext | undefined;
  private readonly cpu: number | undefined;
  private input: Region | undefined;
  private r0lo = 0;
  private r0hi = 0;

  constructor(program: CompiledProgram, host: RunnerHost, options: PrepareOptions & { budget: number }) {
    this.program = program;
    this.host = host;
    this.cpu = options.cpu;
    const stack = host.memory.scratch('stack', MAX_CALL_FRAMES * STACK_SIZE, false);
    this.options = {
      memory: host.memory,
      helpers: host.helpers,
      env: host.env,
      stackBase: stack.start,
      budget: options.budget,
      state: host.state,
    };
    this.context = host.engine === 'jit' ? jitRunContext(this.options, host.machine) : undefined;
  }

  /** r0 of the last run, unsigned 64-bit. */
  get r0(): bigint {
    return toBigInt(this.r0lo, this.r0hi);
  }

  /**
   * Run once as `Vm.run` does: `mem` (when given) is copied into the input region, r1 = its
   * address, r2 = its length. Without `mem` the run sees the input region as the last run left
   * it (the kernel's `repeat`: the same packet, changes accumulate), or r1 = r2 = 0 if no run had
   * input. Returns r0's low 32 bits, unsigned.
   */
  run(mem?: Uint8Array): number {
    if (mem) {
      let input = this.input;
      const memory = this.host.memory;
      if (!input || input.end - input.start !== mem.length) {
        if (input) memory.free(input);
        input = this.input = memory.alloc(mem.length, { name: 'input memory', align: 16 });
      }
      memory.bytes.set(mem, input.start);
    }
    const input = this.input;
    return input ? this.runWith(input.start, input.end - input.start) : this.runWith(0, 0);
  }

  /**
   * Run `n` times on the input region as the last run left it ({@link run} without `mem`, `n`
   * times; see {@link repeatWith}). Returns the last r0's low 32 bits.
   */
  repeat(n: number): number {
    const input = this.input;
    return input ? this.repeatWith(n, input.start, input.end - input.start) : this.repeatWith(n, 0, 0);
  }

  /**
   * Run once with r1 and r2 (32-bit values: a context address, an address and a length), every
   * other register zero. Returns r0's low 32 bits, unsigned.
   */
  runWith(r1: number, r2: number): number {
    try {
      return this.runOnce(r1, r2);
    } catch (error) {
      if (!this.host.endsWithZero(error)) throw error;
      this.insnsExecuted = 0;
      this.r0lo = this.r0hi = 0;
      return 0;
    }
  }

  /** Set the host up for a fresh run of this program (trace, stack, CPU, tail-call state). */
  private begin(): void {
    const { host, options } = this;
    const trace = this.trace;
    // Setting `length` costs more than a short run: only when a line was printed.
    if (trace.length !== 0) trace.length = 0;
    host.enter(trace, options.stackBase);
    if (this.cpu !== undefined) host.maps.cpu = this.cpu;
    const state = host.state;
    state.program = this.program;
    state.tailCalls = 0;
    state.tailCall = undefined;
    state.budget = options.budget;
  }

  private runOnce(r1: number, r2: number): number {
    this.begin();
    const { host, options } = this;
    const context = this.context;
    if (context) {
      const count = jitRunFresh(this.program, context, r1, r2);
      if (count >= 0) {
        this.insnsExecuted = count;
        this.r0lo = context.r0lo;
        this.r0hi = context.r0hi;
        return context.r0lo >>> 0;
      }
    }
    const m = host.machine;
    m.lo.fill(0);
    m.hi.fill(0);
    m.lo[1] = r1;
    m.lo[2] = r2;
    const result = execute(this.program, m, options);
    this.insnsExecuted = result.insnsExecuted;
    const r0 = BigInt.asUintN(64, result.r0);
    this.r0lo = Number(r0 & 0xffffffffn) | 0;
    this.r0hi = Number(r0 >> 32n) | 0;
    return this.r0lo >>> 0;
  }

  /**
   * Run `n` times (at least once) with r1 and r2, as `n` calls of {@link runWith} would — the
   * kernel's test-run `repeat` — but, on the JIT, without leaving WebAssembly between runs.
   * {@link insnsExecuted} is then the sum over the runs, {@link trace} holds the lines of all
   * runs; returns the last r0's low 32 bits. A fault ends the repetition, as it would the loop.
   */
  repeatWith(n: number, r1: number, r2: number): number {
    const context = this.context;
    if (context && n > 1) {
      this.begin();
      const count = jitRepeatFresh(this.program, context, n, r1, r2);
      if (count >= 0) {
        this.insnsExecuted = count;
        this.r0lo = context.r0lo;
        this.r0hi = context.r0hi;
        return context.r0lo >>> 0;
      }
    }
    const lines: string[] = [];
    let total = 0;
    let retval = 0;
    for (let i = 0; i < Math.max(1, n); i++) {
      retval = this.runWith(r1, r2);
      total += this.insnsExecuted;
      if (this.trace.length > 0) lines.push(...this.trace);
    }
    this.insnsExecuted = total;
    this.trace.length = 0;
    this.trace.push(...lines);
    return retval;
  }

  /**
   * The JIT's record loop for this program (`jit/record-loop.ts`: many packets of a capture in
   * one call), or undefined on the interpreter or where the JIT cannot run it.
   */
  recordLoop(): RecordLoop | undefined {
    return this.context ? jitRecordLoop(this.program, this.context) : undefined;
  }

  /**
   * Walk records with `loop` (from {@link recordLoop}), set up once as {@link runWith} sets up
   * each run: its packets' runs are this runner's. {@link insnsExecuted} is not kept.
   */
  walkRecords(loop: RecordLoop, walk: RecordWalk): number {
    this.begin();
    return loop.walk(walk);
  }

  /** A copy of the input region as the last run left it (undefined before any input). */
  readInput(): Uint8Array | undefined {
    const input = this.input;
    return input ? this.host.memory.read(input.start, input.end - input.start) : undefined;
  }

  /** Unmap the runner's input region (a later run with `mem` maps a new one). */
  close(): void {
    if (this.input) this.host.memory.free(this.input);
    this.input = undefined;
  }
}
