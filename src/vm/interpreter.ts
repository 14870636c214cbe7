/**
 * The reference interpreter: executes decoded instructions exactly as Linux does.
 *
 * Registers are 64-bit; JavaScript has no fast 64-bit integer, so each register is a pair of
 * 32-bit halves (`lo`, `hi` in two Int32Arrays) and the arithmetic is done on halves, falling
 * back to BigInt only for 64-bit division. Instructions are pre-compiled into flat typed arrays
 * with one dense internal opcode per form, so the dispatch `switch` compiles to a jump table.
 *
 * Memory is the VM's flat address space ({@link VmMemory}); every load and store is checked
 * against its mapped regions. Each bpf-to-bpf call frame gets its own 512-byte stack (8 frames
 * at most, as in Linux), and r6–r9 and r10 are restored when a callee exits.
 */

import { HELPER_NAMES } from '../isa/helper-ids.js';
import type { Insn } from '../isa/instruction.js';
import {
  helperFailure,
  InstructionBudgetError,
  MemoryAccessError,
  UnknownHelperError,
  VmError,
} from './errors.js';
import type { CompiledProgram, HelperEnv } from './helper-types.js';
import type { HelperRegistry } from './helpers.js';
import type { VmMemory } from './memory.js';

/** Stack bytes per call frame (MAX_BPF_STACK). */
export const STACK_SIZE = 512;
/** Call frames at most (MAX_CALL_FRAMES). */
export const MAX_CALL_FRAMES = 8;
/** Default budget of executed instructions per run. */
export const DEFAULT_INSN_BUDGET = 1_000_000;

/** Dense internal opcodes: one per instruction form the interpreter executes. */
// biome-ignore lint/suspicious/noConstEnum: inlined literal case labels let V8 compile the dispatch switch to a jump table
const enum Op {
  Invalid,
  Add64K,
  Add64X,
  Sub64K,
  Sub64X,
  Mul64K,
  Mul64X,
  Div64K,
  Div64X,
  SDiv64K,
  SDiv64X,
  Or64K,
  Or64X,
  And64K,
  And64X,
  Lsh64K,
  Lsh64X,
  Rsh64K,
  Rsh64X,
  Neg64,
  Mod64K,
  Mod64X,
  SMod64K,
  SMod64X,
  Xor64K,
  Xor64X,
  Mov64K,
  Mov64X,
  Arsh64K,
  Arsh64X,
  Movsx64B,
  Movsx64H,
  Movsx64W,
  Add32K,
  Add32X,
  Sub32K,
  Sub32X,
  Mul32K,
  Mul32X,
  Div32K,
  Div32X,
  SDiv32K,
  SDiv32X,
  Or32K,
  Or32X,
  And32K,
  And32X,
  Lsh32K,
  Lsh32X,
  Rsh32K,
  Rsh32X,
  Neg32,
  Mod32K,
  Mod32X,
  SMod32K,
  SMod32X,
  Xor32K,
  Xor32X,
  Mov32K,
  Mov32X,
  Arsh32K,
  Arsh32X,
  Movsx32B,
  Movsx32H,
  Le16,
  Le32,
  Le64,
  Be16,
  Be32,
  Be64,
  Ja,
  Gotol,
  MayGoto,
  JeqK,
  JeqX,
  JgtK,
  JgtX,
  JgeK,
  JgeX,
  JsetK,
  JsetX,
  JneK,
  JneX,
  JsgtK,
  JsgtX,
  JsgeK,
  JsgeX,
  JltK,
  JltX,
  JleK,
  JleX,
  JsltK,
  JsltX,
  JsleK,
  JsleX,
  Jeq32K,
  Jeq32X,
  Jgt32K,
  Jgt32X,
  Jge32K,
  Jge32X,
  Jset32K,
  Jset32X,
  Jne32K,
  Jne32X,
  Jsgt32K,
  Jsgt32X,
  Jsge32K,
  Jsge32X,
  Jlt32K,
  Jlt32X,
  Jle32K,
  Jle32X,
  Jslt32K,
  Jslt32X,
  Jsle32K,
  Jsle32X,
  CallHelper,
  CallLocal,
  CallKfunc,
  Callx,
  Exit,
  Lddw,
  LdxB,
  LdxH,
  LdxW,
  LdxDW,
  LdxSB,
  LdxSH,
  LdxSW,
  StB,
  StH,
  StW,
  StDW,
  StxB,
  StxH,
  StxW,
  StxDW,
  AtomicW,
  AtomicDW,
  LoadAcquireB,
  LoadAcquireH,
  LoadAcquireW,
  LoadAcquireDW,
  StoreReleaseB,
  StoreReleaseH,
  StoreReleaseW,
  StoreReleaseDW,
  LdPacket,
  /** The sentinel slot after the last instruction. */
  FellOff,
}

