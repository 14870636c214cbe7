/**
 * The types helpers and the interpreter share: what a helper sees of the VM ({@link HelperEnv})
 * and the compiled program it may tail-call into. A leaf below `helpers.ts`, `helpers/*` and
 * `interpreter.ts`, so none of them needs to import another for a type.
 */
import type { Insn } from '../isa/instruction.js';
import type { VmMemory } from './memory.js';

/** A program compiled for the interpreter: one entry per slot, flat typed arrays. */
export interface CompiledProgram {
  readonly insns: readonly Insn[];
  readonly slots: number;
  /** Per slot: internal opcode | dst << 8 | src << 12. One extra sentinel slot at the end. */
  readonly code: Int32Array;
  readonly off: Int32Array;
  readonly imm: Int32Array;
  /** For lddw: the high half of the value. */
  readonly imm2: Int32Array;
}

/** What a helper may use of the VM that runs it. */
export interface HelperEnv {
  readonly memory: VmMemory;
  /** Emit one `bpf_trace_printk` line (without trailing newline). */
  trace(line: string): void;
  /** Monotonic clock in nanoseconds. */
  now(): bigint;
  /** A 32-bit pseudo-random number. */
  random(): number;
  /**
   * Read a NUL-terminated string of at most `max` bytes at `address` from mapped memory, or
   * undefined if the address is not mapped (the kernel's "nofault" reads).
   */
  readString(address: bigint, max: number): string | undefined;
  /**
   * Run the subprogram at `slot` of the running program as a new call frame with r1–r5 =
   * `args` and return its r0 (for callback helpers: `bpf_loop`, `bpf_for_each_map_elem`).
   */
  callFunction(slot: number, ...args: bigint[]): bigint;
  /**
   * Ask to continue in `program` once the helper returns (`bpf_tail_call`); false when the
   * tail-call limit is reached or the call cannot be made from where the program is.
   */
  tailCall(program: CompiledProgram): boolean;
}

export type HelperFn = (env: HelperEnv, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => bigint;

export interface Helper {
  /** The kernel's helper id. */
  readonly id: number;
  /** The kernel's name, without the `bpf_` prefix. */
  readonly name: string;
  readonly call: HelperFn;
  /**
   * The same helper for arguments that all fit 32 bits, as numbers, returning r0 as a number in
   * [0, 2³²): what the JIT calls without building BigInts (a map lookup per packet). Optional;
   * it must behave exactly as {@link call}, and run no program code (no callbacks).
   */
  readonly call32?: (env: HelperEnv, r1: number, r2: number, r3: number, r4: number, r5: number) => number;
}
