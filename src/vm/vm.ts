/**
 * The userspace VM: loads programs into the flat address space and runs them.
 */
import { HELPER_NAMES } from '../isa/helper-ids.js';
import { decode, type Insn, makeInsn } from '../isa/instruction.js';
import { jitAvailable, jitExecute, useArrayLookups, useVerifierFacts } from '../jit/runtime.js';
import type { ObjectSpec } from '../object/object.js';
import type { TestRunOptions } from '../program.js';
import type { ProgTypeName } from '../uapi.js';
import type { Caps, VerifierResult } from '../verifier/types.js';
import type { PacketKind, PacketState } from './context/packet.js';
import { UnknownHelperError, VmError } from './errors.js';
import { type FibOptions, fibHelpers } from './helpers/fib.js';
import { objectHelpers } from './helpers/objects.js';
import { loadPacketAbs, PACKET_HELPER_TYPES, packetHelpers } from './helpers/packet.js';
import { probeHelpers, VmAddressSpace } from './helpers/probe.js';
import { perfEventHelpers, ringbufHelpers } from './helpers/ringbuf.js';
import { type StackOptions, stackHelpers } from './helpers/stack.js';
import { stringHelpers } from './helpers/strings.js';
import { lockHelpers } from './helpers/sync.js';
import { type Task, taskHelpers } from './helpers/task.js';
import { type Clock, systemClock, timeHelpers } from './helpers/time.js';
import { baseHelpers, controlHelpers, type HelperEnv, HelperRegistry } from './helpers.js';
import type { RunResult, VmHost, VmLoadProgramOptions, VmProgram } from './host.js';
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
import { ArrayMap } from './maps/array.js';
import { FdArrayMap } from './maps/fd-maps.js';
import { VmMapRegistry } from './maps/registry.js';
import { DEFAULT_MEMORY_LIMIT, type MemoryLimitError, type Region, VmMemory } from './memory.js';
import { loadVmObject, type VmLoadObjectOptions, type VmObject } from './object.js';
import { type PrepareOptions, Runner } from './runner.js';
import { unsupportedProgramType } from './support.js';
import { DEFAULT_DEVICES, type TestRunDevice, testRun, type VmTestRunResult } from './test-run.js';
import { verifyProgram, vmVerifierInput } from './verify.js';

export type { RunResult, VmLoadProgramOptions, VmProgram } from './host.js';

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
  /** The current task the task helpers report (pid, uid, comm…); default a stand-in `tsbpf` task. */
  readonly task?: Task | (() => Task);
  /** The clock of the time helpers (ktime_*, jiffies64); default the system clock. */
  readonly clock?: Clock;
  /**
   * The kernel and user stacks `bpf_get_stack` and `bpf_get_stackid` report; default empty (the
   * VM runs no code around a program), so `bpf_get_stackid` returns -EFAULT.
   */
  readonly stacks?: StackOptions;
  /**
   * The routing table `bpf_fib_lookup` consults; without one the devices do not forward and every
   * valid lookup is BPF_FIB_LKUP_RET_FWD_DISABLED, as on a fresh namespace's loopback.
   */
  readonly fib?: FibOptions;
  /** Network devices test runs may name by ifindex; default loopback (1) only. */
  readonly devices?: readonly TestRunDevice[];
  /**
   * How programs run: `jit` compiles each to WebAssembly on its first run (the default where
   * WebAssembly is available), `interpreter` is the reference. Results and faults are identical.
   */
  readonly engine?: 'jit' | 'interpreter';
  /**
   * The most bytes the VM's memory may map: maps, stacks, packets, contexts together. Beyond it
   * a map is not created (`MapError` ENOMEM), a map update fails with -ENOMEM, any other
   * allocation throws {@link MemoryLimitError}. Default {@link DEFAULT_MEMORY_LIMIT} (512 MiB).
   */
  readonly memoryLimit?: number;
  /**
   * Verify typed programs before they load ({@link Vm.loadProgram}, {@link Vm.loadObject}), as
   * `BPF_PROG_LOAD` does: a program Linux would refuse throws {@link VerifierRejectedError} and
   * does not run. Default true; `false` runs anything (uBPF's unchecked mode). Raw programs
   * ({@link Vm.load}) are never verified.
   */
  readonly verify?: boolean;
  /** Who loads the programs, as the verifier sees it: `root` (default), `bpf` or `unpriv`. */
  readonly caps?: Caps;
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