const aluOps = [
  'add',
  'sub',
  'mul',
  'div',
  'sdiv',
  'or',
  'and',
  'lsh',
  'rsh',
  'neg',
  'mod',
  'smod',
  'xor',
  'mov',
  'arsh',
];
const jmpOps = ['jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'jlt', 'jle', 'jslt', 'jsle'];

/** Internal opcode of a decoded instruction. The enum order above mirrors these lists. */
function opOf(insn: Insn): Op {
  const sizeIndex = { 1: 0, 2: 1, 4: 2, 8: 3 } as const;
  switch (insn.kind) {
    case 'alu': {
      const f = insn.form;
      if (f.op === 'addr_space_cast') return Op.Invalid;
      if (f.op === 'movsx') {
        if (f.bits === 64) return f.extend === 8 ? Op.Movsx64B : f.extend === 16 ? Op.Movsx64H : Op.Movsx64W;
        return f.extend === 8 ? Op.Movsx32B : Op.Movsx32H;
      }
      if (f.op === 'neg') return f.bits === 64 ? Op.Neg64 : Op.Neg32;
      // Binary ops come in K/X pairs, neg sits between rsh and mod without a pair.
      const index = aluOps.indexOf(f.op);
      const base = f.bits === 64 ? Op.Add64K : Op.Add32K;
      const pairIndex = index > aluOps.indexOf('neg') ? index * 2 - 1 : index * 2;
      return base + pairIndex + (f.source === 'reg' ? 1 : 0);
    }
    case 'end': {
      const width = insn.form.bits === 16 ? 0 : insn.form.bits === 32 ? 1 : 2;
      return (insn.form.order === 'le' ? Op.Le16 : Op.Be16) + width;
    }
    case 'jmp': {
      const f = insn.form;
      if (f.op === 'ja') return f.bits === 64 ? Op.Ja : Op.Gotol;
      if (f.op === 'may_goto') return Op.MayGoto;
      const base = f.bits === 64 ? Op.JeqK : Op.Jeq32K;
      return base + jmpOps.indexOf(f.op) * 2 + (f.source === 'reg' ? 1 : 0);
    }
    case 'call':
      return insn.form.target === 'helper'
        ? Op.CallHelper
        : insn.form.target === 'local'
          ? Op.CallLocal
          : Op.CallKfunc;
    case 'callx':
      return Op.Callx;
    case 'exit':
      return Op.Exit;
    case 'lddw':
      return Op.Lddw;
    case 'ldx':
      return insn.form.signed ? Op.LdxSB + sizeIndex[insn.form.size] : Op.LdxB + sizeIndex[insn.form.size];
    case 'st':
      return Op.StB + sizeIndex[insn.form.size];
    case 'stx':
      return Op.StxB + sizeIndex[insn.form.size];
    case 'atomic': {
      const f = insn.form;
      // One thread, no reordering: acquire/release are plain loads and stores here.
      if (f.op === 'load_acquire') return Op.LdxB + sizeIndex[f.size];
      if (f.op === 'store_release') return Op.StxB + sizeIndex[f.size];
      return f.size === 8 ? Op.AtomicDW : Op.AtomicW;
    }
    case 'ldabs':
    case 'ldind':
      return Op.LdPacket;
  }
}

export type { CompiledProgram } from './helper-types.js';

/**
 * Compile decoded instructions. `lddwValue` resolves lddw pseudo sources (map fds, map values,
 * functions) to the 64-bit value the register receives; without it only plain immediates load.
 */
export function compile(
  insns: readonly Insn[],
  lddwValue?: (insn: Extract<Insn, { kind: 'lddw' }>) => bigint,
): CompiledProgram {
  const last = insns[insns.length - 1];
  const slots = last ? last.slot + (last.kind === 'lddw' ? 2 : 1) : 0;
  const program: CompiledProgram = {
    insns,
    slots,
    code: new Int32Array(slots + 1),
    off: new Int32Array(slots + 1),
    imm: new Int32Array(slots + 1),
    imm2: new Int32Array(slots + 1),
  };
  program.code[slots] = Op.FellOff;
  // Which slots begin an instruction (a byte per slot: a Set of a million numbers is slow).
  const starts = new Uint8Array(slots + 1);
  for (const insn of insns) starts[insn.slot] = 1;
  starts[slots] = 1;
  for (const insn of insns) {
    const s = insn.slot;
    program.code[s] = opOf(insn) | (insn.dst << 8) | (insn.src << 12);
    if (insn.kind === 'alu' && insn.form.op === 'addr_space_cast') {
      // The kernel accepts it only in a program that uses an arena map, which the VM does not have.
      throw new VmError(
        s,
        'addr_space_cast needs an arena map (BPF_MAP_TYPE_ARENA), which the VM does not support',
      );
    }
    if (writesFramePointer(insn))
      throw new VmError(s, 'r10 is the read-only frame pointer and cannot be written');
    const target = branchTarget(insn);
    if (target !== undefined && !(target >= 0 && target <= slots && starts[target] === 1)) {
      throw new VmError(
        s,
        target < 0 || target > slots
          ? `jump to ${target} is out of the program (slots 0-${slots - 1})`
          : `jump to ${target} lands inside an instruction`,
      );
    }
    program.off[s] = insn.off;
    program.imm[s] = insn.imm;
    if (insn.kind === 'atomic') program.imm2[s] = insn.imm;
    if (insn.kind === 'lddw') {
      let value = insn.value;
      if (insn.form.pseudo !== 0) {
        if (!lddwValue)
          throw new VmError(s, `lddw with pseudo source ${insn.form.pseudo} needs a loader that resolves it`);
        value = BigInt.asUintN(64, lddwValue(insn));
      }
      program.imm[s] = Number(value & 0xffffffffn) | 0;
      program.imm2[s] = Number(value >> 32n) | 0;
    }
  }
  return program;
}

/** Whether an instruction would write r10, which programs may only read (as in Linux). */
function writesFramePointer(insn: Insn): boolean {
  switch (insn.kind) {
    case 'alu':
    case 'end':
    case 'lddw':
    case 'ldx':
      return insn.dst === 10;
    case 'atomic':
      return insn.form.op === 'load_acquire' ? insn.dst === 10 : insn.form.fetch && insn.src === 10;
    default:
      return false;
  }
}

/** The slot a jump or local call goes to, if the instruction is one. */
function branchTarget(insn: Insn): number | undefined {
  if (insn.kind === 'jmp')
    return insn.slot + 1 + (insn.form.op === 'ja' && insn.form.bits === 32 ? insn.imm : insn.off);
  if (insn.kind === 'call' && insn.form.target === 'local') return insn.slot + 1 + insn.imm;
  return undefined;
}

/**
 * The regions of the last successful read and write, checked first; {@link refill} finds the
 * region for any other address, or throws the fault.
 */
class AccessCache {
  readStart = 0;
  readEnd = 0;
  writeStart = 0;
  writeEnd = 0;
  constructor(
    readonly memory: VmMemory,
    readonly lo: Int32Array,
    readonly hi: Int32Array,
  ) {}
}

/** Address of `reg + offset` for an access of `size` bytes, checked against the mapped regions. */
function check(
  c: AccessCache,
  slot: number,
  reg: number,
  offset: number,
  size: number,
  write: boolean,
): number {
  const a = c.hi[reg] === 0 ? (c.lo[reg] >>> 0) + offset : -1;
  if (write) {
    if (a >= c.writeStart && a + size <= c.writeEnd) return a;
  } else if (a >= c.readStart && a + size <= c.readEnd) return a;
  return refill(c, slot, reg, offset, size, write, a);
}

function refill(
  c: AccessCache,
  slot: number,
  reg: number,
  offset: number,
  size: number,
  write: boolean,
  a: number,
): number {
  const region = a >= 0 ? c.memory.find(a, size) : undefined;
  if (region && (region.writable || !write)) {
    if (write) {
      c.writeStart = region.start;
      c.writeEnd = region.end;
    } else {
      c.readStart = region.start;
      c.readEnd = region.end;
    }
    return a;
  }
  const exact = BigInt.asUintN(64, toBigInt(c.lo[reg], c.hi[reg]) + BigInt(offset));
  const detail = c.memory.accessFault(exact, size, write) ?? 'address not mapped';
  throw new MemoryAccessError(slot, exact, size, write ? 'write' : 'read', detail);
}

/** Registers and frames of one run. */
export interface Machine {
  /** Low and high 32-bit halves of r0–r10. */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
}

export interface ExecuteOptions {
  readonly memory: VmMemory;
  readonly helpers: HelperRegistry;
  readonly env: HelperEnv;
  /** Base address of a region of MAX_CALL_FRAMES × STACK_SIZE bytes for the frames' stacks. */
  readonly stackBase: number;
  readonly budget: number;
  /** Shared with helpers during a run: where the program is, and requests back to the loop. */
  readonly state: RunState;
}

/** Maximum tail calls in one run (MAX_TAIL_CALL_CNT since 5.12). */
export const MAX_TAIL_CALLS = 33;

/**
 * What helpers see of the running program and how they ask the interpreter for control flow:
 * a callback helper (`bpf_loop`, `bpf_for_each_map_elem`) runs a subprogram at `depth + 1`; a
 * tail call sets `tailCall` and the interpreter jumps to that program once the helper returns.
 */
export interface RunState {
  /** The program executing (changes on a tail call). */
  program: CompiledProgram;
  /** Call depth at the helper call in progress. */
  depth: number;
  /**
   * The run's whole instruction budget. Every execution of the run (callbacks, tail calls)
   * draws on it, so no nesting multiplies it; the budget error names this number.
   */
  budget: number;
  /** Instructions the run may still execute when the helper call in progress began. */
  remaining: number;
  /** Instructions executed by callbacks during the helper call in progress. */
  nested: number;
  /** Set by `bpf_tail_call` on success. */
  tailCall: CompiledProgram | undefined;
  tailCalls: number;
}

/** Where a (nested) execution starts. */
export interface ExecuteStart {
  readonly pc?: number;
  /** Call depth of the first frame; the execution returns when that frame exits. */
  readonly depth?: number;
  /**
   * Continue the first frame where another engine left it (the JIT near the end of its budget):
   * `pc` is inside the function and its stack is kept, not zeroed.
   */
  readonly resume?: boolean;
}

export interface ExecuteResult {
  readonly r0: bigint;
  readonly insnsExecuted: number;
}

/** Combine halves into an unsigned bigint. */
export function toBigInt(lo: number, hi: number): bigint {
  // Most values fit 32 bits: one BigInt instead of three.
  if (hi === 0) return BigInt(lo >>> 0);
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function mulHighU32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const m1 = a1 * b0 + ((a0 * b0) >>> 16);
  const m2 = a0 * b1 + (m1 & 0xffff);
  return (a1 * b1 + (m1 >>> 16) + (m2 >>> 16)) | 0;
}

function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/**
 * Run a compiled program from slot 0 with the registers in `m` as set by the caller (r1…r5 and
 * whatever else); r10 is set here. Returns r0 when the outermost frame exits.
 */
export function execute(
  program: CompiledProgram,
  m: Machine,
  options: ExecuteOptions,
  start: ExecuteStart = {},
): ExecuteResult {
  const { code, off, imm, imm2 } = program;
  const { lo, hi } = m;
  const { memory, budget, state } = options;
  let view = memory.view;
  let bytes = memory.bytes;
  const stackTop = options.stackBase + MAX_CALL_FRAMES * STACK_SIZE;
  const baseDepth = start.depth ?? 0;
  lo[10] = stackTop - baseDepth * STACK_SIZE;
  hi[10] = 0;
  // Every frame starts with a zeroed stack, so no run sees another's leftovers.
  if (!start.resume) bytes.fill(0, lo[10] - STACK_SIZE, lo[10]);
  // Saved state per active call: return slot, r6–r9 halves, r10.
  const frames: number[] = [];
  let depth = baseDepth;
  let count = 0;
  let pc = start.pc ?? 0;
  let a = 0;
  let b = 0;
  let t = 0;

  const cache = new AccessCache(memory, lo, hi);
  // may_goto's budget per frame (the kernel keeps it in the frame's stack, set by each prologue).
  const mayGoto: number[] = [];
  const mayGotoStart: (bigint | undefined)[] = [];
  mayGoto[depth] = MAY_GOTO_LOOPS;
  mayGotoStart[depth] = undefined;

  for (;;) {
    if (++count > budget) throw new InstructionBudgetError(pc, state.budget);
    const i = pc++;
    const w = code[i];
    const d = (w >> 8) & 15;
    const s = w >>> 12;
    const o = w & 255;
    switch (o) {
      // ---- ALU64, immediate operands are sign-extended to 64 bits ----
      case Op.Add64K:
        a = (lo[d] >>> 0) + (imm[i] >>> 0);
        hi[d] = (hi[d] + (imm[i] >> 31) + (a > 0xffffffff ? 1 : 0)) | 0;
        lo[d] = a | 0;
        break;
      case Op.Add64X:
        a = (lo[d] >>> 0) + (lo[s] >>> 0);
        hi[d] = (hi[d] + hi[s] + (a > 0xffffffff ? 1 : 0)) | 0;
        lo[d] = a | 0;
        break;
      case Op.Sub64K:
        a = (lo[d] >>> 0) - (imm[i] >>> 0);
        hi[d] = (hi[d] - (imm[i] >> 31) - (a < 0 ? 1 : 0)) | 0;
        lo[d] = a | 0;
        break;
      case Op.Sub64X:
        a = (lo[d] >>> 0) - (lo[s] >>> 0);
        hi[d] = (hi[d] - hi[s] - (a < 0 ? 1 : 0)) | 0;
        lo[d] = a | 0;
        break;
      case Op.Mul64K:
        b = imm[i];
        hi[d] = (mulHighU32(lo[d], b) + Math.imul(lo[d], b >> 31) + Math.imul(hi[d], b)) | 0;
        lo[d] = Math.imul(lo[d], b);
        break;
      case Op.Mul64X:
        hi[d] = (mulHighU32(lo[d], lo[s]) + Math.imul(lo[d], hi[s]) + Math.imul(hi[d], lo[s])) | 0;
        lo[d] = Math.imul(lo[d], lo[s]);
        break;
      case Op.Div64K:
      case Op.Div64X:
      case Op.SDiv64K:
      case Op.SDiv64X:
      case Op.Mod64K:
      case Op.Mod64X:
      case Op.SMod64K:
      case Op.SMod64X:
        divide64(o, lo, hi, d, s, imm[i]);
        break;
      case Op.Or64K:
        lo[d] |= imm[i];
        hi[d] |= imm[i] >> 31;
        break;
      case Op.Or64X:
        lo[d] |= lo[s];
        hi[d] |= hi[s];
        break;
      case Op.And64K:
        lo[d] &= imm[i];
        hi[d] &= imm[i] >> 31;
        break;
      case Op.And64X:
        lo[d] &= lo[s];
        hi[d] &= hi[s];
        break;
      case Op.Xor64K:
        lo[d] ^= imm[i];
        hi[d] ^= imm[i] >> 31;
        break;
      case Op.Xor64X:
        lo[d] ^= lo[s];
        hi[d] ^= hi[s];
        break;
      case Op.Lsh64K:
        t = imm[i] & 63;
        if (t >= 32) {
          hi[d] = lo[d] << (t - 32);
          lo[d] = 0;
        } else if (t > 0) {
          hi[d] = (hi[d] << t) | (lo[d] >>> (32 - t));
          lo[d] = lo[d] << t;
        }
        break;
      case Op.Lsh64X:
        t = lo[s] & 63;
        if (t >= 32) {
          hi[d] = lo[d] << (t - 32);
          lo[d] = 0;
        } else if (t > 0) {
          hi[d] = (hi[d] << t) | (lo[d] >>> (32 - t));
          lo[d] = lo[d] << t;
        }
        break;
      case Op.Rsh64K:
        t = imm[i] & 63;
        if (t >= 32) {
          lo[d] = hi[d] >>> (t - 32);
          hi[d] = 0;
        } else if (t > 0) {
          lo[d] = (lo[d] >>> t) | (hi[d] << (32 - t));
          hi[d] = hi[d] >>> t;
        }
        break;
      case Op.Rsh64X:
        t = lo[s] & 63;
        if (t >= 32) {
          lo[d] = hi[d] >>> (t - 32);
          hi[d] = 0;
        } else if (t > 0) {
          lo[d] = (lo[d] >>> t) | (hi[d] << (32 - t));
          hi[d] = hi[d] >>> t;
        }
        break;
      case Op.Arsh64K:
        t = imm[i] & 63;
        if (t >= 32) {
          lo[d] = hi[d] >> (t - 32);
          hi[d] = hi[d] >> 31;
        } else if (t > 0) {
          lo[d] = (lo[d] >>> t) | (hi[d] << (32 - t));
          hi[d] = hi[d] >> t;
        }
        break;
      case Op.Arsh64X:
        t = lo[s] & 63;
        if (t >= 32) {
          lo[d] = hi[d] >> (t - 32);
          hi[d] = hi[d] >> 31;
        } else if (t > 0) {
          lo[d] = (lo[d] >>> t) | (hi[d] << (32 - t));
          hi[d] = hi[d] >> t;
        }
        break;
      case Op.Neg64:
        hi[d] = (~hi[d] + (lo[d] === 0 ? 1 : 0)) | 0;
        lo[d] = -lo[d] | 0;
        break;
      case Op.Mov64K:
        lo[d] = imm[i];
        hi[d] = imm[i] >> 31;
        break;
      case Op.Mov64X:
        lo[d] = lo[s];
        hi[d] = hi[s];
        break;
      case Op.Movsx64B:
        lo[d] = (lo[s] << 24) >> 24;
        hi[d] = lo[d] >> 31;
        break;
      case Op.Movsx64H:
        lo[d] = (lo[s] << 16) >> 16;
        hi[d] = lo[d] >> 31;
        break;
      case Op.Movsx64W:
        lo[d] = lo[s];
        hi[d] = lo[s] >> 31;
        break;

      // ---- ALU32: operate on the low halves, zero the high half ----
      case Op.Add32K:
        lo[d] = (lo[d] + imm[i]) | 0;
        hi[d] = 0;
        break;
      case Op.Add32X:
        lo[d] = (lo[d] + lo[s]) | 0;
        hi[d] = 0;
        break;
      case Op.Sub32K:
        lo[d] = (lo[d] - imm[i]) | 0;
        hi[d] = 0;
        break;
      case Op.Sub32X:
        lo[d] = (lo[d] - lo[s]) | 0;
        hi[d] = 0;
        break;
      case Op.Mul32K:
        lo[d] = Math.imul(lo[d], imm[i]);
        hi[d] = 0;
        break;
      case Op.Mul32X:
        lo[d] = Math.imul(lo[d], lo[s]);
        hi[d] = 0;
        break;
      case Op.Div32K:
      case Op.Div32X:
        b = (o === Op.Div32K ? imm[i] : lo[s]) >>> 0;
        lo[d] = b === 0 ? 0 : Math.floor((lo[d] >>> 0) / b) | 0;
        hi[d] = 0;
        break;
      case Op.SDiv32K:
      case Op.SDiv32X:
        b = o === Op.SDiv32K ? imm[i] : lo[s];
        lo[d] = b === 0 ? 0 : Math.trunc(lo[d] / b) | 0;
        hi[d] = 0;
        break;
      case Op.Mod32K:
      case Op.Mod32X:
        b = (o === Op.Mod32K ? imm[i] : lo[s]) >>> 0;
        if (b !== 0) lo[d] = ((lo[d] >>> 0) % b) | 0;
        hi[d] = 0;
        break;
      case Op.SMod32K:
      case Op.SMod32X:
        b = o === Op.SMod32K ? imm[i] : lo[s];
        if (b !== 0) lo[d] = (lo[d] % b) | 0;
        hi[d] = 0;
        break;
      case Op.Or32K:
        lo[d] |= imm[i];
        hi[d] = 0;
        break;
      case Op.Or32X:
        lo[d] |= lo[s];
        hi[d] = 0;
        break;
      case Op.And32K:
        lo[d] &= imm[i];
        hi[d] = 0;
        break;
      case Op.And32X:
        lo[d] &= lo[s];
        hi[d] = 0;
        break;
      case Op.Xor32K:
        lo[d] ^= imm[i];
        hi[d] = 0;
        break;
      case Op.Xor32X:
        lo[d] ^= lo[s];
        hi[d] = 0;
        break;
      // JavaScript shifts mask the count by 31, exactly as BPF's 32-bit shifts do.
      case Op.Lsh32K:
        lo[d] <<= imm[i];
        hi[d] = 0;
        break;
      case Op.Lsh32X:
        lo[d] <<= lo[s];
        hi[d] = 0;
        break;
      case Op.Rsh32K:
        lo[d] = lo[d] >>> imm[i];
        hi[d] = 0;
        break;
      case Op.Rsh32X:
        lo[d] = lo[d] >>> lo[s];
        hi[d] = 0;
        break;
      case Op.Arsh32K:
        lo[d] >>= imm[i];
        hi[d] = 0;
        break;
      case Op.Arsh32X:
        lo[d] >>= lo[s];
        hi[d] = 0;
        break;
      case Op.Neg32:
        lo[d] = -lo[d] | 0;
        hi[d] = 0;
        break;
      case Op.Mov32K:
        lo[d] = imm[i];
        hi[d] = 0;
        break;
      case Op.Mov32X:
        lo[d] = lo[s];
        hi[d] = 0;
        break;
      case Op.Movsx32B:
        lo[d] = (lo[s] << 24) >> 24;
        hi[d] = 0;
        break;
      case Op.Movsx32H:
        lo[d] = (lo[s] << 16) >> 16;
        hi[d] = 0;
        break;

      // ---- byte order: this VM is little-endian, so le* truncates and be*/bswap* swap ----
      case Op.Le16:
        lo[d] &= 0xffff;
        hi[d] = 0;
        break;
      case Op.Le32:
        hi[d] = 0;
        break;
      case Op.Le64:
        break;
      case Op.Be16:
        lo[d] = ((lo[d] & 0xff) << 8) | ((lo[d] >>> 8) & 0xff);
        hi[d] = 0;
        break;
      case Op.Be32:
        lo[d] = bswap32(lo[d]);
        hi[d] = 0;
        break;
      case Op.Be64:
        t = lo[d];
        lo[d] = bswap32(hi[d]);
        hi[d] = bswap32(t);
        break;

      // ---- jumps: offsets are relative to the next slot ----
      case Op.Ja:
        pc += off[i];
        break;
      case Op.Gotol:
        pc += imm[i];
        break;
      case Op.MayGoto:
        t = mayGoto[depth];
        if (t === 0) {
          pc += off[i];
          break;
        }
        if (--t === 0) t = refreshMayGoto(mayGotoStart, depth, options.env.now());
        mayGoto[depth] = t;
        break;
      case Op.JeqK:
        if (lo[d] === imm[i] && hi[d] === imm[i] >> 31) pc += off[i];
        break;
      case Op.JeqX:
        if (lo[d] === lo[s] && hi[d] === hi[s]) pc += off[i];
        break;
      case Op.JneK:
        if (lo[d] !== imm[i] || hi[d] !== imm[i] >> 31) pc += off[i];
        break;
      case Op.JneX:
        if (lo[d] !== lo[s] || hi[d] !== hi[s]) pc += off[i];
        break;
      case Op.JsetK:
        if ((lo[d] & imm[i]) !== 0 || (hi[d] & (imm[i] >> 31)) !== 0) pc += off[i];
        break;
      case Op.JsetX:
        if ((lo[d] & lo[s]) !== 0 || (hi[d] & hi[s]) !== 0) pc += off[i];
        break;
      case Op.JgtK:
        if (cmpU64(hi[d], lo[d], imm[i] >> 31, imm[i]) > 0) pc += off[i];
        break;
      case Op.JgtX:
        if (cmpU64(hi[d], lo[d], hi[s], lo[s]) > 0) pc += off[i];
        break;
      case Op.JgeK:
        if (cmpU64(hi[d], lo[d], imm[i] >> 31, imm[i]) >= 0) pc += off[i];
        break;
      case Op.JgeX:
        if (cmpU64(hi[d], lo[d], hi[s], lo[s]) >= 0) pc += off[i];
        break;
      case Op.JltK:
        if (cmpU64(hi[d], lo[d], imm[i] >> 31, imm[i]) < 0) pc += off[i];
        break;
      case Op.JltX:
        if (cmpU64(hi[d], lo[d], hi[s], lo[s]) < 0) pc += off[i];
        break;
      case Op.JleK:
        if (cmpU64(hi[d], lo[d], imm[i] >> 31, imm[i]) <= 0) pc += off[i];
        break;
      case Op.JleX:
        if (cmpU64(hi[d], lo[d], hi[s], lo[s]) <= 0) pc += off[i];
        break;
      case Op.JsgtK:
        if (cmpS64(hi[d], lo[d], imm[i] >> 31, imm[i]) > 0) pc += off[i];
        break;
      case Op.JsgtX:
        if (cmpS64(hi[d], lo[d], hi[s], lo[s]) > 0) pc += off[i];
        break;
      case Op.JsgeK:
        if (cmpS64(hi[d], lo[d], imm[i] >> 31, imm[i]) >= 0) pc += off[i];
        break;
      case Op.JsgeX:
        if (cmpS64(hi[d], lo[d], hi[s], lo[s]) >= 0) pc += off[i];
        break;
      case Op.JsltK:
        if (cmpS64(hi[d], lo[d], imm[i] >> 31, imm[i]) < 0) pc += off[i];
        break;
      case Op.JsltX:
        if (cmpS64(hi[d], lo[d], hi[s], lo[s]) < 0) pc += off[i];
        break;
      case Op.JsleK:
        if (cmpS64(hi[d], lo[d], imm[i] >> 31, imm[i]) <= 0) pc += off[i];
        break;
      case Op.JsleX:
        if (cmpS64(hi[d], lo[d], hi[s], lo[s]) <= 0) pc += off[i];
        break;
      case Op.Jeq32K:
        if (lo[d] === imm[i]) pc += off[i];
        break;
      case Op.Jeq32X:
        if (lo[d] === lo[s]) pc += off[i];
        break;
      case Op.Jne32K:
        if (lo[d] !== imm[i]) pc += off[i];
        break;
      case Op.Jne32X:
        if (lo[d] !== lo[s]) pc += off[i];
        break;
      case Op.Jset32K:
        if ((lo[d] & imm[i]) !== 0) pc += off[i];
        break;
      case Op.Jset32X:
        if ((lo[d] & lo[s]) !== 0) pc += off[i];
        break;
      case Op.Jgt32K:
        if (lo[d] >>> 0 > imm[i] >>> 0) pc += off[i];
        break;
      case Op.Jgt32X:
        if (lo[d] >>> 0 > lo[s] >>> 0) pc += off[i];
        break;
      case Op.Jge32K:
        if (lo[d] >>> 0 >= imm[i] >>> 0) pc += off[i];
        break;
      case Op.Jge32X:
        if (lo[d] >>> 0 >= lo[s] >>> 0) pc += off[i];
        break;
      case Op.Jlt32K:
        if (lo[d] >>> 0 < imm[i] >>> 0) pc += off[i];
        break;
      case Op.Jlt32X:
        if (lo[d] >>> 0 < lo[s] >>> 0) pc += off[i];
        break;
      case Op.Jle32K:
        if (lo[d] >>> 0 <= imm[i] >>> 0) pc += off[i];
        break;
      case Op.Jle32X:
        if (lo[d] >>> 0 <= lo[s] >>> 0) pc += off[i];
        break;
      case Op.Jsgt32K:
        if (lo[d] > imm[i]) pc += off[i];
        break;
      case Op.Jsgt32X:
        if (lo[d] > lo[s]) pc += off[i];
        break;
      case Op.Jsge32K:
        if (lo[d] >= imm[i]) pc += off[i];
        break;
      case Op.Jsge32X:
        if (lo[d] >= lo[s]) pc += off[i];
        break;
      case Op.Jslt32K:
        if (lo[d] < imm[i]) pc += off[i];
        break;
      case Op.Jslt32X:
        if (lo[d] < lo[s]) pc += off[i];
        break;
      case Op.Jsle32K:
        if (lo[d] <= imm[i]) pc += off[i];
        break;
      case Op.Jsle32X:
        if (lo[d] <= lo[s]) pc += off[i];
        break;

      // ---- calls ----
      case Op.CallHelper:
      case Op.Callx: {
        const id = o === Op.Callx ? lo[d] : imm[i];
        const helper = options.helpers.get(id);
        if (!helper) throw new UnknownHelperError(i, id, HELPER_NAMES[id]);
        let r0: bigint;
        state.depth = depth;
        // A callback the helper runs may spend only what this run has left (counted inside it).
        state.remaining = budget - count;
        state.nested = 0;
        try {
          r0 = helper.call(
            options.env,
            toBigInt(lo[1], hi[1]),
            toBigInt(lo[2], hi[2]),
            toBigInt(lo[3], hi[3]),
            toBigInt(lo[4], hi[4]),
            toBigInt(lo[5], hi[5]),
          );
        } catch (error) {
          throw helperFailure(i, helper.name, id, error);
        }
        lo[0] = Number(r0 & 0xffffffffn) | 0;
        hi[0] = Number((r0 >> 32n) & 0xffffffffn) | 0;
        // A helper may have grown the memory: refresh the views.
        view = memory.view;
        bytes = memory.bytes;
        count += state.nested;
        if (count > budget) throw new InstructionBudgetError(i, state.budget);
        if (state.tailCall) {
          // The tail-called program replaces this one in the same frame (r1 still holds the ctx);
          // tail calls happen only at the outermost depth, so its exit ends this execution too.
          const target = state.tailCall;
          state.tailCall = undefined;
          state.program = target;
          const rest = execute(target, m, { ...options, budget: budget - count }, { pc: 0, depth });
          return { r0: rest.r0, insnsExecuted: count + rest.insnsExecuted };
        }
        break;
      }
      case Op.CallLocal:
        if (depth + 1 >= MAX_CALL_FRAMES)
          throw new VmError(i, `call stack too deep (more than ${MAX_CALL_FRAMES} frames)`);
        frames.push(pc, lo[6], hi[6], lo[7], hi[7], lo[8], hi[8], lo[9], hi[9], lo[10]);
        depth++;
        lo[10] = stackTop - depth * STACK_SIZE;
        bytes.fill(0, lo[10] - STACK_SIZE, lo[10]);
        mayGoto[depth] = MAY_GOTO_LOOPS;
        mayGotoStart[depth] = undefined;
        pc += imm[i];
        break;
      case Op.CallKfunc:
        throw new VmError(i, `kfunc call (BTF id ${imm[i]}) is not supported by the VM`);
      case Op.Exit:
        if (depth === baseDepth) return { r0: toBigInt(lo[0], hi[0]), insnsExecuted: count };
        depth--;
        lo[10] = frames.pop()!;
        for (let r = 9; r >= 6; r--) {
          hi[r] = frames.pop()!;
          lo[r] = frames.pop()!;
        }
        pc = frames.pop()!;
        break;

      // ---- loads and stores ----
      case Op.Lddw:
        lo[d] = imm[i];
        hi[d] = imm2[i];
        pc++;
        break;
      case Op.LdxB:
        lo[d] = bytes[check(cache, i, s, off[i], 1, false)];
        hi[d] = 0;
        break;
      case Op.LdxH:
        lo[d] = view.getUint16(check(cache, i, s, off[i], 2, false), true);
        hi[d] = 0;
        break;
      case Op.LdxW:
        lo[d] = view.getInt32(check(cache, i, s, off[i], 4, false), true);
        hi[d] = 0;
        break;
      case Op.LdxDW:
        a = check(cache, i, s, off[i], 8, false);
        lo[d] = view.getInt32(a, true);
        hi[d] = view.getInt32(a + 4, true);
        break;
      case Op.LdxSB:
        lo[d] = view.getInt8(check(cache, i, s, off[i], 1, false));
        hi[d] = lo[d] >> 31;
        break;
      case Op.LdxSH:
        lo[d] = view.getInt16(check(cache, i, s, off[i], 2, false), true);
        hi[d] = lo[d] >> 31;
        break;
      case Op.LdxSW:
        lo[d] = view.getInt32(check(cache, i, s, off[i], 4, false), true);
        hi[d] = lo[d] >> 31;
        break;
      case Op.StB:
        bytes[check(cache, i, d, off[i], 1, true)] = imm[i];
        break;
      case Op.StH:
        view.setInt16(check(cache, i, d, off[i], 2, true), imm[i], true);
        break;
      case Op.StW:
        view.setInt32(check(cache, i, d, off[i], 4, true), imm[i], true);
        break;
      case Op.StDW:
        a = check(cache, i, d, off[i], 8, true);
        view.setInt32(a, imm[i], true);
        view.setInt32(a + 4, imm[i] >> 31, true);
        break;
      case Op.StxB:
        bytes[check(cache, i, d, off[i], 1, true)] = lo[s];
        break;
      case Op.StxH:
        view.setInt16(check(cache, i, d, off[i], 2, true), lo[s], true);
        break;
      case Op.StxW:
        view.setInt32(check(cache, i, d, off[i], 4, true), lo[s], true);
        break;
      case Op.StxDW:
        a = check(cache, i, d, off[i], 8, true);
        view.setInt32(a, lo[s], true);
        view.setInt32(a + 4, hi[s], true);
        break;
      case Op.AtomicW:
        atomic32(view, check(cache, i, d, off[i], 4, true), imm2[i], lo, hi, s);
        break;
      case Op.AtomicDW:
        atomic64(view, check(cache, i, d, off[i], 8, true), imm2[i], lo, hi, s);
        break;
      case Op.FellOff:
        throw new VmError(i, 'fell off the end of the program without exit');
      case Op.LdPacket:
        throw new VmError(i, 'legacy packet load (ld_abs/ld_ind) needs a socket buffer context');
      default:
        throw new VmError(i, `internal opcode ${o} not executable`);
    }
  }
}

/**
 * may_goto as Linux 6.18 runs it on x86-64 and arm64 (timed may_goto, since 6.15): each frame
 * starts with 65535 (BPF_MAX_TIMED_LOOPS) fall-throughs; when they are spent the kernel reads
 * the clock: the first time it notes the time, later it refills the count until 250 ms have
 * passed since then, and the next may_goto jumps. So a loop falls through k × 65535 times, k ≥ 2
 * (measured here: about 6,500 × 65535 in 250 ms). Kernels whose JIT lacks timed may_goto count
 * down 8,388,608 (BPF_MAX_LOOPS) instead. The VM reads its own clock (`now`), so a test clock
 * makes the count deterministic; the instruction budget still bounds the run.
 */
export const MAY_GOTO_LOOPS = 0xffff;
/** How long a frame's may_goto loops may run (the kernel's NSEC_PER_SEC / 4). */
export const MAY_GOTO_TIMEOUT_NS = 250_000_000n;

function refreshMayGoto(start: (bigint | undefined)[], depth: number, now: bigint): number {
  const since = start[depth];
  if (since === undefined) {
    start[depth] = now;
    return MAY_GOTO_LOOPS;
  }
  return now - since >= MAY_GOTO_TIMEOUT_NS ? 0 : MAY_GOTO_LOOPS;
}

/** Unsigned 64-bit three-way comparison of (ah:al) with (bh:bl). */
function cmpU64(ah: number, al: number, bh: number, bl: number): number {
  if (ah !== bh) return ah >>> 0 > bh >>> 0 ? 1 : -1;
  return al === bl ? 0 : al >>> 0 > bl >>> 0 ? 1 : -1;
}

/** Signed 64-bit three-way comparison of (ah:al) with (bh:bl). */
function cmpS64(ah: number, al: number, bh: number, bl: number): number {
  if (ah !== bh) return ah > bh ? 1 : -1;
  return al === bl ? 0 : al >>> 0 > bl >>> 0 ? 1 : -1;
}

/** 64-bit division and modulo (unsigned and signed) with Linux's rules for zero and INT_MIN/-1. */
function divide64(code: number, lo: Int32Array, hi: Int32Array, d: number, s: number, imm: number): void {
  const fromImm = code === Op.Div64K || code === Op.SDiv64K || code === Op.Mod64K || code === Op.SMod64K;
  const bl = fromImm ? imm : lo[s];
  const bh = fromImm ? imm >> 31 : hi[s];
  const signed = code === Op.SDiv64K || code === Op.SDiv64X || code === Op.SMod64K || code === Op.SMod64X;
  const isDiv = code === Op.Div64K || code === Op.Div64X || code === Op.SDiv64K || code === Op.SDiv64X;
  if (bl === 0 && bh === 0) {
    // Division by zero yields 0; modulo by zero leaves dst unchanged.
    if (isDiv) lo[d] = hi[d] = 0;
    return;
  }
  if (!signed && hi[d] === 0 && bh === 0) {
    const x = lo[d] >>> 0;
    const y = bl >>> 0;
    lo[d] = (isDiv ? Math.floor(x / y) : x % y) | 0;
    return;
  }
  const x = signed ? BigInt.asIntN(64, toBigInt(lo[d], hi[d])) : toBigInt(lo[d], hi[d]);
  const y = signed ? BigInt.asIntN(64, toBigInt(bl, bh)) : toBigInt(bl, bh);
  // BigInt division truncates toward zero, as C does; INT_MIN / -1 wraps back to INT_MIN.
  const r = BigInt.asUintN(64, isDiv ? x / y : x % y);
  lo[d] = Number(r & 0xffffffffn) | 0;
  hi[d] = Number(r >> 32n) | 0;
}

const FETCH = 0x01;

function atomic32(
  view: DataView,
  addr: number,
  code: number,
  lo: Int32Array,
  hi: Int32Array,
  s: number,
): void {
  const old = view.getInt32(addr, true);
  const v = lo[s];
  switch (code & ~FETCH) {
    case 0x00:
      view.setInt32(addr, (old + v) | 0, true);
      break;
    case 0x40:
      view.setInt32(addr, old | v, true);
      break;
    case 0x50:
      view.setInt32(addr, old & v, true);
      break;
    case 0xa0:
      view.setInt32(addr, old ^ v, true);
      break;
    case 0xe0: // xchg
      view.setInt32(addr, v, true);
      break;
    case 0xf0: // cmpxchg compares with r0 and always loads the old value into r0
      if (old === lo[0]) view.setInt32(addr, v, true);
      lo[0] = old;
      hi[0] = 0;
      return;
  }
  if (code & FETCH) {
    lo[s] = old;
    hi[s] = 0;
  }
}

function atomic64(
  view: DataView,
  addr: number,
  code: number,
  lo: Int32Array,
  hi: Int32Array,
  s: number,
): void {
  const oldLo = view.getInt32(addr, true);
  const oldHi = view.getInt32(addr + 4, true);
  const vLo = lo[s];
  const vHi = hi[s];
  let nLo = oldLo;
  let nHi = oldHi;
  switch (code & ~FETCH) {
    case 0x00: {
      const sum = (oldLo >>> 0) + (vLo >>> 0);
      nLo = sum | 0;
      nHi = (oldHi + vHi + (sum > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case 0x40:
      nLo = oldLo | vLo;
      nHi = oldHi | vHi;
      break;
    case 0x50:
      nLo = oldLo & vLo;
      nHi = oldHi & vHi;
      break;
    case 0xa0:
      nLo = oldLo ^ vLo;
      nHi = oldHi ^ vHi;
      break;
    case 0xe0:
      nLo = vLo;
      nHi = vHi;
      break;
    case 0xf0:
      if (oldLo === lo[0] && oldHi === hi[0]) {
        view.setInt32(addr, vLo, true);
        view.setInt32(addr + 4, vHi, true);
      }
      lo[0] = oldLo;
      hi[0] = oldHi;
      return;
  }
  view.setInt32(addr, nLo, true);
  view.setInt32(addr + 4, nHi, true);
  if (code & FETCH) {
    lo[s] = oldLo;
    hi[s] = oldHi;
  }
}
