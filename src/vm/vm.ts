/**
 * The userspace VM: loads programs into the flat address space and runs them.
 */
import { decode, type Insn } from '../isa/instruction.js';
import { type HelperEnv, HelperRegistry } from './helpers.js';
import {
  type CompiledProgram,
  compile,
  DEFAULT_INSN_BUDGET,
  execute,
  MAX_CALL_FRAMES,
  STACK_SIZE,
} from './interpreter.js';
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
}

export interface RunInput {
  /**
   * Input memory: copied into a fresh writable region; r1 = its address, r2 = its length.
   * Without it r1 = r2 = 0 (the bpf_conformance contract).
   */
  readonly mem?: Uint8Array;
  /** Override the budget for this run. */
  readonly budget?: number;
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

/** A userspace eBPF virtual machine. Runs anywhere JavaScript runs. */
export class Vm {
  readonly memory = new VmMemory();
  readonly helpers: HelperRegistry;
  readonly budget: number;
  private readonly options: VmOptions;
  private readonly lo = new Int32Array(11);
  private readonly hi = new Int32Array(11);
  private lines: string[] = [];
  private readonly helperEnv: HelperEnv;

  constructor(options: VmOptions = {}) {
    this.options = options;
    this.helpers = options.helpers ?? new HelperRegistry();
    this.budget = options.budget ?? DEFAULT_INSN_BUDGET;
    this.helperEnv = this.env();
  }

  /** Prepare a program (raw bytes or decoded instructions) for running. */
  load(program: Uint8Array | readonly Insn[]): CompiledProgram {
    return compile(program instanceof Uint8Array ? decode(program) : program);
  }

  /** Run a loaded program once with fresh stack and input memory. */
  run(program: CompiledProgram, input: RunInput = {}): RunResult {
    const lines: string[] = [];
    this.lines = lines;
    const stack = this.memory.scratch('stack', MAX_CALL_FRAMES * STACK_SIZE);
    let mem: Region | undefined;
    if (input.mem) {
      mem = this.memory.scratch('input memory', input.mem.length, false);
      this.memory.bytes.set(input.mem, mem.start);
    }
    this.lo.fill(0);
    this.hi.fill(0);
    if (mem) {
      this.lo[1] = mem.start;
      this.lo[2] = mem.end - mem.start;
    }
    const result = execute(
      program,
      { lo: this.lo, hi: this.hi },
      {
        memory: this.memory,
        helpers: this.helpers,
        env: this.helperEnv,
        stackBase: stack.start,
        budget: input.budget ?? this.budget,
      },
    );
    return {
      r0: result.r0,
      insnsExecuted: result.insnsExecuted,
      mem: mem && input.readMem !== false ? this.memory.read(mem.start, mem.end - mem.start) : undefined,
      trace: lines,
    };
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
    };
  }
}
