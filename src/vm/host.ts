/**
 * What object loading (`object.ts`) and test runs (`test-run.ts`) use of a {@link VmHost}, and
 * the records they share with `vm.ts`. A leaf: `vm.ts` builds on those modules, so they name the
 * VM through this interface rather than importing the class.
 */
import type { Insn } from '../isa/instruction.js';
import type { ProgTypeName } from '../uapi.js';
import type { VerifierInput, VerifierResult } from '../verifier/types.js';
import type { PacketState } from './context/packet.js';
import type { CompiledProgram } from './helper-types.js';
import type { FdArrayEntry } from './map-helpers.js';
import type { VmMapRegistry } from './maps/registry.js';
import type { VmMemory } from './memory.js';
import type { PrepareOptions, Runner } from './runner.js';

export interface RunResult {
  /** r0 at exit, unsigned 64-bit. */
  readonly r0: bigint;
  readonly insnsExecuted: number;
  /** The input memory as the program left it (unless `readMem` was false). */
  readonly mem: Uint8Array | undefined;
  /** `bpf_trace_printk` lines of this run (when no `trace` callback was given). */
  readonly trace: readonly string[];
}

/** What {@link Vm.loadProgram} takes. */
export interface VmLoadProgramOptions {
  /** The program type (`XDP`, `SOCKET_FILTER`, `SCHED_CLS`, `RAW_TRACEPOINT`…). */
  readonly type: ProgTypeName;
  /** Decoded instructions or their bytes. */
  readonly insns: Uint8Array | readonly Insn[];
  readonly name?: string;
  /** The maps `lddw` MAP_IDX / MAP_IDX_VALUE index ({@link LoadOptions.fdArray}). */
  readonly fdArray?: readonly FdArrayEntry[];
  /** Verify this program before it loads (default: {@link VmOptions.verify}). */
  readonly verify?: boolean;
  /**
   * The verifier's input when the caller knows more than the instructions and the fd array: an
   * object's BTF, line info (errors then name the C source line) and frozen `.rodata` contents.
   * Its instructions must be `insns`.
   */
  readonly verifierInput?: VerifierInput;
}

/** A program loaded for a type: what {@link Vm.testRun} runs and PROG_ARRAYs name by `id`. */
export interface VmProgram {
  readonly name: string;
  readonly type: ProgTypeName;
  readonly compiled: CompiledProgram;
  /** The program's id in {@link Vm.maps} (the value a PROG_ARRAY slot holds). */
  readonly id: number;
  /** The verifier's verdict (with what it proved, given to the JIT); absent when not verified. */
  readonly verified?: VerifierResult;
  /**
   * Why a program that was to be verified loaded unverified: the verifier stopped at something
   * it does not model yet (a helper without a prototype, a kfunc, a context without rules).
   */
  readonly unverified?: string;
}

/** A network device the test run may name (`ingress_ifindex`, `__sk_buff.ifindex`). */
export interface TestRunDevice {
  readonly ifindex: number;
  readonly name: string;
  /** Receive queues with XDP registered; 0 when XDP cannot name the device. */
  readonly xdpRxQueues: number;
}

/** The part of the `Vm` class that object loading and test runs need. */
export interface VmHost {
  readonly memory: VmMemory;
  readonly maps: VmMapRegistry;
  /** The packet of the test run in progress, for packet helpers and `ld_abs`. */
  packet: PacketState | undefined;
  loadProgram(options: VmLoadProgramOptions): VmProgram;
  runWithContext(
    program: VmProgram | CompiledProgram,
    ctx: number,
    options?: { readonly budget?: number },
  ): RunResult;
  /** A program prepared for many runs (test runs' `repeat`, captures). */
  prepare(program: VmProgram | CompiledProgram, options?: PrepareOptions): Runner;
}
