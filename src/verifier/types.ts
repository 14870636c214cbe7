/**
 * The verifier's contract: what it takes and what it answers. Pure data, no I/O, so the verifier
 * runs wherever JavaScript runs (the VM, the CLI, a browser playground).
 *
 * Data flows one way: program → CFG → abstract states → {@link VerifierResult} (+ facts for the JIT).
 */

import type { Insn } from '../isa/instruction.js';
import type { Btf } from '../object/btf.js';
import type { SourceLine } from '../object/object.js';
import type { AttachTypeName, MapTypeName, ProgTypeName } from '../uapi.js';

/**
 * Who loads the program, as Linux sees it:
 * - `root`: `CAP_SYS_ADMIN` (+ `CAP_PERFMON`, `CAP_BPF`): everything.
 * - `bpf`: `CAP_BPF` + `CAP_NET_ADMIN` only (no `CAP_PERFMON`): no pointer leaks or pointer
 *   comparisons, no tracing-only helpers.
 * - `unpriv`: no capability (`kernel.unprivileged_bpf_disabled=0`): socket filters and a few types,
 *   with the speculative-execution sanitising rules.
 */
export type Caps = 'root' | 'bpf' | 'unpriv';

/** A map the program names (by `lddw` MAP_IDX/MAP_IDX_VALUE index, or MAP_FD/MAP_VALUE id). */
export interface VerifierMap {
  readonly type: MapTypeName;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** `map_flags` (`BPF_F_RDONLY_PROG` makes the values read-only to programs). */
  readonly flags: number;
  /** `.rodata`-like maps frozen before load: values read-only to programs, constant-foldable. */
  readonly frozen?: boolean;
  /** Initial value (for frozen maps: what constant loads from it read). */
  readonly initialValue?: Uint8Array;
  /** For map-in-map types: the inner map's shape. */
  readonly innerMap?: VerifierMap;
  /** BTF value type id in {@link VerifierInput.btf} (spin locks, timers, kptrs are found through it). */
  readonly btfValueTypeId?: number;
  readonly name?: string;
}

/** What {@link verify} takes: a linked program and everything Linux would know at load time. */
export interface VerifierInput {
  /** The linked program (subprograms appended), maps as `lddw` pseudo loads (MAP_IDX…). */
  readonly insns: readonly Insn[];
  readonly progType: ProgTypeName;
  readonly expectedAttachType?: AttachTypeName;
  /**
   * BTF-typed programs (`tp_btf/`, `fentry/`, `fexit/`, `lsm/`…): the attach target the section
   * names (`sched_switch`, `vfs_read`); with {@link kernelBtf}, its prototype types the context.
   */
  readonly attachTarget?: string;
  /** `lddw` MAP_IDX / MAP_IDX_VALUE `imm` index this list; MAP_FD / MAP_VALUE too (imm = index). */
  readonly maps?: readonly VerifierMap[];
  /** The object's BTF (func_info types, map value types). */
  readonly btf?: Btf;
  /** func_info: slot → BTF FUNC id (first entry: the program itself). Global functions need it. */
  readonly funcInfo?: ReadonlyArray<{ readonly slot: number; readonly typeId: number }>;
  /** Per instruction (index into {@link insns}): its source line, if known (BTF.ext line info). */
  readonly lines?: ReadonlyArray<SourceLine | undefined>;
  /** The kernel's BTF (`tp_btf`, `PTR_TO_BTF_ID`, kfuncs); absent in a browser unless supplied. */
  readonly kernelBtf?: Btf;
  /** Default `root`. */
  readonly caps?: Caps;
  /** `prog_flags` (`BPF_F_STRICT_ALIGNMENT`, `BPF_F_ANY_ALIGNMENT`, `BPF_F_TEST_STATE_FREQ`…). */
  readonly progFlags?: number;
  /** 0: no log; 1: the path to the error; 2: every instruction with its state (kernel format). */
  readonly logLevel?: 0 | 1 | 2;
  /** GPL-compatible licence: GPL-only helpers allowed. Default true. */
  readonly gpl?: boolean;
}

/** The first error, in the kernel's words and in ours. */
export interface VerifierRejection {
  /** The kernel's exact error line, e.g. `R0 invalid mem access 'map_value_or_null'`. */
  readonly message: string;
  /** Index into {@link VerifierInput.insns} of the instruction being verified when it failed. */
  readonly insn: number;
  /** One line in plain words. */
  readonly summary: string;
  /** What to change, when we can tell ("check the result of bpf_map_lookup_elem for NULL"). */
  readonly hint?: string;
  readonly line?: SourceLine;
  /** The slot (8-byte unit) of {@link insn}, as the kernel's log counts; differs after an lddw. */
  readonly slot?: number;
}

/** What the verifier proved, for the JIT: per instruction index. */
export interface VerifierFacts {
  /** Instructions never reached on any path. */
  readonly dead: ReadonlySet<number>;
  /**
   * Loads/stores whose every execution was proven in bounds of memory whose size the verifier
   * knows: the stack, map values and keys, the packet, helper memory (not context accesses,
   * which Linux rewrites).
   */
  readonly safeAccess: ReadonlySet<number>;
  /** Registers holding the same constant at an instruction on every path: insn → (reg → value). */
  readonly constants: ReadonlyMap<number, ReadonlyMap<number, bigint>>;
  /**
   * Bytes below r10 that each function reads or writes on any path (Linux's per-subprogram
   * `stack depth`, a multiple of 8), by the index of the function's first instruction; a
   * function that touches no stack has 0.
   */
  readonly stackDepth: ReadonlyMap<number, number>;
}

/** The verdict. {@link verify} never throws on bad programs: every byte string gets one. */
export interface VerifierResult {
  readonly accepted: boolean;
  readonly error?: VerifierRejection;
  /** The kernel's `processed N insns` number. */
  readonly insnsProcessed: number;
  /** The log in the kernel's format at the requested level ('' at level 0). */
  readonly log: string;
  /** With a log level: every processed instruction with the state after it (for UIs). */
  readonly trace?: readonly TraceStep[];
  /** Present when accepted. */
  readonly facts?: VerifierFacts;
}

/** One processed instruction, for a UI stepping through the verifier's walk. */
export interface TraceStep {
  /** Slot (8-byte unit) of the instruction, as the kernel's log counts. */
  readonly insn: number;
  /** Call frame depth (0: the main program). */
  readonly frame: number;
  /** Registers after the instruction, in the kernel's notation (`undefined`: not initialised). */
  readonly regs: ReadonlyArray<string | undefined>;
  /** Stack slots in use after the instruction: offset from the frame pointer and contents. */
  readonly stack: ReadonlyArray<{ readonly off: number; readonly value: string }>;
  /**
   * For a conditional jump: which way this path went (`taken` or `fallthrough`; the other way,
   * when feasible, is explored later and starts with a step whose `from` is this instruction).
   */
  branch?: 'taken' | 'fallthrough';
  /** Set on the first step of a path resumed from a queued branch: the jump it came from. */
  readonly from?: number;
  /** The path was pruned here: an equivalent state was already proved safe. */
  readonly safe?: boolean;
  /** The instruction was rejected (the error message). */
  error?: string;
}
