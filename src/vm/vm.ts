/**
 * The userspace VM: loads programs into the flat address space and runs them.
 */
import { decode, type Insn } from '../isa/instruction.js';
import { controlHelpers, type HelperEnv, HelperRegistry } from './helpers.js';
import {
  type CompiledProgram,
  compile,
  DEFAULT_INSN_BUDGET,
  execute,
  MAX_CALL_FRAMES,
  MAX_TAIL_CALLS,
  type RunState,
  STACK_SIZE,
} from './interpreter.js';
import { type FdArrayEntry, mapHelpers, mapResolver } from './map-helpers.js';
import { FdArrayMap } from './maps/fd-maps.js';
import { VmMapRegistry } from './maps/registry.js';
import { type Region, VmMemory } from './memory.js';

export interface VmOptions {
  /** Helpers by id; default: the base helpers. */
  readonly helpers?: HelperRegistry;
  /** Executed-instruction budget per run; default 1,000,000. */
  readonly budget?: number;
  /** Receives each `bpf_trace_printk` line; default: collected in {@link RunResult.trace}. */
  readonly trace?: (line: string) => void;
  /** Clock for `bpf_ktime_get_ns`; default `process.hrtime`-like monotonic time. */
  readonly now?: () => bigint;
  /** Source of `bpf_get_prandom_u32`; default `Math.random`. */
  readonly random?: () => number;
  /** Simulated CPUs for per-CPU maps; default 2. */
  readonly cpus?: number;
}

export interface RunInput {
  /**
   * Input memory: copied into a fresh writable region; r1 = its address, r2 = its length.
   * Without it r1 = r2 = 0 (the bpf_conformance contract).
   */
  readonly mem?: Uint8Array;
  /** Override the budget for this run. */
  readonly budget?: number;
  /** The simulated CPU to run on (per-CPU maps, `bpf_get_smp_processor_id`); default: the last one. */
  readonly cpu?: number;
  /**
   * Copy the input memory back out into {@link RunResult.mem} (default true). Callers that only
   * need r0 turn it off: the copy costs more than a short program's whole run.
   */
  readonly readMem?: boolean;
}

export interface RunResult {
  /** r0 at exit, unsigned 64-bit. */
  readonly r0: bigint;
  readonly insnsExecuted: number;
  /** The input memory as the program left it (unless `readMem` was false). */
  readonly mem: Uint8Array | undefined;
  /** `bpf_trace_printk` lines of this run (when no `trace` callback was given). */
  readonly trace: readonly string[];
}

const startTime = typeof performance !== 'undefined' ? performance.timeOrigin : Date.now();
function monotonicNs(): bigint {
  return BigInt(Math.round((startTime + performance.now()) * 1e6));
}

/** Options of {@link Vm.load}. */
export interface LoadOptions {
  /**
   * The maps a program's `lddw` pseudo sources name: MAP_IDX/MAP_IDX_VALUE index this list,
   * MAP_FD/MAP_VALUE take a map id of {@link Vm.maps}.
   */
  readonly fdArray?: readonly FdArrayEntry[];
}

/** A userspace eBPF virtual machine. Runs anywhere JavaScript runs. */
export class Vm {
  readonly memory = new VmMemory();
  readonly helpers: HelperRegistry;
  /** The VM's maps (and the programs PROG_ARRAYs name). */
  readonly maps: VmMapRegistry;
  readonly budget: number;
  private readonly options: VmOptions;
  private readonly lo = new Int32Array(11);
  private readonly hi = new Int32Array(11);
  private lines: string[] = [];
  private readonly helperEnv: HelperEnv;
  private stackBase = 0;
  private readonly state: RunState;

  constructor(options: VmOptions = {}) {
    this.options = options;
    this.maps = new VmMapRegistry(this.memory, { cpus: options.cpus });
    this.helpers = options.helpers ?? new HelperRegistry();
    if (!options.helpers) {
      for (const helper of mapHelpers(this.maps)) this.helpers.register(helper);
      for (const helper of controlHelpers((map, index) => this.programInArray(map, index)))
        this.helpers.register(helper);
    }
    this.budget = options.budget ?? DEFAULT_INSN_BUDGET;
    this.helperEnv = this.env();
    const empty = compile([]);
    this.state = { program: empty, depth: 0, nested: 0, tailCall: undefined, tailCalls: 0 };
  }