/** `performance.timeOrigin`, read on first use: in Node, touching `performance` loads perf_hooks. */
let startTime: number | undefined;
function monotonicNs(): bigint {
  startTime ??= typeof performance !== 'undefined' ? performance.timeOrigin : Date.now();
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

/** A program calls a helper (or uses an instruction) its program type does not have. */
export class ProgramTypeError extends VmError {
  override name = 'ProgramTypeError';
  /** The helper's name (without `bpf_`), when a helper is the problem. */
  readonly helper: string | undefined;
  constructor(slot: number, reason: string, helper?: string) {
    super(slot, reason);
    this.helper = helper;
  }
}

/** A legacy packet load went past the packet: the program returns 0 (caught by the run). */
class PacketLoadAbort extends VmError {
  override name = 'PacketLoadAbort';
}

/** First id of the VM-internal helpers that stand in for `ld_abs`/`ld_ind` instructions. */
const LD_PACKET_HELPER_BASE = 0x4000_0000;

/** A userspace eBPF virtual machine. Runs anywhere JavaScript runs. */
export class Vm implements VmHost {
  readonly memory: VmMemory;
  readonly helpers: HelperRegistry;
  /** The VM's maps (and the programs PROG_ARRAYs name). */
  readonly maps: VmMapRegistry;
  /** Which VM addresses count as user memory for the probe_read helpers. */
  readonly addressSpace = new VmAddressSpace();
  readonly budget: number;
  /** The engine programs run on. */
  readonly engine: 'jit' | 'interpreter';
  private readonly execute: typeof execute;
  private readonly options: VmOptions;
  private readonly lo = new Int32Array(11);
  private readonly hi = new Int32Array(11);
  private lines: string[] = [];
  private readonly helperEnv: HelperEnv;
  private stackBase = 0;
  private readonly state: RunState;
  private nextPacketLoad = LD_PACKET_HELPER_BASE;
  private readonly devices: readonly TestRunDevice[];
  /**
   * The packet of the test run in progress, which the packet helpers work on. Set by
   * {@link testRun}; undefined otherwise.
   */
  packet: PacketState | undefined;

  constructor(options: VmOptions = {}) {
    this.options = options;
    this.memory = new VmMemory(1, options.memoryLimit ?? DEFAULT_MEMORY_LIMIT);
    this.maps = new VmMapRegistry(this.memory, { cpus: options.cpus });
    this.helpers = options.helpers ?? new HelperRegistry();
    if (!options.helpers) {
      for (const helper of mapHelpers(this.maps)) this.helpers.register(helper);
      for (const helper of controlHelpers((map, index) => this.programInArray(map, index)))
        this.helpers.register(helper);
      for (const helper of packetHelpers(() => this.packet, this.maps)) this.helpers.register(helper);
      for (const helper of [
        ...timeHelpers(options.clock ?? systemClock()),
        ...taskHelpers(options.task),
        ...stringHelpers({ space: this.addressSpace }),
        ...probeHelpers(this.addressSpace),
        ...lockHelpers(),
        ...stackHelpers(options.stacks),
        ...ringbufHelpers(this.maps),
        ...perfEventHelpers(this.maps),
        ...objectHelpers(this.maps, options.task, options.stacks),
        ...fibHelpers(() => this.devices, options.fib),
      ])
        this.helpers.register(helper);
      // An explicit clock for bpf_ktime_get_ns wins over the time helpers' default.
      if (options.now)
        for (const helper of baseHelpers) if (helper.name === 'ktime_get_ns') this.helpers.register(helper);
    }
    this.devices = options.devices ?? DEFAULT_DEVICES;
    this.budget = options.budget ?? DEFAULT_INSN_BUDGET;
    this.engine = options.engine ?? (jitAvailable ? 'jit' : 'interpreter');
    this.execute = this.engine === 'jit' ? jitExecute : execute;
    this.helperEnv = this.env();
    const empty = compile([]);
    this.state = {
      program: empty,
      depth: 0,
      budget: this.budget,
      remaining: this.budget,
      nested: 0,
      tailCall: undefined,
      tailCalls: 0,
    };
  }

  /** Prepare a program (raw bytes or decoded instructions) for running. */
  load(program: Uint8Array | readonly Insn[], options: LoadOptions = {}): CompiledProgram {
    const insns = program instanceof Uint8Array ? decode(program) : program;
    this.checkCalls(insns);
    return compile(insns, mapResolver(this.maps, options.fdArray ?? []));
  }

  /**
   * Refuse, at load time, calls the VM cannot make: helpers its registry lacks and kfuncs (as the
   * kernel's verifier refuses an unknown helper before the program ever runs).
   */
  private checkCalls(insns: readonly Insn[]): void {
    for (const insn of insns) {
      if (insn.kind !== 'call') continue;
      if (insn.form.target === 'helper' && !this.helpers.get(insn.imm))
        throw new UnknownHelperError(insn.slot, insn.imm, HELPER_NAMES[insn.imm]);
      // BTF id 0 is libbpf's poisoned call of a weak kfunc the kernel lacks: dead code behind
      // bpf_ksym_exists(), which the kernel's verifier removes, so only reaching it is an error.
      if (insn.form.target === 'kfunc' && insn.imm !== 0)
        throw new VmError(insn.slot, `kfunc call (BTF id ${insn.imm}) is not supported by the VM`);
    }
  }

  /**
   * Load a program of a type, as `BPF_PROG_LOAD` would: refuses helpers the type does not have
   * ({@link PACKET_HELPER_TYPES}) and legacy packet loads outside socket filters and tc, turns
   * `ld_abs`/`ld_ind` into calls of VM-internal helpers, resolves map references through
   * `fdArray`, verifies it (unless `verify` is false: {@link VmOptions.verify}; a rejection throws
   * {@link VerifierRejectedError}), gives the JIT what the verifier proved, and registers the
   * program so PROG_ARRAYs can hold it.
   */
  loadProgram(options: VmLoadProgramOptions): VmProgram {
    const insns = options.insns instanceof Uint8Array ? decode(options.insns) : options.insns;
    const unsupported = unsupportedProgramType(options.type);
    if (unsupported)
      throw new ProgramTypeError(0, `${options.name ? `'${options.name}': ` : ''}${unsupported}`);
    this.checkCalls(insns);
    const kind = packetKind(options.type);
    const rewritten = insns.map((insn) => {
      if (insn.kind === 'call' && insn.form.target === 'helper') {
        const helper = HELPER_NAMES[insn.imm];
        const kinds = helper ? PACKET_HELPER_TYPES[helper] : undefined;
        if (kinds && !(kind && kinds.includes(kind)))
          throw new ProgramTypeError(
            insn.slot,
            `program of type ${options.type} cannot use helper bpf_${helper}#${insn.imm}`,
            helper,
          );
        return insn;
      }
      if (insn.kind !== 'ldabs' && insn.kind !== 'ldind') return insn;
      if (kind !== 'socket' && kind !== 'tc')
        throw new ProgramTypeError(
          insn.slot,
          `BPF_LD_[ABS|IND] instructions not allowed for ${options.type}`,
        );
      return makeInsn({ opcode: 0x85, dst: 0, src: 0, off: 0, imm: this.packetLoadHelper(insn) }, insn.slot);
    });
    const compiled = compile(rewritten, mapResolver(this.maps, options.fdArray ?? []));
    let verified: VerifierResult | undefined;
    let unverified: string | undefined;
    if (options.verify ?? this.options.verify ?? true) {
      const input =
        options.verifierInput ??
        vmVerifierInput(
          { progType: options.type, caps: this.options.caps ?? 'root' },
          insns,
          options.fdArray ?? [],
          this.maps,
        );
      const outcome = verifyProgram(options.name ?? '', input);
      verified = outcome.verified;
      unverified = outcome.gap;
      if (verified?.facts) {
        useVerifierFacts(compiled, verified.facts);
        // With the VM's own map helpers, array lookups may compile inline.
        if (!this.options.helpers)
          useArrayLookups(compiled, (handle) => {
            const map = this.maps.mapByHandle(handle);
            return map instanceof ArrayMap ? map.inlineLayout() : undefined;
          });
      }
    }
    const id = this.maps.addProgram(compiled);
    return {
      name: options.name ?? '',
      type: options.type,
      compiled,
      id,
      ...(verified ? { verified } : {}),
      ...(unverified ? { unverified } : {}),
    };
  }

  /**
   * Run a program as `BPF_PROG_TEST_RUN` does for its type (`src/vm/test-run.ts`): packet and
   * context built from `data`/`ctx`, `repeat` runs, the kernel's refusals as {@link TestRunError}.
   */
  testRun(program: VmProgram, options: TestRunOptions = {}): VmTestRunResult {
    return testRun(this, program, options, this.devices);
  }

  /**
   * Load an object's maps and programs ({@link loadVmObject}): bytes of an ELF object or its
   * parsed {@link ObjectSpec}. Each program is verified (unless `verify` is false here or in
   * {@link VmOptions}); the ones the verifier refuses are in {@link VmObject.rejected}, not loaded.
   */
  loadObject(object: Uint8Array | ObjectSpec, options: VmLoadObjectOptions = {}): VmObject {
    return loadVmObject(this, object, {
      verify: options.verify ?? this.options.verify ?? true,
      caps: this.options.caps ?? 'root',
    });
  }

  /**
   * Run a loaded program once with r1 = `ctx` (a context already in VM memory), for test runs and
   * contexts built by the caller (tracepoint records). A legacy packet load past the packet ends
   * the program with r0 = 0, as in the kernel.
   */
  runWithContext(
    program: VmProgram | CompiledProgram,
    ctx: number,
    options: { readonly budget?: number } = {},
  ): RunResult {
    const compiled = 'compiled' in program ? program.compiled : program;
    const lines: string[] = [];
    this.lines = lines;
    // Each frame's 512 bytes are zeroed when the frame starts (here for the first, by the
    // interpreter for calls), not all eight frames every run: short programs run much cheaper.
    const stack = this.memory.scratch('stack', MAX_CALL_FRAMES * STACK_SIZE, false);
    this.stackBase = stack.start;
    this.lo.fill(0);
    this.hi.fill(0);
    this.lo[1] = ctx;
    const budget = options.budget ?? this.budget;
    const state = this.state;
    state.program = compiled;
    state.tailCalls = 0;
    state.tailCall = undefined;
    state.budget = budget;
    try {
      const result = this.execute(compiled, { lo: this.lo, hi: this.hi }, this.executeOptions(budget));
      return { r0: result.r0, insnsExecuted: result.insnsExecuted, mem: undefined, trace: lines };
    } catch (error) {
      if (error instanceof PacketLoadAbort) return { r0: 0n, insnsExecuted: 0, mem: undefined, trace: lines };
      throw error;
    }
  }

  /** Register the helper that stands in for one `ld_abs`/`ld_ind` instruction; its id. */
  private packetLoadHelper(insn: Extract<Insn, { kind: 'ldabs' | 'ldind' }>): number {
    const id = this.nextPacketLoad++;
    const size = insn.form.size as 1 | 2 | 4;
    const indirect = insn.kind === 'ldind';
    const src = insn.src;
    const name = `${insn.kind}${size * 8}`;
    this.helpers.register({
      id,
      name,
      call: () => {
        const packet = this.packet;
        if (!packet) throw new VmError(insn.slot, `${name}: legacy packet load needs a test run's packet`);
        // ld_ind adds the (32-bit) index register to the immediate.
        const offset = indirect ? (this.lo[src] + insn.imm) | 0 : insn.imm;
        const value = loadPacketAbs(packet, offset, size);
        if (value === undefined)
          throw new PacketLoadAbort(insn.slot, `${name} at ${offset} is past the packet`);
        return BigInt(value);
      },
    });
    return id;
  }

  /** Run a program (what {@link Vm.loadProgram} or {@link Vm.load} returns) once with fresh stack and input memory. */
  run(loaded: VmProgram | CompiledProgram, input: RunInput = {}): RunResult {
    const program = 'compiled' in loaded ? loaded.compiled : loaded;
    const lines: string[] = [];
    this.lines = lines;
    // Each frame's 512 bytes are zeroed when the frame starts (here for the first, by the
    // interpreter for calls), not all eight frames every run: short programs run much cheaper.
    const stack = this.memory.scratch('stack', MAX_CALL_FRAMES * STACK_SIZE, false);
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
    const budget = input.budget ?? this.budget;
    const state = this.state;
    state.program = program;
    state.tailCalls = 0;
    state.tailCall = undefined;
    state.budget = budget;
    const result = this.execute(program, { lo: this.lo, hi: this.hi }, this.executeOptions(budget));
    return {
      r0: result.r0,
      insnsExecuted: result.insnsExecuted,
      mem: mem && input.readMem !== false ? this.memory.read(mem.start, mem.end - mem.start) : undefined,
      trace: lines,
    };
  }

  /**
   * Prepare a program for many runs ({@link Runner}): the same results as {@link run} at a
   * fraction of its per-run cost (no regions mapped, no objects allocated per run).
   */
  prepare(program: VmProgram | CompiledProgram, options: PrepareOptions = {}): Runner {
    const compiled = 'compiled' in program ? program.compiled : program;
    return new Runner(
      compiled,
      {
        memory: this.memory,
        maps: this.maps,
        engine: this.engine,
        machine: { lo: this.lo, hi: this.hi },
        state: this.state,
        helpers: this.helpers,
        env: this.helperEnv,
        enter: (lines, stackBase) => {
          this.lines = lines;
          this.stackBase = stackBase;
        },
        endsWithZero: (error) => error instanceof PacketLoadAbort,
      },
      { ...options, budget: options.budget ?? this.budget },
    );
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
    if (depth >= MAX_CALL_FRAMES)
      throw new VmError(slot, `callback: call stack too deep (more than ${MAX_CALL_FRAMES} frames)`);
    // The verifier proves a callback is a subprogram; here a bad one is at least in the program.
    if (!Number.isSafeInteger(slot) || slot < 0 || slot >= state.program.slots)
      throw new VmError(state.program.slots, `callback slot ${slot} is outside the program`);
    const savedLo = this.lo.slice();
    const savedHi = this.hi.slice();
    const savedDepth = state.depth;
    for (let r = 1; r <= 5; r++) {
      const value = BigInt.asUintN(64, args[r - 1] ?? 0n);
      this.lo[r] = Number(value & 0xffffffffn) | 0;
      this.hi[r] = Number(value >> 32n) | 0;
    }
    // The callback runs on what the run has left: the instructions before the helper call and
    // those of earlier callbacks of the same call count against it.
    const nestedBefore = state.nested;
    const remainingBefore = state.remaining;
    const allowance = remainingBefore - nestedBefore;
    try {
      const result = this.execute(
        state.program,
        { lo: this.lo, hi: this.hi },
        this.executeOptions(allowance),
        {
          pc: slot,
          depth,
        },
      );
      state.nested = nestedBefore + result.insnsExecuted;
      return result.r0;
    } finally {
      this.lo.set(savedLo);
      this.hi.set(savedHi);
      state.depth = savedDepth;
      state.remaining = remainingBefore;
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

/** The packet family of a program type, for helper rules. */
function packetKind(type: ProgTypeName): PacketKind | undefined {
  if (type === 'XDP') return 'xdp';
  if (type === 'SOCKET_FILTER') return 'socket';
  if (type === 'SCHED_CLS' || type === 'SCHED_ACT') return 'tc';
  if (type === 'CGROUP_SKB') return 'cgroup';
  return undefined;
}