  /** Prepare a program (raw bytes or decoded instructions) for running. */
  load(program: Uint8Array | readonly Insn[], options: LoadOptions = {}): CompiledProgram {
    const insns = program instanceof Uint8Array ? decode(program) : program;
    return compile(insns, mapResolver(this.maps, options.fdArray ?? []));
  }

  /** Run a loaded program once with fresh stack and input memory. */
  run(program: CompiledProgram, input: RunInput = {}): RunResult {
    const lines: string[] = [];
    this.lines = lines;
    const stack = this.memory.scratch('stack', MAX_CALL_FRAMES * STACK_SIZE);
    this.stackBase = stack.start;
    let mem: Region | undefined;
    if (input.mem) {
      mem = this.memory.scratch('input memory', input.mem.length, false);
      this.memory.bytes.set(input.mem, mem.start);
    }
    if (input.cpu !== undefined) this.maps.cpu = input.cpu;
    this.lo.fill(0);
    this.hi.fill(0);
    if (mem) {
      this.lo[1] = mem.start;
      this.lo[2] = mem.end - mem.start;
    }
    const state = this.state;
    state.program = program;
    state.tailCalls = 0;
    state.tailCall = undefined;
    const result = execute(
      program,
      { lo: this.lo, hi: this.hi },
      this.executeOptions(input.budget ?? this.budget),
    );
    return {
      r0: result.r0,
      insnsExecuted: result.insnsExecuted,
      mem: mem && input.readMem !== false ? this.memory.read(mem.start, mem.end - mem.start) : undefined,
      trace: lines,
    };
  }

  private executeOptions(budget: number) {
    return {
      memory: this.memory,
      helpers: this.helpers,
      env: this.helperEnv,
      stackBase: this.stackBase,
      budget,
      state: this.state,
    };
  }

  /** The program in slot `index` of the PROG_ARRAY whose handle is `map`. */
  private programInArray(map: bigint, index: bigint): CompiledProgram | undefined {
    const array = this.maps.mapByHandle(map);
    if (!(array instanceof FdArrayMap) || index >= 2n ** 32n) return undefined;
    const id = array.programAt(Number(index));
    return id === undefined ? undefined : this.maps.programById(id);
  }

  /** Run a subprogram of the current program as a callback, saving and restoring registers. */
  private callFunction(slot: number, args: readonly bigint[]): bigint {
    const state = this.state;
    const depth = state.depth + 1;
    if (depth >= MAX_CALL_FRAMES) throw new Error(`callback at slot ${slot}: call stack too deep`);
    const savedLo = this.lo.slice();
    const savedHi = this.hi.slice();
    const savedDepth = state.depth;
    for (let r = 1; r <= 5; r++) {
      const value = BigInt.asUintN(64, args[r - 1] ?? 0n);
      this.lo[r] = Number(value & 0xffffffffn) | 0;
      this.hi[r] = Number(value >> 32n) | 0;
    }
    const nestedBefore = state.nested;
    try {
      const result = execute(state.program, { lo: this.lo, hi: this.hi }, this.executeOptions(this.budget), {
        pc: slot,
        depth,
      });
      state.nested = nestedBefore + result.insnsExecuted;
      return result.r0;
    } finally {
      this.lo.set(savedLo);
      this.hi.set(savedHi);
      state.depth = savedDepth;
    }
  }

  private env(): HelperEnv {
    const memory = this.memory;
    return {
      memory,
      trace: this.options.trace ?? ((line) => this.lines.push(line)),
      now: this.options.now ?? monotonicNs,
      random: this.options.random ?? (() => Math.floor(Math.random() * 2 ** 32)),
      readString(address, max) {
        if (address >= 2n ** 32n) return undefined;
        const start = Number(address);
        const region = memory.find(start, 1);
        if (!region) return undefined;
        const end = Math.min(region.end, start + max);
        let stop = start;
        while (stop < end && memory.bytes[stop] !== 0) stop++;
        return new TextDecoder().decode(memory.bytes.subarray(start, stop));
      },
      callFunction: (slot, ...args) => this.callFunction(slot, args),
      tailCall: (program) => {
        const state = this.state;
        if (state.tailCalls >= MAX_TAIL_CALLS || state.depth !== 0) return false;
        state.tailCalls++;
        state.tailCall = program;
        return true;
      },
    };
  }
}
