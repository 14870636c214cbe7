/**
 * The abstract interpreter (`do_check`): walks every path of the program from the entry with a
 * {@link VState}, checks each instruction against the kernel's rules, forks at conditional jumps
 * whose outcome the bounds do not decide, and prunes a path when it reaches a checkpoint whose
 * state already covers it (`is_state_visited`). The first violation ends verification with the
 * kernel's message.
 */

import type { Insn } from '../isa/instruction.js';
import { PseudoSrc } from '../isa/opcodes.js';
import type { AluForm, JmpForm } from '../isa/table.js';
import { MapType, type MapTypeName } from '../uapi.js';
import { leS, leU } from './bounds-fast.js';
import {
  btfPtrReadFlags,
  btfStructAccess,
  btfStructIdsMatch,
  btfTypeName,
  kernelStructId,
} from './btf-access.js';
import {
  ALU_IMMEDIATE,
  ALU_NEG_VALUE,
  ALU_SANITIZE_DST,
  ALU_SANITIZE_SRC,
  capsSwitches,
  type LimitPointer,
  ptrLimit,
  sanitizeError,
} from './caps.js';
import { type Cfg, jumpDest, type Slots, subprogOf } from './cfg.js';
import { ConstantTracker } from './constants.js';
import { type GlobalFunc, globalFuncs } from './global-funcs.js';
import { StackLiveness } from './liveness.js';
import { mainFuncNotes, regTypeStr, VerifierLog } from './log.js';
import { type Lookups, sockAccessOk } from './lookups.js';
import {
  assignReg,
  BtfFlag,
  boundsSync,
  boundsValid,
  type CondOp,
  coerceSubregToSizeSx,
  coerceToSize,
  coerceToSizeSx,
  constValue,
  copyReg,
  FLIP,
  isConst,
  isKnown,
  isZero,
  knownOffset,
  mark32Unbounded,
  markKnown,
  markKnownImm,
  markPointer,
  markUnknown,
  newReg,
  REVERSE,
  type Reg,
  type RegType,
  rangeWithin,
  refineCond,
  resetReg,
  sameReg,
  sameTnum,
  scalarAlu,
  scalarBranchTaken,
  sminNumber,
  tnumValue,
  tnumWithin,
  zext32To64,
} from './scalar.js';
import {
  allRegs,
  checkpointState,
  copyState,
  curFrame,
  type Frame,
  histPush,
  NOT_INIT,
  newFrame,
  newStackSlot,
  newState,
  type PrecisionMemo,
  preciseReg,
  preciseSpill,
  releaseState,
  type StackSlot,
  Stype,
  takeReg,
  type VState,
} from './state.js';
import type { ArgBaseType, HelperArg } from './tables/index.js';
import { mapFuncCompatible } from './tables/index.js';
import { S64_MAX, S64_MIN, tnumAdd, tnumConst, u64 } from './tnum.js';
import type { Caps, VerifierInput, VerifierMap } from './types.js';

/** BPF_COMPLEXITY_LIMIT_INSNS */
export const COMPLEXITY_LIMIT_INSNS = 1_000_000;
/** BPF_COMPLEXITY_LIMIT_JMP_SEQ */
const COMPLEXITY_LIMIT_JMP_SEQ = 8192;
const MAX_BPF_STACK = 512;
const MAX_CALL_FRAMES = 8;
const BPF_MAX_VAR_OFF = 1 << 29;
const BPF_MAX_VAR_SIZ = 1 << 29;
const MAX_PACKET_OFF = 0xffff;

/** A rejection raised inside the walk; caught by {@link runCheck}. */
export class Reject {
  constructor(
    readonly message: string,
    readonly insn: number,
    /** Extra lines the kernel prints before the final message. */
    readonly before: readonly string[] = [],
  ) {}
}

export type { Lookups };

interface Pending {
  state: VState;
  insn: number;
  prev: number;
  /** Log position when queued (a level-1 log is cut back there on resume). */
  logPos: number;
}

export interface CheckResult {
  readonly error?: Reject;
  readonly insnsProcessed: number;
  readonly log: VerifierLog;
  readonly visited: Uint8Array;
  readonly maxStack: number;
  /** Bytes of stack each subprogram (by index) reads or writes below its r10: its `stack depth`. */
  readonly stackDepth: ReadonlyMap<number, number>;
  /** What the walk saw of constant registers (the facts' `constants`). */
  readonly constants: ConstantTracker;
  readonly states: { readonly total: number; readonly peak: number; readonly maxPerInsn: number };
}

/** check_ptr_alignment's `pointer_desc` per register type. */
const ALIGN_DESC: Partial<Record<RegType, string>> = {
  flow_keys: 'flow keys ',
  map_key: 'key ',
  map_value: 'value ',
  ctx: 'context ',
  fp: 'stack ',
  sock: 'sock ',
  sock_common: 'sock_common ',
  tcp_sock: 'tcp_sock ',
};

const isPointer = (r: Reg): boolean => r.type !== 'scalar' && r.type !== 'not_init';
const isPkt = (r: Reg): boolean => r.type === 'pkt' || r.type === 'pkt_meta';
const isPktAny = (r: Reg): boolean => isPkt(r) || r.type === 'pkt_end';
/** The kernel struct behind each map type (`map_btf_id`), as check_ptr_to_map_access names it. */
const MAP_STRUCT: Readonly<Record<string, string>> = {
  ARRAY: 'bpf_array',
  PERCPU_ARRAY: 'bpf_array',
  PROG_ARRAY: 'bpf_array',
  PERF_EVENT_ARRAY: 'bpf_array',
  CGROUP_ARRAY: 'bpf_array',
  ARRAY_OF_MAPS: 'bpf_array',
  HASH: 'bpf_htab',
  PERCPU_HASH: 'bpf_htab',
  LRU_HASH: 'bpf_htab',
  LRU_PERCPU_HASH: 'bpf_htab',
  HASH_OF_MAPS: 'bpf_htab',
  RINGBUF: 'bpf_ringbuf_map',
};
const isSockMap = (type: string | undefined): boolean => type === 'SOCKMAP' || type === 'SOCKHASH';
const isNullConst = (r: Reg): boolean => r.type === 'scalar' && isZero(r);

const ALU_STR: Record<string, string> = {
  add: '+=',
  sub: '-=',
  mul: '*=',
  div: '/=',
  sdiv: '/=',
  or: '|=',
  and: '&=',
  lsh: '<<=',
  rsh: '>>=',
  neg: 'neg',
  mod: '%=',
  smod: '%=',
  xor: '^=',
  mov: '=',
  movsx: '=',
  arsh: 's>>=',
};

/** The low `bytes` bytes of `v` in reverse order. */
function swapBytes(v: bigint, bytes: number): bigint {
  let out = 0n;
  for (let k = 0; k < bytes; k++) out = (out << 8n) | ((v >> BigInt(8 * k)) & 0xffn);
  return out;
}

/**
 * BPF_END on a little-endian host: `le` truncates to its width, `be` and `swap` reverse the bytes;
 * the known bits move with them (tnum byte swap) and the bounds follow the tnum, as 6.18 tracks.
 */
function byteSwap(r: Reg, order: 'le' | 'be' | 'swap', bits: 16 | 32 | 64): void {
  if (r.type !== 'scalar') {
    markUnknown(r);
    return;
  }
  if (order === 'le' && bits === 64) return;
  const bytes = bits / 8;
  const width = (1n << BigInt(bits)) - 1n;
  const { value, mask } = r.varOff;
  const varOff =
    order === 'le'
      ? { value: value & width, mask: mask & width }
      : { value: swapBytes(value, bytes), mask: swapBytes(mask, bytes) };
  markUnknown(r);
  r.varOff = varOff;
  boundsSync(r);
}

const NO_SLOTS: readonly number[] = [];

// Helpers of the walk's closures kept out of them: a function made inside one is made again on
// every call (and named again under tsx, whose esbuild keeps names with `__name`).
/** Whether `v`, an integer (exact below 2^53, beyond it far from 2^31 either way), fits in an s32. */
const fits32 = (v: number): boolean => v >= -0x80000000 && v <= 0x7fffffff;
/** check_reg_sane_offset: `r`, an operand or result of arithmetic on pointer `ptr`, stays near. */
function saneOff(r: Reg, ptr: Reg, at: number): void {
  // (on numbers: beyond 2^53 they round, but never across the 2^29 limits)
  if (isKnown(r)) {
    const val = knownOffset(r);
    if (val >= BPF_MAX_VAR_OFF || val <= -BPF_MAX_VAR_OFF)
      throw new Reject(
        `math between ${regTypeStr(ptr)} pointer and ${BigInt.asIntN(64, tnumValue(r))} is not allowed`,
        at,
      );
  }
  if (r.off >= BPF_MAX_VAR_OFF || r.off <= -BPF_MAX_VAR_OFF)
    throw new Reject(`${regTypeStr(ptr)} pointer offset ${r.off} is not allowed`, at);
  if (r.sminH === -0x80000000 && r.sminL === 0)
    throw new Reject(
      `math between ${regTypeStr(ptr)} pointer and register with unbounded min value is not allowed`,
      at,
    );
  const smin = sminNumber(r);
  if (smin >= BPF_MAX_VAR_OFF || smin <= -BPF_MAX_VAR_OFF)
    throw new Reject(`value ${r.smin} makes ${regTypeStr(ptr)} pointer be out of bounds`, at);
}

/** A frame's eleven registers, none written yet. */
function newRegs(): Reg[] {
  const regs: Reg[] = [];
  for (let r = 0; r <= 10; r++) regs.push(newReg());
  return regs;
}

/** A packet pointer at the packet's start (`data + 0`). */
const initPkt = (r: Reg): boolean => r.type === 'pkt' && r.off === 0 && isZero(r);

/**
 * One step of precision marking in state `st` (`s`: the current state, where everything asked
 * for is marked): the registers of `mask` and the stack `slots` that still need marking further
 * up; what is not a scalar, or already precise in a checkpoint, is dropped. Returns the mask.
 */
function markIn(st: VState, s: VState, frame: number, regMask: number, slots: Set<number>): number {
  let mask = regMask;
  const f = st.frames[frame];
  if (!f) return mask;
  for (let r = 0; r < 11; r++) {
    if (!(mask & (1 << r))) continue;
    const reg = f.regs[r];
    if (reg.type !== 'scalar') mask &= ~(1 << r);
    else if (st === s) reg.precise = true;
    else if (reg.precise) mask &= ~(1 << r);
    else f.regs[r] = preciseReg(reg);
  }
  // only the visited key is ever deleted, so iterating the live set is safe
  for (const k of slots) {
    const fr = st.frames[k >> 6];
    const slot = fr?.stack[k & 63];
    if (!slot || slot.types[7] !== Stype.SPILL || slot.spilled.type !== 'scalar') slots.delete(k);
    else if (st === s) slot.spilled.precise = true;
    else if (slot.spilled.precise) slots.delete(k);
    else preciseSpill(fr, k & 63);
  }
  return mask;
}

/** Whether an earlier complete walk (`memo`) covered these marks. */
function memoCovers(memo: PrecisionMemo | undefined, mask: number, slots: Set<number>): boolean {
  if (!memo || mask & ~memo.mask) return false;
  for (const k of slots) if (!memo.slots.includes(k)) return false;
  return true;
}

function setMemo(s: VState, len: number, mask: number, slots: readonly number[]): void {
  s.precisionMemo = { len, mask, slots, frames: s.frames.length };
}

/** check_ids: ids `a` (old) and `b` (current) must map one-to-one. */
function checkIdMap(idmap: Map<number, number>, a: number, b: number): boolean {
  if (!a && !b) return true;
  if (!a || !b) return !a;
  const m = idmap.get(a);
  if (m === undefined) {
    idmap.set(a, b);
    return true;
  }
  return m === b;
}

const EXPECTED_MEM = 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';
const memTypes: readonly RegType[] = ['fp', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem', 'ringbuf_mem'];

/** compatible_reg_types: what each argument base type accepts, and how the kernel lists it. */
const ARG_REG_TYPES: Partial<Record<ArgBaseType, readonly [readonly RegType[], string]>> = {
  ARG_CONST_MAP_PTR: [['map_ptr'], 'map_ptr'],
  ARG_PTR_TO_MAP_KEY: [memTypes, EXPECTED_MEM],
  ARG_PTR_TO_MAP_VALUE: [memTypes, EXPECTED_MEM],
  ARG_PTR_TO_MEM: [memTypes, EXPECTED_MEM],
  ARG_CONST_SIZE: [['scalar'], 'scalar'],
  ARG_CONST_SIZE_OR_ZERO: [['scalar'], 'scalar'],
  ARG_CONST_ALLOC_SIZE_OR_ZERO: [['scalar'], 'scalar'],
  ARG_PTR_TO_CTX: [['ctx'], 'ctx'],
  ARG_PTR_TO_FUNC: [['func'], 'func'],
  ARG_PTR_TO_STACK: [['fp'], 'fp'],
  ARG_PTR_TO_RINGBUF_MEM: [['ringbuf_mem'], 'ringbuf_mem'],
  ARG_PTR_TO_SOCK_COMMON: [['sock_common', 'sock', 'tcp_sock'], 'sock_common, sock, tcp_sock, xdp_sock'],
  ARG_PTR_TO_SOCKET: [['sock'], 'sock'],
  ARG_PTR_TO_TCP_SOCK: [['tcp_sock'], 'tcp_sock'],
  ARG_PTR_TO_BTF_ID_SOCK_COMMON: [
    ['sock_common', 'sock', 'tcp_sock', 'btf_id'],
    'sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_',
  ],
  ARG_PTR_TO_BTF_ID: [['btf_id'], 'ptr_, trusted_ptr_, rcu_ptr_'],
  ARG_PTR_TO_SPIN_LOCK: [['map_value', 'btf_id'], 'map_value, ptr_'],
  ARG_PTR_TO_TIMER: [['map_value'], 'map_value'],
  ARG_PTR_TO_CONST_STR: [['map_value'], 'map_value'],
};

/** The trust flags each argument type takes a `PTR_TO_BTF_ID` with (`compatible_reg_types`). */
const ARG_BTF_FLAGS: Partial<Record<ArgBaseType, readonly number[]>> = {
  ARG_PTR_TO_BTF_ID: [0, BtfFlag.TRUSTED, BtfFlag.RCU],
  ARG_PTR_TO_BTF_ID_SOCK_COMMON: [0, BtfFlag.TRUSTED],
  ARG_PTR_TO_SPIN_LOCK: [],
};

/** Helpers that change a map's contents (`record_func_map`: refused on a read-only map). */
const MAP_WRITES = ['bpf_map_delete_elem', 'bpf_map_update_elem', 'bpf_map_push_elem', 'bpf_map_pop_elem'];

/** Walk the program (one checker per call in progress: see {@link makeChecker}). */
export function runCheck(input: VerifierInput, slots: Slots, cfg: Cfg, lookups: Lookups): CheckResult {
  const check = idleChecker ?? makeChecker();
  idleChecker = undefined;
  try {
    return check.run(input, slots, cfg, lookups);
  } finally {
    check.forget();
    idleChecker = check;
  }
}

interface Checker {
  run(input: VerifierInput, slots: Slots, cfg: Cfg, lookups: Lookups): CheckResult;
  forget(): void;
}
/** A checker no call is using, kept for the next one. */
let idleChecker: Checker | undefined;

/**
 * The checker: its functions are made once and kept, and read what one call works on from the
 * variables below, which each call sets first. Made anew per call, they were new functions at
 * every call, and V8 threw away the optimised code that had called the last call's ones.
 */
function makeChecker(): Checker {
  let input!: VerifierInput;
  let slots!: Slots;
  let cfg!: Cfg;
  let lookups!: Lookups;
  let maps!: readonly VerifierMap[];
  let caps!: Caps;
  let bpfCapable!: boolean;
  let allowPtrLeaks!: boolean;
  let allowUninitStack!: boolean;
  let bypassSpecV1!: boolean;
  let bypassSpecV4!: boolean;
  let aluAux!: Map<number, { state: number; limit: number }>;
  let nospec!: Set<number>;
  let nospecResult!: Set<number>;
  let logLevel!: 0 | 1 | 2;
  let visited!: Uint8Array;
  let idGen!: number;
  let insnsProcessed!: number;
  let jmpsProcessed!: number;
  let prevJmps!: number;
  let prevInsns!: number;
  let maxStack!: number;
  let explored!: Map<number, { state: VState; hit: number; miss: number }[]>;
  let pending!: Pending[];
  let stats!: { total: number; cur: number; peak: number; maxPerInsn: number };
  let stackDepth!: Map<number, number>;
  let hasFuncInfo!: boolean;
  let vlog!: VerifierLog;
  let live!: StackLiveness | undefined;
  let strictAlignment!: boolean;
  let testStateFreq!: boolean;
  let inRcu!: boolean;
  let immRegs!: Array<Reg | undefined>;
  let unboundScalar!: Reg;
  let pruneIds!: Map<number, number>;
  let precSlots!: Set<number>;
  let globals!: ReturnType<typeof globalFuncs>;
  let calledGlobals!: Set<number>;
  let init!: VState;
  let prunePoint!: Uint8Array;
  let constants!: ConstantTracker;

  const say = (line: string) => {
    if (logLevel > 0) vlog.say(line);
  };
  const spiOf = (addr: number) => Math.floor((-addr - 1) / 8);

  // -------------------------------------------------------------------------------------------
  // registers

  const regs = (s: VState) => curFrame(s).regs;

  const readReg = (s: VState, r: number, at: number): Reg => {
    const reg = regs(s)[r];
    if (reg.type === 'not_init') throw new Reject(`R${r} !read_ok`, at);
    return reg;
  };
  /** Before an instruction writes register `r`: not r10, and a register of its own (see NOT_INIT). */
  /**
   * `regs[i] = a copy of src`, written into the register's own object where it has one (the
   * live state's registers and slots are its own: pushes and checkpoints copy them), instead of
   * a new object per move.
   */
  const putReg = (regs: Reg[], i: number, src: Reg): Reg => {
    const d = regs[i];
    if (d === NOT_INIT) {
      const c = copyReg(src);
      regs[i] = c;
      return c;
    }
    if (d !== src) assignReg(d, src);
    return d;
  };

  const writeCheck = (s: VState, r: number, at: number) => {
    if (r === 10) throw new Reject('frame pointer is read only', at);
    const cur = regs(s);
    if (cur[r] === NOT_INIT) cur[r] = takeReg();
  };

  // -------------------------------------------------------------------------------------------
  // memory

  const memAccessError = (
    reg: Reg,
    regno: number,
    off: number,
    size: number,
    memSize: number,
    zeroOk: boolean,
  ): string | undefined => {
    const sizeOk = size > 0 || (size === 0 && zeroOk);
    if (off >= 0 && sizeOk && off + size <= memSize) return undefined;
    switch (reg.type) {
      case 'map_key':
        return `invalid access to map key, key_size=${memSize} off=${off} size=${size}`;
      case 'map_value':
        return `invalid access to map value, value_size=${memSize} off=${off} size=${size}`;
      case 'pkt':
      case 'pkt_meta':
      case 'pkt_end':
        return `invalid access to packet, off=${off} size=${size}, R${regno}(id=${reg.id},off=${off},r=${memSize})`;
      default:
        return `invalid access to memory, mem_size=${memSize} off=${off} size=${size}`;
    }
  };

  /** check_mem_region_access */
  const memRegion = (
    reg: Reg,
    regno: number,
    off: number,
    size: number,
    memSize: number,
    zeroOk: boolean,
    at: number,
  ) => {
    const smin = reg.smin;
    if (
      smin < 0n &&
      (smin === S64_MIN ||
        BigInt(off) + smin !== BigInt.asIntN(32, BigInt(off) + smin) ||
        smin + BigInt(off) < 0n)
    ) {
      throw new Reject(
        `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`,
        at,
      );
    }
    const e1 = memAccessError(reg, regno, Number(smin) + off, size, memSize, zeroOk);
    if (e1) throw new Reject(`R${regno} min value is outside of the allowed memory range`, at, [e1]);
    if (reg.umax >= BigInt(BPF_MAX_VAR_OFF))
      throw new Reject(`R${regno} unbounded memory access, make sure to bounds check any such access`, at);
    const e2 = memAccessError(reg, regno, Number(reg.umax) + off, size, memSize, zeroOk);
    if (e2) throw new Reject(`R${regno} max value is outside of the allowed memory range`, at, [e2]);
  };

  const packetAccess = (reg: Reg, regno: number, off: number, size: number, zeroOk: boolean, at: number) => {
    if (reg.smin < 0n)
      throw new Reject(
        `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`,
        at,
      );
    const e = reg.range < 0 ? 'range' : memAccessError(reg, regno, off, size, reg.range, zeroOk);
    if (e) throw new Reject(`R${regno} offset is outside of the packet`, at, e === 'range' ? [] : [e]);
  };

  const frameOf = (s: VState, reg: Reg): Frame => s.frames[reg.frameno];

  const slotAt = (f: Frame, addr: number): { slot: StackSlot; j: number; spi: number } => {
    const k = -addr - 1;
    const spi = k >> 3;
    while (f.stack.length <= spi) f.stack.push(newStackSlot());
    return { slot: f.stack[spi], j: k & 7, spi };
  };

  const noteStack = (f: Frame, lowest: number) => {
    const d = Math.min(0, lowest);
    const cur = stackDepth.get(f.subprog) ?? 0;
    const depth = Math.ceil(-d / 8) * 8;
    if (depth > cur) stackDepth.set(f.subprog, depth);
  };

  const stackBounds = (
    reg: Reg,
    regno: number,
    off: number,
    size: number,
    kind: 'read' | 'write' | 'helper',
    at: number,
    allocated = MAX_BPF_STACK,
  ) => {
    let minOff: number;
    let maxOff: number;
    const extra = kind === 'read' ? ' read from' : kind === 'write' ? ' write to' : ' indirect access to';
    if (isKnown(reg)) {
      minOff = knownOffset(reg) + off;
      maxOff = minOff + size;
    } else {
      if (reg.smax >= BigInt(BPF_MAX_VAR_OFF) || reg.smin <= -BigInt(BPF_MAX_VAR_OFF)) {
        throw new Reject(`invalid unbounded variable-offset${extra} stack R${regno}`, at);
      }
      minOff = Number(reg.smin) + off;
      maxOff = Number(reg.smax) + off + size;
    }
    // without CAP_PERFMON a read stops at the stack the frame has written so far
    const floor = kind === 'read' && !allowUninitStack ? -allocated : -MAX_BPF_STACK;
    let bad = minOff >= 0 || minOff < floor;
    if (!bad && maxOff > 0) bad = true;
    if (!bad && size < 0) bad = true;
    if (bad) {
      if (isKnown(reg)) throw new Reject(`invalid${extra} stack R${regno} off=${off} size=${size}`, at);
      throw new Reject(
        `invalid variable-offset${extra} stack R${regno} var_off=(0x${reg.varOff.value.toString(16)}; 0x${reg.varOff.mask.toString(16)}) off=${off} size=${size}`,
        at,
      );
    }
    return { minOff, maxOff };
  };

  const stackWrite = (
    s: VState,
    reg: Reg,
    regno: number,
    off: number,
    size: number,
    value: Reg | undefined,
    imm: number | undefined,
    at: number,
  ) => {
    const f = frameOf(s, reg);
    if (!isKnown(reg)) {
      const { minOff, maxOff } = stackBounds(reg, regno, off, size, 'write', at);
      noteStack(f, minOff);
      const zero = value ? isNullConst(value) : imm === 0;
      for (let a = minOff; a < maxOff; a++) {
        const { slot, j } = slotAt(f, a);
        if (slot.types[7] === Stype.SPILL) {
          for (let k = 0; k < 8; k++) slot.types[k] = Stype.MISC;
          slot.spilled = newReg();
        }
        if (!(zero && slot.types[j] === Stype.ZERO)) slot.types[j] = Stype.MISC;
      }
      return;
    }
    const addr = knownOffset(reg) + off;
    stackBounds(reg, regno, off, size, 'write', at);
    noteStack(f, addr);
    // only a whole aligned slot counts as written for liveness
    if (addr % 8 === 0 && size === 8) live?.write(f.frameno, spiOf(addr));
    // stack accesses are always aligned to their size, so a write stays in one slot; byte k of a
    // slot is the one at address -(8 * spi + k + 1), the kernel's `slot_type[(slot - i) % 8]`
    const { slot, j } = slotAt(f, addr);
    if (!bypassSpecV4) {
      // check_stack_write_fixed_off reads slot_type[0..size) here, whatever bytes the store hits
      let sanitize = value !== undefined && isPointer(value);
      for (let i = 0; i < size && !sanitize; i++)
        sanitize = slot.types[i] !== Stype.MISC && slot.types[i] !== Stype.ZERO;
      if (sanitize) nospecResult.add(at);
    }
    if (!allowPtrLeaks && size !== 8 && slot.types[7] === Stype.SPILL && slot.spilled.type !== 'scalar')
      throw new Reject('attempt to corrupt spilled pointer on stack', at);
    const aligned = addr % 8 === 0;
    const capable = caps !== 'unpriv';
    if (value && aligned && value.type === 'scalar' && capable) {
      // the spill links the register and the slot by an id, unless the value is wider than the slot
      const fits = value.umax < 1n << BigInt(8 * size);
      if (fits && !value.id && !isKnown(value)) value.id = ++idGen;
      saveSpill(slot, value, size);
      if (!fits) slot.spilled.id = 0;
    } else if (!value && aligned && imm !== undefined && capable) {
      const t = newReg();
      markKnown(t, BigInt(imm));
      saveSpill(slot, t, size);
    } else if (value && isPointer(value)) {
      if (size !== 8) throw new Reject('invalid size of register spill', at);
      saveSpill(slot, value, size);
    } else {
      const zero = value ? isNullConst(value) : imm === 0;
      if (slot.types[7] === Stype.SPILL || slot.spilled.type !== 'not_init') {
        slot.spilled = newReg();
        for (let k = 0; k < 8; k++) if (slot.types[k] === Stype.SPILL) slot.types[k] = Stype.MISC;
      }
      for (let i = 0; i < size; i++) slot.types[j - i] = zero ? Stype.ZERO : Stype.MISC;
    }
  };

  const saveSpill = (slot: StackSlot, value: Reg, size: number) => {
    if (slot.spilled === NOT_INIT) slot.spilled = copyReg(value);
    else if (slot.spilled !== value) assignReg(slot.spilled, value);
    let i = 8;
    for (; i > 8 - size; i--) slot.types[i - 1] = Stype.SPILL;
    for (; i > 0; i--) {
      const t = slot.types[i - 1];
      // mark_stack_slot_misc (6.18): never-written bytes stay INVALID in every mode, so reading
      // them still needs allow_uninit_stack
      if (t === Stype.ZERO || t === Stype.INVALID) continue;
      slot.types[i - 1] = Stype.MISC;
    }
  };

  const stackRead = (
    s: VState,
    reg: Reg,
    regno: number,
    off: number,
    size: number,
    dst: number | undefined,
    at: number,
    cur: Reg[],
  ) => {
    const f = frameOf(s, reg);
    if (!isKnown(reg)) {
      const { minOff, maxOff } = stackBounds(reg, regno, off, size, 'read', at, 8 * f.stack.length);
      noteStack(f, minOff);
      let zeros = 0;
      for (let a = minOff; a < maxOff; a++) {
        const { slot, j } = slotAt(f, a);
        const t = slot.types[j];
        if (t === Stype.ZERO) zeros++;
        else if (t === Stype.INVALID && !allowUninitStack) {
          throw new Reject(
            `invalid variable-offset read from stack R${regno} var_off=(0x${reg.varOff.value.toString(16)}; 0x${reg.varOff.mask.toString(16)}) off=${off} size=${size}`,
            at,
          );
        }
      }
      if (live) for (let a = minOff; a < maxOff; a++) live.read(s, f.frameno, at, spiOf(a));
      if (dst !== undefined) {
        if (zeros === maxOff - minOff) markKnown(cur[dst], 0n);
        else markUnknown(cur[dst]);
      }
      return;
    }
    const addr = knownOffset(reg) + off;
    stackBounds(reg, regno, off, size, 'read', at, 8 * f.stack.length);
    noteStack(f, addr);
    live?.read(s, f.frameno, at, spiOf(addr));
    const { slot, j } = slotAt(f, addr + size - 1);
    const k0 = -addr - 1;
    if (slot.types[7] === Stype.SPILL) {
      let spillSize = 1;
      for (let i = 7; i > 0 && slot.types[i - 1] === Stype.SPILL; i--) spillSize++;
      const sp = slot.spilled;
      if (size !== 8 || spillSize !== 8) {
        if (sp.type !== 'scalar') throw new Reject('invalid size of register fill', at);
        if (dst === undefined) return;
        const narrowOk = addr % 8 === 0 || (k0 & 7) === 7 - 0; // bpf_stack_narrow_access_ok: off aligned to slot start
        if (size <= spillSize && narrowOk && addr % 8 === 0) {
          // a 32-bit fill of a 32-bit spill links the slot and the register; a narrowing one
          // breaks the link
          if (caps !== 'unpriv' && size === 4 && spillSize === 4 && sp.umax <= 0xffffffffn) {
            if (!sp.id && !isKnown(sp)) sp.id = ++idGen;
          }
          putReg(cur, dst, sp);
          if (sp.umax >= 1n << BigInt(8 * size)) cur[dst].id = 0;
        } else {
          let spill = 0;
          let zero = 0;
          for (let i = 0; i < size; i++) {
            const t = slotAt(f, addr + i);
            const ty = t.slot.types[t.j];
            if (ty === Stype.SPILL) spill++;
            else if (ty === Stype.ZERO) zero++;
            else if (ty === Stype.MISC) {
              /* ok */
            } else if (!(ty === Stype.INVALID && allowUninitStack)) {
              throw new Reject(`invalid read from stack off ${addr}+${i} size ${size}`, at);
            }
          }
          if ((spill === size && isNullConst(sp)) || zero === size) markKnown(cur[dst], 0n);
          else markUnknown(cur[dst]);
        }
        return;
      }
      if (dst !== undefined) cur[dst] = copyReg(sp);
      else if (isPointer(sp) && !allowPtrLeaks)
        throw new Reject(`leaking pointer from stack off ${addr}`, at);
      return;
    }
    let zeros = 0;
    for (let i = 0; i < size; i++) {
      const p = slotAt(f, addr + i);
      const t = p.slot.types[p.j];
      if (t === Stype.MISC) continue;
      if (t === Stype.ZERO) {
        zeros++;
        continue;
      }
      if (t === Stype.INVALID && allowUninitStack) continue;
      throw new Reject(`invalid read from stack off ${addr}+${i} size ${size}`, at);
    }
    void j;
    if (dst !== undefined) {
      if (zeros === size) markKnown(cur[dst], 0n);
      else markUnknown(cur[dst]);
    }
  };

  const ptrOffCheck = (reg: Reg, regno: number, at: number) => {
    if (reg.off < 0)
      throw new Reject(`negative offset ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`, at);
    if (reg.off)
      throw new Reject(
        `dereference of modified ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`,
        at,
      );
    if (!isZero(reg)) {
      throw new Reject(
        `variable ${regTypeStr(reg)} access var_off=(0x${reg.varOff.value.toString(16)}; 0x${reg.varOff.mask.toString(16)}) disallowed`,
        at,
      );
    }
  };

  /** check_ptr_alignment: the stack is always strict, packets pretend NET_IP_ALIGN is 2. */
  const alignCheck = (reg: Reg, off: number, size: number, at: number, strictOnce = false) => {
    const strict = strictAlignment || strictOnce || reg.type === 'fp';
    if (!strict || size === 1) return;
    const pkt = isPkt(reg);
    const ipAlign = pkt ? 2 : 0;
    if (isKnown(reg)) {
      // the low bits of a known offset, on numbers
      if (((reg.valL + ipAlign + reg.off + off) & (size - 1)) === 0) return;
    } else {
      const t = tnumAdd(reg.varOff, tnumConst(BigInt(ipAlign + reg.off + off)));
      if (!((t.value | t.mask) & BigInt(size - 1))) return;
    }
    const vo = isKnown(reg)
      ? `${BigInt.asIntN(64, reg.varOff.value)}`
      : `(0x${reg.varOff.value.toString(16)}; 0x${reg.varOff.mask.toString(16)})`;
    if (pkt) throw new Reject(`misaligned packet access off 2+${vo}+${reg.off}+${off} size ${size}`, at);
    throw new Reject(
      // the kernel switches on the full type: a maybe-NULL pointer gets no description
      `misaligned ${(!reg.maybeNull && ALIGN_DESC[reg.type]) || ''}access off ${vo}+${reg.off}+${off} size ${size}`,
      at,
    );
  };

  /** check_ptr_to_btf_access: a load through a pointer to a kernel struct follows its BTF layout. */
  const btfAccess = (
    reg: Reg,
    regno: number,
    off: number,
    size: number,
    write: boolean,
    value: number | undefined,
    cur: Reg[],
    at: number,
  ) => {
    const btf = input.kernelBtf;
    // without the kernel's BTF (or for BTF pointers we cannot name) there is no layout to follow
    if (!btf || !reg.btfId) throw new Reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`, at);
    const tname = btfTypeName(btf, reg.btfId);
    if (!allowPtrLeaks)
      throw new Reject(`'struct ${tname}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`, at);
    if (input.gpl === false)
      throw new Reject(`Cannot access kernel 'struct ${tname}' from non-GPL compatible program`, at);
    if (off < 0) throw new Reject(`R${regno} is ptr_${tname} invalid negative access: off=${off}`, at);
    if (!isZero(reg))
      throw new Reject(
        `R${regno} is ptr_${tname} invalid variable offset: off=${off}, var_off=(0x${reg.varOff.value.toString(16)}; 0x${reg.varOff.mask.toString(16)})`,
        at,
      );
    if (reg.btfFlags & BtfFlag.USER)
      throw new Reject(`R${regno} is ptr_${tname} access user memory: off=${off}`, at);
    if (reg.btfFlags & BtfFlag.PERCPU)
      throw new Reject(`R${regno} is ptr_${tname} access percpu memory: off=${off}`, at);
    if (write) throw new Reject('only read is supported', at);
    const read = btfStructAccess(btf, reg.btfId, off, size);
    if (typeof read === 'string') throw new Reject(read, at);
    if (value === undefined) return;
    if (read.kind === 'scalar') {
      markUnknown(cur[value]);
      return;
    }
    if (read.kind === 'untrusted_mem') {
      markPointer(cur[value], 'mem');
      cur[value].rdonly = true;
      cur[value].btfFlags = BtfFlag.UNTRUSTED;
      return;
    }
    const next = btfPtrReadFlags(btf, reg.btfId, reg.btfFlags, reg.refObjId !== 0, inRcu, read);
    const dst = cur[value];
    markPointer(dst, 'btf_id');
    dst.btfId = next.btfId;
    dst.btfFlags = next.flags;
    if (next.maybeNull) {
      dst.maybeNull = true;
      dst.id = ++idGen;
    }
  };

  /** check_mem_access */
  const memAccess = (
    s: VState,
    regno: number,
    insnOff: number,
    size: number,
    write: boolean,
    value: number | undefined,
    imm: number | undefined,
    at: number,
    signed = false,
    strictOnce = false,
  ) => {
    const cur = regs(s);
    const reg = cur[regno];
    lookups.access?.(at, reg.type, write);
    alignCheck(reg, insnOff, size, at, strictOnce);
    const off = insnOff + reg.off;
    const valueReg = write && value !== undefined ? cur[value] : undefined;
    if (reg.maybeNull && isPointer(reg))
      throw new Reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`, at);
    switch (reg.type) {
      case 'map_value': {
        const m = maps[reg.map];
        if (write && valueReg && isPointer(valueReg) && !allowPtrLeaks)
          throw new Reject(`R${value} leaks addr into map`, at);
        const rdonly = m && (m.flags & 0x80) !== 0;
        const wronly = m && (m.flags & 0x100) !== 0;
        if (write && rdonly)
          throw new Reject(`write into map forbidden, value_size=${m.valueSize} off=${off} size=${size}`, at);
        if (!write && wronly)
          throw new Reject(`read from map forbidden, value_size=${m.valueSize} off=${off} size=${size}`, at);
        memRegion(reg, regno, off, size, m?.valueSize ?? 0, false, at);
        if (!write && value !== undefined) {
          // bpf_map_direct_read: a frozen read-only map's bytes at a known offset are constants
          const init = m?.initialValue;
          const at0 = off + knownOffset(reg);
          if (m?.frozen && m.flags & 0x80 && init && isKnown(reg) && at0 + size <= init.length) {
            let v = 0n;
            for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(init[at0 + k]);
            markKnown(cur[value], v);
          } else markUnknown(cur[value]);
        }
        break;
      }
      case 'map_key': {
        const m = maps[reg.map];
        if (write) throw new Reject(`write to change key R${regno} not allowed`, at);
        memRegion(reg, regno, off, size, m?.keySize ?? 0, false, at);
        if (value !== undefined) markUnknown(cur[value]);
        break;
      }
      case 'mem':
      case 'ringbuf_mem': {
        if (write && reg.rdonly) throw new Reject(`R${regno} cannot write into ${regTypeStr(reg)}`, at);
        if (write && valueReg && isPointer(valueReg) && !allowPtrLeaks)
          throw new Reject(`R${value} leaks addr into mem`, at);
        // rdonly_untrusted_mem: loads through it are probe loads, with no bounds to check
        if (!(reg.rdonly && reg.btfFlags & BtfFlag.UNTRUSTED))
          memRegion(reg, regno, off, size, reg.memSize, false, at);
        if (!write && value !== undefined) markUnknown(cur[value]);
        break;
      }
      case 'ctx': {
        if (write && valueReg && isPointer(valueReg) && !allowPtrLeaks)
          throw new Reject(`R${value} leaks addr into ctx`, at);
        ptrOffCheck(reg, regno, at);
        const acc = lookups.ctx(off, size, write);
        if (typeof acc === 'string') throw new Reject(acc, at);
        if (!write && value !== undefined) {
          if (acc.type === 'scalar') markUnknown(cur[value]);
          else {
            // packet pointers from the context start with id 0 (they all share it)
            markPointer(cur[value], acc.type);
            if (acc.note) say(acc.note);
            if (acc.type === 'btf_id') {
              const kbtf = input.kernelBtf;
              cur[value].btfId =
                acc.btfId ?? (kbtf && acc.btfStruct ? kernelStructId(kbtf, acc.btfStruct) : 0);
              cur[value].btfFlags = acc.btfFlags ?? 0;
            }
            if (acc.maybeNull) {
              cur[value].maybeNull = true;
              cur[value].id = ++idGen;
            }
          }
        }
        break;
      }
      case 'fp':
        if (write) stackWrite(s, reg, regno, off, size, valueReg, imm, at);
        else stackRead(s, reg, regno, off, size, value, at, cur);
        break;
      case 'pkt':
      case 'pkt_meta': {
        if (write && !pktWritable()) throw new Reject('cannot write into packet', at);
        if (write && valueReg && isPointer(valueReg) && !allowPtrLeaks)
          throw new Reject(`R${value} leaks addr into packet`, at);
        packetAccess(reg, regno, off, size, false, at);
        if (!write && value !== undefined) markUnknown(cur[value]);
        break;
      }
      case 'sock':
      case 'sock_common':
      case 'tcp_sock': {
        // check_sock_access
        if (write) throw new Reject(`R${regno} cannot write into ${regTypeStr(reg)}`, at);
        if (reg.smin < 0n)
          throw new Reject(
            `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`,
            at,
          );
        if (!sockAccessOk(reg.type, off, size))
          throw new Reject(`R${regno} invalid ${regTypeStr(reg)} access off=${off} size=${size}`, at);
        if (value !== undefined) markUnknown(cur[value]);
        break;
      }
      case 'btf_id':
        btfAccess(reg, regno, off, size, write, value, cur, at);
        break;
      case 'map_ptr': {
        // check_ptr_to_map_access: reads of the kernel's map struct, in this order of refusals
        const tname = MAP_STRUCT[maps[reg.map]?.type ?? ''];
        if (tname === undefined) throw new Reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`, at);
        if (!allowPtrLeaks)
          throw new Reject(`'struct ${tname}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`, at);
        if (off < 0) throw new Reject(`R${regno} is ${tname} invalid negative access: off=${off}`, at);
        if (write) throw new Reject(`only read from ${tname} is supported`, at);
        if (value !== undefined) markUnknown(cur[value]);
        break;
      }
      default:
        throw new Reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`, at);
    }
    if (!write && value !== undefined && size < 8 && cur[value].type === 'scalar') {
      if (signed) coerceToSizeSx(cur[value], size);
      else coerceToSize(cur[value], size);
    }
  };

  const pktWritable = () =>
    ['XDP', 'SCHED_CLS', 'SCHED_ACT', 'LWT_XMIT', 'SK_SKB', 'SK_MSG'].includes(input.progType);

  // -------------------------------------------------------------------------------------------
  // ALU

  const ptrAlu = (
    s: VState,
    insn: Insn,
    dst: Reg,
    ptr: Reg,
    offReg: Reg,
    op: string,
    dstno: number,
    at: number,
  ) => {
    const f = insn.form as AluForm;
    if (f.bits !== 64) {
      if (op === 'sub' && allowPtrLeaks) {
        markUnknown(dst);
        return;
      }
      throw new Reject(`R${dstno} 32-bit pointer arithmetic prohibited`, at);
    }
    if (ptr.maybeNull)
      throw new Reject(
        `R${dstno} pointer arithmetic on ${regTypeStr(ptr)} prohibited, null-check it first`,
        at,
      );
    const known = isKnown(offReg);
    // the offset's minimum as a number (exact below 2^53: what a fixed offset can add)
    const smin = sminNumber(offReg);
    const okTypes: RegType[] = [
      'ctx',
      'map_value',
      'map_key',
      'fp',
      'pkt_meta',
      'pkt',
      'btf_id',
      'mem',
      'ringbuf_mem',
      'func',
    ];
    if (!okTypes.includes(ptr.type)) {
      if (!(ptr.type === 'map_ptr' && known && smin === 0 && op === 'add')) {
        throw new Reject(`R${dstno} pointer arithmetic on ${regTypeStr(ptr)} prohibited`, at);
      }
    }
    const o = offReg;
    if (
      (known && (o.sminH !== o.smaxH || o.sminL !== o.smaxL || o.uminH !== o.umaxH || o.uminL !== o.umaxL)) ||
      !leS(o.sminH, o.sminL, o.smaxH, o.smaxL) ||
      !leU(o.uminH, o.uminL, o.umaxH, o.umaxL)
    ) {
      markUnknown(dst);
      return;
    }
    if (op === 'and' || op === 'or' || op === 'xor')
      throw new Reject(`R${dstno} bitwise operator ${ALU_STR[op]} on pointer prohibited`, at);
    if (op !== 'add' && op !== 'sub')
      throw new Reject(`R${dstno} pointer arithmetic with ${ALU_STR[op]} operator prohibited`, at);
    if (op === 'sub' && dst === offReg)
      throw new Reject(`R${dstno} tried to subtract pointer from scalar`, at);
    if (op === 'sub' && ptr.type === 'fp')
      throw new Reject(`R${dstno} subtraction from stack pointer prohibited`, at);
    saneOff(offReg, ptr, at);
    saneOff(ptr, ptr, at);
    // sanitize_ptr_alu, first half: can the arithmetic be masked? (reg operands, add/sub only;
    // can_skip_alu_sanitation: not at an instruction a speculative path already ended at, whose
    // nospec barrier makes masking needless)
    const sanitize = !bypassSpecV1 && f.source === 'reg' && (op === 'add' || op === 'sub') && !nospec.has(at);
    const ptrno = dst === ptr ? dstno : insn.src;
    const offno = dst === offReg ? dstno : insn.src;
    const aluOp = op === 'add' ? 'add' : 'sub';
    let masking: { state: number; limit: number; left: boolean } | undefined;
    if (sanitize && !s.speculative) {
      const neg = offReg.sminH < 0;
      if (!known && neg !== offReg.smaxH < 0)
        throw new Reject(sanitizeError('bounds', aluOp, dstno, offno, ptrno), at);
      const left = (op === 'add' && neg) || (op === 'sub' && !neg);
      const limit = ptrLimit(limitPointer(ptr), left);
      if (typeof limit === 'string') throw new Reject(sanitizeError(limit, aluOp, dstno, offno, ptrno), at);
      const state =
        (neg ? ALU_NEG_VALUE : 0) |
        (known ? ALU_IMMEDIATE : 0) |
        (dst === ptr ? ALU_SANITIZE_SRC : ALU_SANITIZE_DST);
      masking = { state, limit, left };
    }
    if (sanitize && !known) {
      // the masked offset may be 0 under misprediction: walk on with the pointer unmoved
      const spec = push(s, at + 1, at, at);
      spec.speculative = true;
      if (dst !== ptr) curFrame(spec).regs[dstno] = copyReg(ptr);
    }
    const p = copyReg(ptr);
    const out = copyReg(ptr);
    mark32Unbounded(out);
    if (op === 'add') {
      if (known && fits32(p.off + smin)) {
        out.off = p.off + smin;
      } else {
        const a = p.smin + offReg.smin;
        const b = p.smax + offReg.smax;
        if (a < S64_MIN || a > S64_MAX || b < S64_MIN || b > S64_MAX) {
          out.smin = S64_MIN;
          out.smax = S64_MAX;
        } else {
          out.smin = a;
          out.smax = b;
        }
        const c = p.umin + offReg.umin;
        const d = p.umax + offReg.umax;
        if (c > (1n << 64n) - 1n || d > (1n << 64n) - 1n) {
          out.umin = 0n;
          out.umax = (1n << 64n) - 1n;
        } else {
          out.umin = c;
          out.umax = d;
        }
        out.varOff = tnumAdd(p.varOff, offReg.varOff);
        if (isPkt(p)) {
          out.id = ++idGen;
          out.range = 0;
        }
      }
    } else {
      if (known && fits32(p.off - smin)) {
        out.off = p.off - smin;
      } else {
        const a = p.smin - offReg.smax;
        const b = p.smax - offReg.smin;
        if (a < S64_MIN || a > S64_MAX || b < S64_MIN || b > S64_MAX) {
          out.smin = S64_MIN;
          out.smax = S64_MAX;
        } else {
          out.smin = a;
          out.smax = b;
        }
        if (p.umin < offReg.umax) {
          out.umin = 0n;
          out.umax = (1n << 64n) - 1n;
        } else {
          out.umin = p.umin - offReg.umax;
          out.umax = p.umax - offReg.umin;
        }
        out.varOff = { value: u64(p.varOff.value - offReg.varOff.value), mask: 0n };
        out.varOff = subTnum(p, offReg);
        if (isPkt(p)) {
          out.id = ++idGen;
          if (offReg.sminH < 0) out.range = 0;
        }
      }
    }
    // AT_PKT_END / BEYOND_PKT_END describe the pointer before the arithmetic, not after
    if (isPkt(out) && out.range < 0) out.range = 0;
    saneOff(out, ptr, at);
    boundsSync(out);
    if (!bypassSpecV1) sanitizeBounds(out, dstno, at);
    if (masking) {
      // second half (commit): the limit is the distance the arithmetic moved the pointer
      const after = ptrLimit(limitPointer(out), masking.left);
      if (typeof after === 'string') throw new Reject(sanitizeError(after, aluOp, dstno, offno, ptrno), at);
      const limit = Math.abs(masking.limit - after);
      const was = aluAux.get(at);
      if (was && (was.state !== masking.state || was.limit !== limit))
        throw new Reject(sanitizeError('paths', aluOp, dstno, offno, ptrno), at);
      aluAux.set(at, { state: masking.state, limit });
    }
    Object.assign(dst, out);
  };

  const limitPointer = (r: Reg): LimitPointer => ({
    type: r.type,
    off: r.off,
    varOffValue: BigInt.asIntN(64, r.varOff.value),
    smin: r.smin,
    umax: r.umax,
    valueSize: r.type === 'map_value' ? (maps[r.map]?.valueSize ?? 0) : 0,
  });

  /** sanitize_check_bounds: without CAP_PERFMON the result must stay inside its object. */
  const sanitizeBounds = (r: Reg, regno: number, at: number) => {
    if (r.type === 'fp') {
      if (!isKnown(r))
        throw new Reject(
          `R${regno} variable stack access prohibited for !root, var_off=(0x${r.varOff.value.toString(16)}; 0x${r.varOff.mask.toString(16)}) off=${r.off}`,
          at,
        );
      const off = r.off + knownOffset(r);
      if (off >= 0 || off < -MAX_BPF_STACK)
        throw new Reject(
          `R${regno} stack pointer arithmetic goes out of range, prohibited for !root; off=${off}`,
          at,
        );
    } else if (r.type === 'map_value') {
      const size = maps[r.map]?.valueSize ?? 0;
      const lo = r.smin + BigInt(r.off);
      const hi = r.umax + BigInt(r.off) + 1n;
      if (lo < 0n || hi > BigInt(size) || r.umax >= BigInt(BPF_MAX_VAR_OFF))
        throw new Reject(
          `R${regno} pointer arithmetic of map value goes out of range, prohibited for !root`,
          at,
        );
    }
  };

  const subTnum = (a: Reg, b: Reg) => {
    const dv = u64(a.varOff.value - b.varOff.value);
    const alpha = u64(dv + a.varOff.mask);
    const beta = u64(dv - b.varOff.mask);
    const mu = (alpha ^ beta) | a.varOff.mask | b.varOff.mask;
    return { value: dv & ~mu, mask: mu };
  };

  const immReg = (insn: Insn, at: number): Reg => {
    let r = immRegs[at];
    if (!r) {
      r = newReg('scalar');
      markKnown(r, BigInt(insn.imm));
      immRegs[at] = r;
    }
    return r;
  };

  const checkAlu = (s: VState, insn: Insn, at: number) => {
    const f = insn.form as AluForm;
    const cur = regs(s);
    const op = f.op;
    if (op === 'neg') {
      readReg(s, insn.dst, at);
      if (isPointer(cur[insn.dst]) && !allowPtrLeaks)
        throw new Reject(`R${insn.dst} pointer arithmetic prohibited`, at);
      writeCheck(s, insn.dst, at);
      const d = cur[insn.dst];
      if (d.type === 'scalar') scalarAlu(d, d, 'neg', f.bits);
      else markUnknown(d);
      d.id = 0;
      return;
    }
    if (op === 'mov' || op === 'movsx') {
      if (f.source === 'reg') {
        const src = readReg(s, insn.src, at);
        writeCheck(s, insn.dst, at);
        if (f.bits === 64) {
          if (op === 'mov') {
            if (src.type === 'scalar' && !src.id && !isKnown(src)) src.id = ++idGen;
            putReg(cur, insn.dst, src);
          } else {
            if (isPointer(src)) {
              if (!allowPtrLeaks) throw new Reject(`R${insn.src} sign-extension part of pointer`, at);
              markUnknown(cur[insn.dst]);
            } else {
              const ext = f.extend ?? 32;
              const noSext = src.umax < 1n << BigInt(ext - 1);
              if (noSext && !src.id && !isKnown(src)) src.id = ++idGen;
              const d = copyReg(src);
              if (!noSext) d.id = 0;
              coerceToSizeSx(d, ext / 8);
              if (ext === 32 && d.smin <= src.s32min && src.s32max <= d.smax) {
                // (s32) yields exactly the source's low word sign-extended: its s32 range (6.18 keeps it)
                d.smin = src.s32min;
                d.smax = src.s32max;
                boundsSync(d);
              }
              if (noSext) d.id = src.id;
              cur[insn.dst] = d;
            }
          }
        } else {
          if (isPointer(src)) {
            if (!allowPtrLeaks) throw new Reject(`R${insn.src} partial copy of pointer`, at);
            markUnknown(cur[insn.dst]);
          } else if (op === 'mov') {
            const fits = src.umax <= 0xffffffffn;
            if (fits && !src.id && !isKnown(src)) src.id = ++idGen;
            const d = putReg(cur, insn.dst, src);
            if (!fits) d.id = 0;
          } else {
            // w1 = (s8, s16)w2: linked to the source while the value needs no sign extension
            const ext = f.extend === 16 ? 16 : 8;
            const noSext = src.umax < 1n << BigInt(ext - 1);
            if (noSext && !src.id && !isKnown(src)) src.id = ++idGen;
            const d = copyReg(src);
            if (!noSext) d.id = 0;
            coerceSubregToSizeSx(d, ext === 16 ? 2 : 1);
            cur[insn.dst] = d;
          }
          zext32To64(cur[insn.dst]);
          boundsSync(cur[insn.dst]);
        }
      } else {
        writeCheck(s, insn.dst, at);
        markKnownImm(cur[insn.dst], insn.imm, f.bits);
      }
      return;
    }
    if (f.source === 'reg') readReg(s, insn.src, at);
    readReg(s, insn.dst, at);
    if (
      (op === 'div' || op === 'mod' || op === 'sdiv' || op === 'smod') &&
      f.source === 'imm' &&
      insn.imm === 0
    )
      throw new Reject('div by zero', at);
    if (
      (op === 'lsh' || op === 'rsh' || op === 'arsh') &&
      f.source === 'imm' &&
      (insn.imm < 0 || insn.imm >= f.bits)
    ) {
      throw new Reject(`invalid shift ${insn.imm}`, at);
    }
    writeCheck(s, insn.dst, at);
    const d = cur[insn.dst];
    let src: Reg;
    if (f.source === 'reg') src = cur[insn.src];
    else {
      src = immReg(insn, at);
    }
    if (isPointer(d) || isPointer(src)) {
      if (isPointer(src) && isPointer(d)) {
        if (op === 'sub' && allowPtrLeaks) {
          markUnknown(d);
          return;
        }
        throw new Reject(`R${insn.dst} pointer ${ALU_STR[op]} pointer prohibited`, at);
      }
      if (isPointer(src)) {
        markPrecise(s, 1 << insn.dst);
        return ptrAlu(s, insn, d, src, d, op, insn.dst, at);
      }
      if (f.source === 'reg') markPrecise(s, 1 << insn.src);
      return ptrAlu(s, insn, d, d, src, op, insn.dst, at);
    }
    if (f.source === 'reg' && d.precise) markPrecise(s, 1 << insn.src);
    scalarAlu(d, src, op === 'sdiv' || op === 'smod' ? 'div' : op, f.bits);
    d.id = 0;
  };

  // -------------------------------------------------------------------------------------------
  // jumps

  const pktBranchTaken = (a: Reg, b: Reg, opIn: CondOp): -1 | 0 | 1 => {
    let pkt: Reg;
    let op = opIn;
    if (b.type === 'pkt_end') pkt = a;
    else if (a.type === 'pkt_end') {
      pkt = b;
      op = FLIP[op];
    } else return -1;
    if (pkt.range >= 0) return -1;
    const BEYOND = -2;
    const AT = -1;
    if (op === 'jle' || op === 'jgt') {
      if (pkt.range === BEYOND) return op === 'jgt' ? 1 : 0;
    } else if (op === 'jlt' || op === 'jge') {
      if (pkt.range === BEYOND || pkt.range === AT) return op === 'jge' ? 1 : 0;
    }
    return -1;
  };

  /** reg_not_null: trusted BTF pointers count (is_trusted_reg), untrusted memory does not. */
  const notNull = (r: Reg) =>
    !r.maybeNull &&
    (r.type === 'btf_id'
      ? r.refObjId !== 0 || r.btfFlags === BtfFlag.TRUSTED
      : ['map_value', 'map_key', 'sock', 'tcp_sock', 'sock_common', 'mem', 'ringbuf_mem'].includes(r.type) &&
        !(r.btfFlags & BtfFlag.UNTRUSTED));

  const branchTaken = (a: Reg, b: Reg, op: CondOp, is32: boolean): -1 | 0 | 1 => {
    if (isPktAny(a) && isPktAny(b) && !is32) return pktBranchTaken(a, b, op);
    if (isPointer(a) || isPointer(b)) {
      let p = a;
      let k = b;
      let o = op;
      if (!isConst(k, is32)) {
        o = FLIP[o];
        [p, k] = [k, p];
      }
      if (!isConst(k, is32)) return -1;
      if (!notNull(p)) return -1;
      if (constValue(k, is32) !== 0n) return -1;
      return o === 'jeq' ? 0 : o === 'jne' ? 1 : -1;
    }
    return scalarBranchTaken(a, b, op, is32);
  };

  const findGoodPkt = (s: VState, reg: Reg, rightOpen: boolean) => {
    if (reg.off < 0 || (reg.off === 0 && rightOpen)) return;
    if (reg.umax > BigInt(MAX_PACKET_OFF) || reg.umax + BigInt(reg.off) > BigInt(MAX_PACKET_OFF)) return;
    // `r2 < pkt_end` proves byte r2 itself readable too (the L{T,E} off-by-one fix, 6.7)
    let range = reg.off;
    if (rightOpen) range++;
    for (const r of allRegs(s))
      if (r.type === reg.type && r.id === reg.id) r.range = Math.max(r.range, range);
  };

  const markPktEnd = (s: VState, regno: number, beyond: boolean) => {
    const r = regs(s)[regno];
    if (!isPkt(r)) return;
    // BEYOND_PKT_END = -2, AT_PKT_END = -1
    r.range = beyond ? -2 : -1;
  };

  const tryPkt = (insn: Insn, op: CondOp, dst: Reg, src: Reg, thisS: VState, other: VState): boolean => {
    const f = insn.form as JmpForm;
    if (f.source !== 'reg' || f.bits === 32) return false;
    const dstPkt =
      (dst.type === 'pkt' && src.type === 'pkt_end') || (dst.type === 'pkt_meta' && initPkt(src));
    const srcPkt =
      (dst.type === 'pkt_end' && src.type === 'pkt') || (initPkt(dst) && src.type === 'pkt_meta');
    const dreg = regs(other)[insn.dst];
    const sreg = regs(other)[insn.src];
    switch (op) {
      case 'jgt':
        if (dstPkt) {
          findGoodPkt(thisS, dst, false);
          markPktEnd(other, insn.dst, true);
        } else if (srcPkt) {
          findGoodPkt(other, sreg, true);
          markPktEnd(thisS, insn.src, false);
        } else return false;
        return true;
      case 'jlt':
        if (dstPkt) {
          findGoodPkt(other, dreg, true);
          markPktEnd(thisS, insn.dst, false);
        } else if (srcPkt) {
          findGoodPkt(thisS, src, false);
          markPktEnd(other, insn.src, true);
        } else return false;
        return true;
      case 'jge':
        if (dstPkt) {
          findGoodPkt(thisS, dst, true);
          markPktEnd(other, insn.dst, false);
        } else if (srcPkt) {
          findGoodPkt(other, sreg, false);
          markPktEnd(thisS, insn.src, true);
        } else return false;
        return true;
      case 'jle':
        if (dstPkt) {
          findGoodPkt(other, dreg, false);
          markPktEnd(thisS, insn.dst, true);
        } else if (srcPkt) {
          findGoodPkt(thisS, src, true);
          markPktEnd(other, insn.src, false);
        } else return false;
        return true;
      default:
        return false;
    }
  };

  const markPtrOrNull = (s: VState, id: number, refObjId: number, isNull: boolean) => {
    if (refObjId && refObjId === id && isNull) s.refs = s.refs.filter((r) => r.id !== id);
    for (const r of allRegs(s)) {
      if (r.maybeNull && r.id === id) {
        if (isNull) {
          r.type = 'scalar';
          r.maybeNull = false;
          r.id = 0;
          r.refObjId = 0;
        } else {
          r.maybeNull = false;
          r.id = 0;
          // mark_ptr_or_null_reg: a non-NULL SOCKMAP/SOCKHASH value is the socket itself
          if (r.type === 'map_value' && isSockMap(maps[r.map]?.type)) r.type = 'sock';
        }
      }
    }
  };

  const syncLinked = (s: VState, known: Reg, id: number) => {
    for (const r of allRegs(s)) {
      if (r !== known && r.type === 'scalar' && r.id === id) {
        const keep = r.precise;
        Object.assign(r, copyReg(known));
        r.precise = keep || known.precise;
      }
    }
  };

  const push = (s: VState, insn: number, prev: number, at: number): VState => {
    const c = copyState(s);
    if (c.parent) c.parent.branches++;
    pending.push({ state: c, insn, prev, logPos: vlog.mark() });
    if (pending.length > COMPLEXITY_LIMIT_JMP_SEQ)
      throw new Reject(`The sequence of ${pending.length} jumps is too complex.`, at);
    return c;
  };

  const checkCond = (s: VState, insn: Insn, at: number): number => {
    const f = insn.form as JmpForm;
    const op = f.op as CondOp;
    const cur = regs(s);
    const dst = readReg(s, insn.dst, at);
    let src: Reg;
    if (f.source === 'reg') {
      src = readReg(s, insn.src, at);
      if (!(isPktAny(dst) && isPktAny(src)) && isPointer(src) && !allowPtrLeaks)
        throw new Reject(`R${insn.src} pointer comparison prohibited`, at);
    } else {
      src = immReg(insn, at);
    }
    const is32 = f.bits === 32;
    const pred = branchTaken(dst, src, op, is32);
    const target = jumpDest(insn);
    if (pred >= 0) {
      let m = 0;
      if (dst.type === 'scalar') m |= 1 << insn.dst;
      if (f.source === 'reg' && src.type === 'scalar') m |= 1 << insn.src;
      if (m) markPrecise(s, m);
    }
    if (pred >= 0 && !bypassSpecV1) {
      // sanitize_speculative_path: the branch not taken is walked too, its operands unknown
      const spec = push(s, pred === 1 ? at + 1 : target, at, at);
      spec.speculative = true;
      const sregs = curFrame(spec).regs;
      markUnknown(sregs[insn.dst]);
      if (f.source === 'reg') markUnknown(sregs[insn.src]);
    }
    if (pred === 1) return target;
    if (pred === 0) return at + 1;
    const other = push(s, target, at, at);
    const oregs = curFrame(other).regs;
    if (dst.type === 'scalar' && src.type === 'scalar') {
      const t1 = oregs[insn.dst];
      const t2 = f.source === 'reg' ? oregs[insn.src] : copyReg(src);
      const f2 = f.source === 'reg' ? src : copyReg(src);
      refineCond(dst, f2, REVERSE[op], is32);
      boundsSync(dst);
      boundsSync(f2);
      refineCond(t1, t2, op, is32);
      boundsSync(t1);
      boundsSync(t2);
      // a side whose bounds became impossible is dead
      const thisDead = !boundsValid(dst) || !boundsValid(f2);
      const otherDead = !boundsValid(t1) || !boundsValid(t2);
      if (f.source === 'reg' && src.id) {
        syncLinked(s, src, src.id);
        syncLinked(other, t2, t2.id);
      }
      if (dst.id) {
        syncLinked(s, dst, dst.id);
        syncLinked(other, t1, t1.id);
      }
      if (otherDead) {
        pending.pop();
        if (other.parent) other.parent.branches--;
      }
      if (thisDead) return -2;
      return at + 1;
    }
    if (!is32 && f.source === 'imm' && insn.imm === 0 && (op === 'jeq' || op === 'jne') && dst.maybeNull) {
      const id = dst.id;
      const ref = dst.refObjId;
      markPtrOrNull(s, id, ref, op === 'jne');
      markPtrOrNull(other, id, ref, op === 'jeq');
    } else {
      // ptr == ptr where only one side may be NULL: where they are equal, that side is not NULL
      // either (only that register: its id's other copies stay _or_null, as in the kernel)
      if (
        !is32 &&
        f.source === 'reg' &&
        (op === 'jeq' || op === 'jne') &&
        isPointer(dst) &&
        isPointer(src) &&
        dst.maybeNull !== src.maybeNull &&
        dst.type !== 'btf_id' &&
        src.type !== 'btf_id'
      ) {
        const eq = op === 'jeq' ? oregs : cur;
        eq[src.maybeNull ? insn.src : insn.dst].maybeNull = false;
      }
      if (!tryPkt(insn, op, dst, src, s, other) && isPointer(dst) && !allowPtrLeaks)
        throw new Reject(`R${insn.dst} pointer comparison prohibited`, at);
    }
    return at + 1;
  };

  // -------------------------------------------------------------------------------------------
  // calls

  const helperMem = (
    s: VState,
    regno: number,
    size: number,
    write: boolean,
    zeroOk: boolean,
    raw: boolean,
    at: number,
  ) => {
    const reg = regs(s)[regno];
    switch (reg.type) {
      case 'pkt':
      case 'pkt_meta':
        return packetAccess(reg, regno, reg.off, size, zeroOk, at);
      case 'map_key':
        return memRegion(reg, regno, reg.off, size, maps[reg.map]?.keySize ?? 0, false, at);
      case 'map_value': {
        const m = maps[reg.map];
        if (write && m && m.flags & 0x80)
          throw new Reject(
            `write into map forbidden, value_size=${m.valueSize} off=${reg.off} size=${size}`,
            at,
          );
        if (!write && m && m.flags & 0x100)
          throw new Reject(
            `read from map forbidden, value_size=${m.valueSize} off=${reg.off} size=${size}`,
            at,
          );
        return memRegion(reg, regno, reg.off, size, m?.valueSize ?? 0, zeroOk, at);
      }
      case 'mem':
      case 'ringbuf_mem':
        if (reg.rdonly && write) throw new Reject(`R${regno} cannot write into ${regTypeStr(reg)}`, at);
        return memRegion(reg, regno, reg.off, size, reg.memSize, zeroOk, at);
      case 'fp': {
        const f = frameOf(s, reg);
        // a zero-sized access still has to lie within the stack (check_stack_access_within_bounds)
        if (size === 0 && zeroOk) {
          stackBounds(reg, regno, reg.off, 0, write ? 'write' : 'read', at, 8 * f.stack.length);
          return;
        }
        const { minOff } = stackBounds(
          reg,
          regno,
          reg.off,
          size,
          write ? 'write' : 'read',
          at,
          8 * f.stack.length,
        );
        const maxOff = isKnown(reg) ? minOff : Number(reg.smax) + reg.off;
        noteStack(f, minOff);
        if (raw && isKnown(reg)) {
          // check_helper_call stores the helper's output a byte at a time (check_stack_write_fixed_off)
          for (let a = minOff; a < minOff + size; a++) {
            const { slot, j } = slotAt(f, a);
            if (slot.types[7] === Stype.SPILL) {
              if (!allowPtrLeaks && slot.spilled.type !== 'scalar')
                throw new Reject('attempt to corrupt spilled pointer on stack', at);
              // scrub_spilled_slot: never-written bytes stay so
              for (let k = 0; k < 8; k++) if (slot.types[k] !== Stype.INVALID) slot.types[k] = Stype.MISC;
              slot.spilled = newReg();
            }
            slot.types[j] = Stype.MISC;
          }
          return;
        }
        for (let a = minOff; a < maxOff + size; a++) {
          const { slot, j } = slotAt(f, a);
          const t = slot.types[j];
          // reading any byte of a slot makes the whole slot read
          live?.read(s, f.frameno, at, spiOf(a));
          if (t === Stype.MISC) continue;
          if (t === Stype.ZERO || (t === Stype.INVALID && allowUninitStack)) {
            if (write) slot.types[j] = Stype.MISC;
            continue;
          }
          // a spilled register's bytes pass; the never-written rest of a narrow spill does not
          if (
            t !== Stype.INVALID &&
            slot.types[7] === Stype.SPILL &&
            (slot.spilled.type === 'scalar' || allowPtrLeaks)
          ) {
            if (write) {
              markUnknown(slot.spilled);
              for (let k = 0; k < 8; k++) if (slot.types[k] !== Stype.INVALID) slot.types[k] = Stype.MISC;
            }
            continue;
          }
          if (isKnown(reg))
            throw new Reject(
              `invalid read from stack R${regno} off ${minOff}+${a - minOff} size ${size}`,
              at,
            );
          throw new Reject(
            `invalid read from stack R${regno} var_off (0x${reg.varOff.value.toString(16)}; 0x${reg.varOff.mask.toString(16)})+${a - minOff} size ${size}`,
            at,
          );
        }
        return;
      }
      default:
        if (zeroOk && size === 0 && isNullConst(reg)) return;
        throw new Reject(`R${regno} type=${regTypeStr(reg)} expected=fp`, at);
    }
  };

  const sizeArg = (s: VState, regno: number, zeroOk: boolean, prevArg: HelperArg | undefined, at: number) => {
    const reg = regs(s)[regno];
    if (reg.smin < 0n)
      throw new Reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`, at);
    if (reg.umin === 0n && !zeroOk)
      throw new Reject(`R${regno} invalid zero-sized read: u64=[${reg.umin},${reg.umax}]`, at);
    if (reg.umax >= BigInt(BPF_MAX_VAR_SIZ))
      throw new Reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`, at);
    const write = prevArg?.flags.includes('MEM_WRITE') ?? false;
    const raw = (prevArg?.flags.includes('MEM_UNINIT') ?? false) && isKnown(reg);
    helperMem(s, regno - 1, Number(reg.umax), write, zeroOk, raw, at);
    markPrecise(s, 1 << regno);
  };

  /**
   * check_reg_type for a `PTR_TO_BTF_ID` argument: its trust, the struct it points to (or one
   * nested at its offset: `btf_struct_ids_match`), then check_func_arg_reg_off.
   */
  const btfArg = (reg: Reg, regno: number, arg: HelperArg, at: number) => {
    const flagsOk = ARG_BTF_FLAGS[arg.base];
    if (!flagsOk) return;
    if (!flagsOk.includes(reg.btfFlags)) {
      const text = ARG_REG_TYPES[arg.base]?.[1] ?? '';
      throw new Reject(`R${regno} type=${regTypeStr(reg)} expected=${text}`, at);
    }
    const btf = input.kernelBtf;
    const need = arg.base === 'ARG_PTR_TO_BTF_ID_SOCK_COMMON' ? 'sock_common' : arg.btfStruct;
    if (btf && reg.btfId && need) {
      const needId = kernelStructId(btf, need);
      const release = arg.flags.includes('OBJ_RELEASE');
      if (reg.maybeNull && release)
        throw new Reject(`Possibly NULL pointer passed to helper arg${regno}`, at);
      if (needId && !btfStructIdsMatch(btf, reg.btfId, reg.off, needId, release && need !== 'sock_common'))
        throw new Reject(`R${regno} is of type ${btfTypeName(btf, reg.btfId)} but ${need} is expected`, at);
    }
    // __check_ptr_off_reg with a fixed offset allowed
    if (reg.off < 0)
      throw new Reject(`negative offset ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`, at);
    if (!isZero(reg))
      throw new Reject(
        `variable ${regTypeStr(reg)} access var_off=(0x${reg.varOff.value.toString(16)}; 0x${reg.varOff.mask.toString(16)}) disallowed`,
        at,
      );
  };

  /** check_helper_call: the prototype's argument checks, then R0 and the side effects. */
  const checkHelper = (s: VState, insn: Insn, at: number): number | undefined => {
    const id = insn.imm;
    const proto = lookups.helper(id);
    if (typeof proto === 'string') throw new Reject(proto, at);
    if (proto.gplOnly && input.gpl === false)
      throw new Reject('cannot call GPL-restricted function from non-GPL compatible program', at);
    const cur = regs(s);
    let mapIdx = -1;
    let releaseRegno = 0;
    let refObjId = 0;
    let memSize = 0;
    let callbackSubprog = -1;
    let constKey: bigint | undefined;
    let msizeMax = 0n;
    for (let k = 0; k < proto.args.length; k++) {
      const arg = proto.args[k];
      const regno = k + 1;
      const reg = readReg(s, regno, at);
      const base = arg.base;
      if (base === 'ARG_ANYTHING') {
        if (isPointer(reg) && !allowPtrLeaks)
          throw new Reject(`R${regno} leaks addr into helper function`, at);
        continue;
      }
      const nullable = arg.flags.includes('PTR_MAYBE_NULL');
      if (!(nullable && isNullConst(reg))) {
        const accepted = ARG_REG_TYPES[base];
        if (accepted) {
          const [types, text] = accepted;
          // a nullable argument takes the maybe-NULL flavour too; MEM_RDONLY ones read-only memory
          const nullOk = !reg.maybeNull || nullable;
          const rdonlyOk = !reg.rdonly || arg.flags.includes('MEM_RDONLY');
          if (!types.includes(reg.type) || !nullOk || !rdonlyOk)
            throw new Reject(`R${regno} type=${regTypeStr(reg)} expected=${text}`, at);
        }
        // check_func_arg_reg_off: a context or release argument must point at its start
        if (arg.flags.includes('OBJ_RELEASE') && reg.off)
          throw new Reject(
            `R${regno} must have zero offset when passed to release func or trusted arg to kfunc`,
            at,
          );
        if (base === 'ARG_PTR_TO_CTX') ptrOffCheck(reg, regno, at);
        if (reg.type === 'btf_id') btfArg(reg, regno, arg, at);
      }
      if (reg.refObjId) refObjId = reg.refObjId;
      if (arg.flags.includes('OBJ_RELEASE')) {
        if (!reg.refObjId && !isNullConst(reg))
          throw new Reject(`R${regno} must be referenced when passed to release function`, at);
        releaseRegno = regno;
      }
      switch (base) {
        case 'ARG_CONST_MAP_PTR':
          mapIdx = reg.map;
          break;
        case 'ARG_PTR_TO_MAP_KEY':
          helperMem(s, regno, maps[mapIdx]?.keySize ?? 0, false, false, false, at);
          constKey = constMapKey(s, reg, maps[mapIdx]?.keySize ?? 0);
          break;
        case 'ARG_PTR_TO_MAP_VALUE':
          if (nullable && isNullConst(reg)) break;
          helperMem(s, regno, maps[mapIdx]?.valueSize ?? 0, false, false, false, at);
          break;
        case 'ARG_PTR_TO_MEM':
          if (arg.size !== undefined && !(nullable && isNullConst(reg))) {
            const write = arg.flags.includes('MEM_WRITE');
            helperMem(s, regno, arg.size, write, false, arg.flags.includes('MEM_UNINIT'), at);
            if (arg.flags.includes('MEM_ALIGNED')) alignCheck(reg, 0, arg.size, at, true);
          }
          break;
        case 'ARG_CONST_SIZE':
        case 'ARG_CONST_SIZE_OR_ZERO':
          msizeMax = reg.umax;
          sizeArg(s, regno, base === 'ARG_CONST_SIZE_OR_ZERO', proto.args[k - 1], at);
          break;
        case 'ARG_CONST_ALLOC_SIZE_OR_ZERO':
          if (!isKnown(reg)) throw new Reject(`R${regno} is not a known constant'`, at);
          memSize = Number(reg.varOff.value);
          markPrecise(s, 1 << regno);
          break;
        case 'ARG_PTR_TO_FUNC':
          callbackSubprog = reg.subprog;
          break;
      }
    }
    // record_func_map: a read-only map may not be changed through helpers
    const m = maps[mapIdx];
    if (m && m.flags & 0x80 && MAP_WRITES.includes(proto.name))
      throw new Reject('write into map forbidden', at);
    if (id === 12 && m?.type !== 'PROG_ARRAY') throw new Reject('expected prog array map for tail call', at);
    if (releaseRegno) {
      if (refObjId && s.refs.some((r) => r.id === refObjId)) {
        s.refs = s.refs.filter((r) => r.id !== refObjId);
        for (const r of allRegs(s))
          if (r.refObjId === refObjId) Object.assign(r, allowPtrLeaks ? newRegUnknown() : newReg());
      } else if (!isNullConst(cur[releaseRegno])) {
        throw new Reject(`func ${proto.name}#${id} reference has not been acquired before`, at);
      }
    }
    if (callbackSubprog >= 0) return callbackSubprog;
    for (let r = 0; r <= 5; r++) cur[r] = newReg();
    const r0 = cur[0];
    const ret = proto.ret;
    const maybeNull = ret.flags.includes('PTR_MAYBE_NULL');
    switch (ret.base) {
      case 'RET_INTEGER':
        markUnknown(r0);
        if (proto.retMaxFromSize) {
          // do_refine_retval_range: -MAX_ERRNO ≤ r0 ≤ the buffer size
          r0.smax = msizeMax;
          r0.s32max = msizeMax;
          r0.smin = -4095n;
          r0.s32min = -4095n;
          boundsSync(r0);
        }
        break;
      case 'RET_VOID':
        break;
      case 'RET_PTR_TO_MAP_VALUE': {
        markPointer(r0, 'map_value');
        r0.map = mapIdx;
        r0.maybeNull = maybeNull;
        // can_elide_value_nullness (since 6.13): an array lookup with a constant in-range key
        if (
          id === 1 &&
          m &&
          (m.type === 'ARRAY' || m.type === 'PERCPU_ARRAY') &&
          constKey !== undefined &&
          constKey < BigInt(m.maxEntries)
        )
          r0.maybeNull = false;
        break;
      }
      case 'RET_PTR_TO_SOCKET':
        markPointer(r0, 'sock');
        r0.maybeNull = maybeNull;
        break;
      case 'RET_PTR_TO_TCP_SOCK':
        markPointer(r0, 'tcp_sock');
        r0.maybeNull = maybeNull;
        break;
      case 'RET_PTR_TO_SOCK_COMMON':
        markPointer(r0, 'sock_common');
        r0.maybeNull = maybeNull;
        break;
      case 'RET_PTR_TO_MEM':
      case 'RET_PTR_TO_MEM_OR_BTF_ID':
        markPointer(r0, ret.flags.includes('MEM_RINGBUF') ? 'ringbuf_mem' : 'mem');
        r0.maybeNull = maybeNull;
        r0.rdonly = ret.flags.includes('MEM_RDONLY');
        r0.memSize = memSize;
        break;
      case 'RET_PTR_TO_BTF_ID':
        markPointer(r0, 'btf_id');
        r0.maybeNull = maybeNull;
        if (input.kernelBtf && ret.btfStruct) r0.btfId = kernelStructId(input.kernelBtf, ret.btfStruct);
        r0.btfFlags = ret.flags.includes('PTR_TRUSTED') ? BtfFlag.TRUSTED : 0;
        break;
    }
    if (r0.maybeNull) r0.id = ++idGen;
    if (proto.ptrCast) r0.refObjId = refObjId;
    else if (proto.acquire || (id === 1 && m && isSockMap(m.type))) {
      // is_acquire_function: a SOCKMAP/SOCKHASH lookup hands out a referenced socket
      const refId = ++idGen;
      s.refs = [...s.refs, { id: refId, insn: at }]; // (states share the array: never changed in place)
      r0.id = refId;
      r0.refObjId = refId;
    }
    if (m && !mapFuncCompatible(m.type, id))
      throw new Reject(`cannot pass map_type ${mapTypeNumber(m.type)} into func ${proto.name}#${id}`, at);
    if (proto.changesPktData) clearPktPointers(s);
    return undefined;
  };

  /** clear_all_pkt_pointers: after a helper that may move packet data, no packet pointer is valid. */
  const clearPktPointers = (s: VState) => {
    for (const r of allRegs(s)) if (isPktAny(r)) Object.assign(r, allowPtrLeaks ? newRegUnknown() : newReg());
  };
  /** get_constant_map_key: the key's value when the stack holds a known constant there. */
  const constMapKey = (s: VState, key: Reg, keySize: number): bigint | undefined => {
    if (caps === 'unpriv' || key.type !== 'fp' || !isKnown(key)) return undefined;
    const addr = key.off + knownOffset(key);
    const k = -addr - 1;
    const spi = k >> 3;
    const off = k & 7;
    const slot = frameOf(s, key).stack[spi];
    if (!slot) return undefined;
    let zero = 0;
    for (let i = off; i >= 0 && slot.types[i] === Stype.ZERO; i--) zero++;
    if (zero >= keySize) return 0n;
    if (slot.types[7] !== Stype.SPILL || slot.spilled.type !== 'scalar') return undefined;
    let spill = 0;
    for (let i = off; i >= 0 && slot.types[i] === Stype.SPILL; i--) spill++;
    if (spill !== keySize || !isKnown(slot.spilled)) return undefined;
    return slot.spilled.varOff.value;
  };

  const newRegUnknown = () => {
    const r = newReg();
    markUnknown(r);
    return r;
  };

  const enterFrame = (s: VState, callsite: number, target: number, at: number, callback: boolean) => {
    if (s.frames.length >= MAX_CALL_FRAMES)
      throw new Reject(`the call stack of ${s.frames.length + 1} frames is too deep`, at);
    const caller = curFrame(s);
    const callee = newFrame(newRegs(), callsite, s.frames.length, subprogOf(cfg.subprogs, target));
    if (!callback) for (let r = 1; r <= 5; r++) callee.regs[r] = copyReg(caller.regs[r]);
    callee.regs[10] = newReg();
    markPointer(callee.regs[10], 'fp');
    callee.regs[10].frameno = callee.frameno;
    if (callback) {
      // bpf_loop(nr, cb, ctx, flags): cb(u64 index, void *ctx)
      markUnknown(callee.regs[1]);
      callee.regs[2] = copyReg(caller.regs[3]);
      callee.inCallback = true;
      callee.callbackOf = callsite;
    }
    s.frames.push(callee);
  };

  // -------------------------------------------------------------------------------------------
  // pruning

  const regsafe = (old: Reg, cur: Reg, idmap: Map<number, number>): boolean => {
    if (old.type === 'not_init') return true;
    if (cur.type === 'not_init') return false;
    if (old.type === 'scalar') {
      if (cur.type !== 'scalar') return false;
      // without CAP_BPF there is no precision tracking: every scalar is precise from birth
      // (__mark_reg_unknown), so pruning compares all of them
      if (!old.precise && bpfCapable) return true;
      return rangeWithin(old, cur) && tnumWithin(old, cur) && checkIdMap(idmap, old.id, cur.id);
    }
    if (
      old.type !== cur.type ||
      old.maybeNull !== cur.maybeNull ||
      old.rdonly !== cur.rdonly ||
      old.btfFlags !== cur.btfFlags ||
      old.btfId !== cur.btfId
    )
      return false;
    switch (old.type) {
      case 'map_value':
      case 'map_key':
      case 'mem':
      case 'ringbuf_mem':
        return (
          old.map === cur.map &&
          old.off === cur.off &&
          old.memSize === cur.memSize &&
          rangeWithin(old, cur) &&
          tnumWithin(old, cur) &&
          checkIdMap(idmap, old.id, cur.id) &&
          checkIdMap(idmap, old.refObjId, cur.refObjId)
        );
      case 'pkt':
      case 'pkt_meta':
        if (old.range > cur.range || (old.range < 0 && old.range !== cur.range)) return false;
        return (
          old.off === cur.off &&
          checkIdMap(idmap, old.id, cur.id) &&
          rangeWithin(old, cur) &&
          tnumWithin(old, cur)
        );
      case 'fp':
        return (
          old.off === cur.off && old.frameno === cur.frameno && rangeWithin(old, cur) && tnumWithin(old, cur)
        );
      default:
        return (
          old.off === cur.off &&
          old.map === cur.map &&
          old.subprog === cur.subprog &&
          tnumWithin(old, cur) &&
          rangeWithin(old, cur) &&
          checkIdMap(idmap, old.id, cur.id)
        );
    }
  };

  /** Whether stack slot `spi` of the running frame may be read at or after `at` (cfg.liveStack). */
  const slotLive = (at: number, spi: number): boolean =>
    ((cfg.liveStack[2 * at + (spi >> 5)] >>> (spi & 31)) & 1) !== 0;

  /** scalar_reg_for_stack: the scalar a slot holds when it is a 64-bit spill or all MISC. */
  const scalarForStack = (slot: Frame['stack'][number]): Reg | undefined => {
    if (slot.types.every((t) => t === Stype.SPILL) && slot.spilled.type === 'scalar') return slot.spilled;
    if (slot.types.every((t) => t === Stype.MISC || (t === Stype.INVALID && allowUninitStack)))
      return unboundScalar;
    return undefined;
  };

  const stacksafe = (old: Frame, cur: Frame, idmap: Map<number, number>, at: number): boolean => {
    for (let spi = 0; spi < old.stack.length; spi++) {
      if (at >= 0 && !slotLive(at, spi)) continue;
      const o = old.stack[spi];
      const c = cur.stack[spi];
      // a 64-bit scalar spill against 8 MISC bytes (or the reverse) compares as scalars
      const oldScalar = o && scalarForStack(o);
      const curScalar = c && scalarForStack(c);
      if (oldScalar && curScalar) {
        if (!regsafe(oldScalar, curScalar, idmap)) return false;
        continue;
      }
      for (let j = 0; j < 8; j++) {
        const ot = o.types[j];
        if (ot === Stype.INVALID) continue;
        const ct = c ? c.types[j] : Stype.INVALID;
        if (ot === Stype.MISC && ct !== Stype.INVALID) continue;
        if (ot === Stype.MISC && ct === Stype.INVALID && allowUninitStack) continue;
        if (ot === Stype.ZERO && ct === Stype.ZERO) continue;
        if (ot !== ct) {
          if (ot === Stype.ZERO && ct === Stype.SPILL && c && isNullConst(c.spilled)) continue;
          return false;
        }
      }
      if (o.types[7] === Stype.SPILL && c && !regsafe(o.spilled, c.spilled, idmap)) return false;
    }
    return true;
  };

  /**
   * Registers live in frame `k` of a state checkpointed at `at`: before `at` for the current frame,
   * before the call instruction for a caller's (`frame_insn_idx`). Linux clears the others in a
   * checkpoint once its paths are done (`clean_func_state`), so they neither count in comparisons
   * nor pass precision on.
   */
  const frameLive = (s: VState, k: number, at: number): number =>
    k === s.frames.length - 1 ? cfg.liveBefore[at] : cfg.liveBefore[s.frames[k + 1].callsite];

  const statesEqual = (old: VState, cur: VState, at: number): boolean => {
    if (old.speculative && !cur.speculative) return false;
    if (old.frames.length !== cur.frames.length) return false;
    if (old.refs.length !== cur.refs.length) return false;
    // one map for every comparison, emptied only when used (most registers carry no id)
    const idmap = pruneIds;
    if (idmap.size) idmap.clear();
    for (let k = 0; k < old.frames.length; k++) {
      const of = old.frames[k];
      const cf = cur.frames[k];
      if (of.callsite !== cf.callsite) return false;
      const live = frameLive(old, k, at);
      for (let r = 0; r < 10; r++) {
        if (!(live & (1 << r))) continue;
        if (!regsafe(of.regs[r], cf.regs[r], idmap)) return false;
      }
      if (!stacksafe(of, cf, idmap, k === old.frames.length - 1 ? at : -1)) return false;
    }
    for (let k = 0; k < old.refs.length; k++) {
      const m = idmap.get(old.refs[k].id);
      if (m !== undefined && m !== cur.refs[k].id) return false;
    }
    return true;
  };

  const looping = (old: VState, cur: VState): boolean => {
    if (old.frames.length !== cur.frames.length) return false;
    const of = curFrame(old);
    const cf = curFrame(cur);
    // A conjunction of comparisons, in any order: first the cheap one that tells a loop
    // counter's successive values apart, the commonest answer (a false one).
    for (let r = 0; r < 11; r++) {
      const a = of.regs[r];
      const b = cf.regs[r];
      if (a.type !== b.type || (a.type === 'scalar' && (a.valL !== b.valL || a.valH !== b.valH)))
        return false;
    }
    for (let r = 0; r < 11; r++) {
      const a = of.regs[r];
      const b = cf.regs[r];
      if (a.type === 'scalar' && !(sameTnum(a, b) && rangeWithin(a, b) && rangeWithin(b, a))) return false;
    }
    return true;
  };

  /** The history code of a fixed-offset stack access by `insn`, else 0. */
  const stackAccessCode = (s: VState, insn: Insn): number => {
    let base: number;
    if (insn.kind === 'ldx') base = insn.src;
    else if (insn.kind === 'st' || insn.kind === 'stx') base = insn.dst;
    else return 0;
    const r = regs(s)[base];
    if (r.type !== 'fp' || !isKnown(r)) return 0;
    const addr = r.off + insn.off + knownOffset(r);
    if (addr >= 0 || addr < -MAX_BPF_STACK) return 0;
    return 1 + r.frameno * 64 + ((-addr - 1) >> 3);
  };

  /** Mark every scalar precise on the whole chain (the kernel's fallback for cases it cannot follow). */
  const markAllPrecise = (s: VState) => {
    for (const r of allRegs(s)) if (r.type === 'scalar') r.precise = true;
    // checkpoints share registers: each one marked is replaced (preciseReg)
    for (let st = s.parent; st; st = st.parent)
      for (const f of st.frames) {
        for (let r = 0; r < f.regs.length; r++)
          if (f.regs[r].type === 'scalar' && !f.regs[r].precise) f.regs[r] = preciseReg(f.regs[r]);
        for (let spi = 0; spi < f.stack.length; spi++) {
          const slot = f.stack[spi];
          if (slot.types[7] === Stype.SPILL && slot.spilled.type === 'scalar' && !slot.spilled.precise)
            preciseSpill(f, spi);
        }
      }
  };

  const markPrecise = (s: VState, regMask: number, slotsIn: readonly number[] = NO_SLOTS) => {
    const frame = s.frames.length - 1;
    const slotSet = precSlots;
    // (Set.clear reallocates the set's table even when it is empty: a third of a tight loop's time)
    if (slotSet.size) slotSet.clear();
    for (const k of slotsIn) slotSet.add(k);
    let mask = markIn(s, s, frame, regMask, slotSet);
    // the kernel logs its backtracking here (level 2), so the instruction's state takes a line
    if (logLevel > 1 && (mask || slotSet.size)) vlog.interrupt();
    // The walk is monotone in (mask, slots) and only ever sets flags, so a walk reaching the
    // entry where an earlier complete one started, with a subset of its marks, is done.
    const memo = s.precisionMemo;
    const memoAt = memo && memo.frames === s.frames.length ? memo.len : -1;
    const startLen = s.histLen;
    const startMask = mask;
    const startSlots = slotSet.size ? [...slotSet] : NO_SLOTS;
    let st: VState = s;
    for (;;) {
      const hist = st.hist;
      const last = st.histLen - 1;
      // k: the instruction's place on the path since st.parent; run: how many of the slots
      // before it (an entry's run, see histPush) remain
      let k = st.histLen;
      let run = 0;
      let slot = 0;
      let stack = 0;
      for (let e = hist.length; (run > 0 || e > 0) && (mask || slotSet.size); ) {
        if (run > 0) {
          run--;
          slot--;
          stack = run === 0 ? hist[e] % 1024 : 0;
        } else {
          const entry = hist[--e];
          if (entry < 0) {
            run = -entry;
            const base = hist[--e];
            slot = Math.floor(base / 1024) + run;
            stack = 0;
          } else {
            slot = Math.floor(entry / 1024);
            stack = entry % 1024;
          }
        }
        k--;
        if (k === memoAt - 1 && st === s && memoCovers(memo, mask, slotSet))
          return setMemo(s, startLen, startMask, startSlots);
        const insn = slots[slot];
        if (!insn) continue;
        switch (insn.kind) {
          case 'alu': {
            const f = insn.form;
            if (!(mask & (1 << insn.dst))) break;
            if (f.op === 'mov' || f.op === 'movsx') {
              mask &= ~(1 << insn.dst);
              if (f.source === 'reg') mask |= 1 << insn.src;
            } else if (f.source === 'reg') mask |= 1 << insn.src;
            break;
          }
          case 'lddw':
            mask &= ~(1 << insn.dst);
            break;
          case 'ldx':
            if (!(mask & (1 << insn.dst))) break;
            mask &= ~(1 << insn.dst);
            if (stack) {
              if ((stack - 1) >> 6 !== frame) return markAllPrecise(s);
              slotSet.add(stack - 1);
            }
            break;
          case 'st':
          case 'stx':
            if (stack && slotSet.has(stack - 1)) {
              slotSet.delete(stack - 1);
              if (insn.kind === 'stx') mask |= 1 << insn.src;
            }
            break;
          case 'jmp':
            if (
              insn.form.op !== 'ja' &&
              insn.form.source === 'reg' &&
              ((mask & (1 << insn.dst)) !== 0 || (mask & (1 << insn.src)) !== 0)
            ) {
              mask |= (1 << insn.dst) | (1 << insn.src);
            }
            break;
          case 'call':
            if (insn.form.target !== 'helper') return markAllPrecise(s);
            mask &= ~0b111111;
            break;
          case 'exit':
            // The main program's exit asking for r0 (check_return_code): Linux's backtrack_insn
            // clears r0 there and enters a frame with nothing set, so nothing is marked.
            if (st === s && k === last && s.frames.length === 1) {
              mask &= ~1;
              // (the walk ends where it began: no memo to keep, the state ends at this exit)
              if (!mask && !slotSet.size) return;
              break;
            }
            return markAllPrecise(s);
          case 'callx':
            return markAllPrecise(s);
          case 'atomic':
            if ((mask & (1 << insn.src)) !== 0 || (mask & (1 << 0)) !== 0 || stack) return markAllPrecise(s);
            break;
          case 'ldabs':
          case 'ldind':
            mask &= ~0b111111;
            break;
          default:
            break;
        }
      }
      if (!mask && !slotSet.size) return setMemo(s, startLen, startMask, startSlots);
      if (memoAt === 0 && st === s && memoCovers(memo, mask, slotSet))
        return setMemo(s, startLen, startMask, startSlots);
      const parent = st.parent;
      if (!parent) return setMemo(s, startLen, startMask, startSlots);
      if (parent.frames.length !== s.frames.length) return markAllPrecise(s);
      mask = markIn(parent, s, frame, mask, slotSet);
      st = parent;
    }
  };

  /** propagate_precision: what was precise in the state that covered us matters on our path too. */
  const propagatePrecision = (old: VState, s: VState, at: number) => {
    const frame = old.frames.length - 1;
    let mask = 0;
    const stackSlots: number[] = [];
    old.frames.forEach((f, fr) => {
      const live = frameLive(old, fr, at);
      f.regs.forEach((r, i) => {
        if (r.type === 'scalar' && r.precise && live & (1 << i)) {
          if (fr === frame) mask |= 1 << i;
          else markAllPrecise(s);
        }
      });
      f.stack.forEach((slot, spi) => {
        if (fr === frame && !slotLive(at, spi)) return;
        if (slot.types[7] === Stype.SPILL && slot.spilled.type === 'scalar' && slot.spilled.precise)
          stackSlots.push(fr * 64 + spi);
      });
    });
    if (mask || stackSlots.length) markPrecise(s, mask, stackSlots);
  };

  /** is_state_visited: true to prune. States that keep missing are evicted, as Linux does. */
  const visitState = (s: VState, at: number): boolean => {
    const list = explored.get(at) ?? [];
    let addNew = testStateFreq || (insnsProcessed - prevInsns >= 8 && jmpsProcessed - prevJmps >= 2);
    for (let k = 0; k < list.length; k++) {
      const sl = list[k];
      const old = sl.state;
      let hit = false;
      if (old.branches > 0) {
        if (looping(old, s) && statesEqual(old, s, at) && exactEqual(old, s)) {
          if (logLevel > 0) vlog.infiniteLoop(s, old);
          throw new Reject(`infinite loop detected at insn ${at}`, at);
        }
        if (!testStateFreq && jmpsProcessed - prevJmps < 20 && insnsProcessed - prevInsns < 100)
          addNew = false;
      } else if (statesEqual(old, s, at)) {
        sl.hit++;
        hit = true;
        propagatePrecision(old, s, at);
      }
      if (hit) return true;
      if (addNew) sl.miss++;
      if (sl.miss > sl.hit * 3 + 3) {
        list.splice(k, 1);
        k--;
        stats.cur--;
      }
    }
    stats.maxPerInsn = Math.max(stats.maxPerInsn, list.length);
    if (!addNew) return false;
    prevInsns = insnsProcessed;
    prevJmps = jmpsProcessed;
    const cp = checkpointState(s);
    cp.branches = 1;
    cp.insn = at;
    list.push({ state: cp, hit: 0, miss: 0 });
    explored.set(at, list);
    stats.total++;
    stats.peak = Math.max(stats.peak, ++stats.cur);
    s.parent = cp;
    s.hist = []; // (cp took the old one)
    s.histLen = 0;
    s.precisionMemo = undefined;
    // forget precise markings inherited: the checkpoint keeps them, the walk starts afresh
    for (const f of s.frames) {
      for (const r of f.regs) if (r.precise) r.precise = false;
      for (const slot of f.stack)
        if (slot.types[7] === Stype.SPILL && slot.spilled.precise) slot.spilled.precise = false;
    }
    return false;
  };

  const exactEqual = (old: VState, cur: VState): boolean => {
    const sameScalar = (a: Reg, b: Reg) =>
      a.type !== 'scalar' || (rangeWithin(a, b) && rangeWithin(b, a) && sameTnum(a, b));
    for (let k = 0; k < old.frames.length; k++) {
      for (let r = 0; r < 10; r++) {
        const a = old.frames[k].regs[r];
        const b = cur.frames[k].regs[r];
        if (a.type !== b.type || !sameScalar(a, b)) return false;
      }
      // stacksafe(EXACT): every byte type of the old frame's stack, and its spilled registers
      const os = old.frames[k].stack;
      const cs = cur.frames[k].stack;
      for (let spi = 0; spi < os.length; spi++) {
        const o = os[spi];
        const c = cs[spi];
        if (!o) continue;
        for (let j = 0; j < 8; j++) if (o.types[j] !== (c ? c.types[j] : Stype.INVALID)) return false;
        if (o.types[7] === Stype.SPILL && c) {
          if (o.spilled.type !== c.spilled.type || !sameScalar(o.spilled, c.spilled)) return false;
        }
      }
    }
    return true;
  };

  /** Errors a speculative path may end with (EPERM, EACCES, EINVAL: not the complexity limits). */
  const recoverable = (e: Reject) =>
    !e.message.startsWith('BPF program is too large') && !e.message.startsWith('The sequence of');

  const endPath = (s: VState) => {
    let p = s.parent;
    while (p) {
      p.branches--;
      if (p.branches > 0) break;
      p = p.parent;
    }
  };

  /**
   * A failed LD_ABS/LD_IND leaves the function with r0 = 0 (the exit bpf_gen_ld_abs hides): in a
   * subprogram that is a return to the caller, walked as its own path; the subprogram's BTF type
   * must return an int for it.
   */
  const ldAbsHiddenExit = (s: VState, at: number) => {
    const callee = curFrame(s);
    const slot = cfg.subprogs[callee.subprog];
    const typeId = input.funcInfo?.find((f) => f.slot === slot)?.typeId;
    if (input.btf && typeId !== undefined) {
      const fn = input.btf.typeById(typeId);
      const proto = fn.kind === 'func' ? input.btf.typeById(fn.typeId) : undefined;
      const ret = proto?.kind === 'func_proto' ? input.btf.resolve(proto.returnTypeId) : undefined;
      if (ret?.kind !== 'int') throw new Reject("LD_ABS is only allowed in functions that return 'int'.", at);
    }
    const c = push(s, callee.callsite + 1, at, at);
    c.frames.pop();
    const caller = curFrame(c);
    for (let r = 1; r <= 5; r++) caller.regs[r] = newReg();
    caller.regs[0] = newReg('scalar');
    markKnown(caller.regs[0], 0n);
  };

  // -------------------------------------------------------------------------------------------
  // exit

  const checkExit = (s: VState, at: number): number | undefined => {
    if (s.frames.length > 1) {
      live?.update(s);
      const callee = s.frames.pop() as Frame;
      const caller = curFrame(s);
      const r0 = callee.regs[0];
      // a subprogram's R0 is checked where the caller reads it (prepare_func_exit copies it as is)
      if (r0.type === 'not_init' && callee.inCallback) throw new Reject('R0 !read_ok', at);
      if (callee.inCallback) {
        // the helper's own return value; callback results are checked as [0, 1]
        for (let r = 0; r <= 5; r++) caller.regs[r] = newReg();
        markUnknown(caller.regs[0]);
        return (callee.callbackOf as number) + 1;
      }
      if (r0.type === 'fp' && r0.frameno === callee.frameno)
        throw new Reject('cannot return stack pointer to the caller', at);
      caller.regs[0] = copyReg(r0);
      for (let r = 1; r <= 5; r++) caller.regs[r] = newReg();
      if (logLevel > 0) vlog.ret(s, callee, at, callee.callsite + 1);
      return callee.callsite + 1;
    }
    if (s.refs.length) {
      const before = s.refs.map((r) => `Unreleased reference id=${r.id} alloc_insn=${r.insn}`);
      throw new Reject('BPF_EXIT instruction in main prog would lead to reference leak', at, before);
    }
    const r0 = regs(s)[0];
    if (r0.type === 'not_init') throw new Reject('R0 !read_ok', at);
    if (s.frames[0].subprog !== 0) {
      // a global function returns any scalar (check_return_code of a subprogram)
      if (r0.type !== 'scalar')
        throw new Reject(`At subprogram exit the register R0 is not a scalar value (${regTypeStr(r0)})`, at);
      return undefined;
    }
    if (isPointer(r0) && !allowPtrLeaks) throw new Reject('R0 leaks addr as return value', at);
    // check_return_code: the program type's exit-value range
    const range = lookups.returnRange();
    if (!range) return undefined;
    const exitCtx = 'At program exit the register R0';
    if (r0.type !== 'scalar') throw new Reject(`${exitCtx} is not a known value (${regTypeStr(r0)})`, at);
    markPrecise(s, 1);
    const [min, max] = range;
    if (r0.smin >= BigInt(min) && r0.smax <= BigInt(max)) return undefined;
    // verbose_invalid_scalar: only the bounds that are known
    let has = '';
    if (r0.smin > S64_MIN) has += ` smin=${r0.smin}`;
    if (r0.smax < S64_MAX) has += ` smax=${r0.smax}`;
    throw new Reject(
      `${exitCtx} has${has || ' unknown scalar value'} should have been in [${min}, ${max}]`,
      at,
    );
  };

  /** check_func_call of a global function: its prototype stands for it. */
  const globalCall = (s: VState, k: number, g: GlobalFunc, at: number) => {
    const cur = regs(s);
    g.args.forEach((a, i) => {
      const r = cur[i + 1];
      const bad =
        a.kind === 'scalar' && r.type !== 'scalar'
          ? `R${i + 1} is not a scalar`
          : a.kind === 'ctx' && r.type !== 'ctx'
            ? `arg#${i} expects pointer to ctx`
            : undefined;
      if (bad) throw new Reject(`Caller passes invalid args into func#${k} ('${g.name}')`, at, [bad]);
    });
    say(`Func#${k} ('${g.name}') is global and assumed valid.`);
    if (g.changesPktData) clearPktPointers(s);
    calledGlobals.add(k);
    for (let r = 1; r <= 5; r++) cur[r] = newReg();
    cur[0] = newRegUnknown();
  };

  /** A global function's first state: its arguments as its prototype types them. */
  const globalEntry = (k: number, g: GlobalFunc): VState => {
    const regs0 = newRegs();
    g.args.forEach((a, i) => {
      const r = regs0[i + 1];
      if (a.kind === 'ctx') markPointer(r, 'ctx');
      else if (a.kind === 'mem') {
        markPointer(r, 'mem');
        r.memSize = a.size;
        r.maybeNull = true;
        r.id = ++idGen;
      } else markUnknown(r);
    });
    markPointer(regs0[10], 'fp');
    return newState(newFrame(regs0, -1, 0, k), cfg.subprogs[k]);
  };

  const walk = (start: VState, pc0: number) => {
    // a global function's first instruction is a prune point of its own walk (measured on 6.18)
    const entryPrune = pc0 === 0 ? -1 : pc0;
    let s: VState | undefined = start;
    let pc = pc0;
    let prev = -1;
    let resumed = false;
    while (s) {
      insnsProcessed++;
      if (insnsProcessed > COMPLEXITY_LIMIT_INSNS) {
        throw new Reject(`BPF program is too large. Processed ${insnsProcessed} insn`, pc);
      }
      const insn = slots[pc];
      if (!insn) throw new Reject(`invalid insn at ${pc}`, pc);
      visited[pc] = 1;
      let next: number | undefined = pc + (insn.kind === 'lddw' ? 2 : 1);
      let pruned = false;
      if (prunePoint[pc] === 1 || pc === entryPrune) {
        pruned = visitState(s, pc);
      }
      if (pruned) {
        constants.pruned(pc);
        if (logLevel > 0) vlog.safe(s, pc, prev, resumed);
        next = undefined;
      } else if (s.speculative && nospec.has(pc)) {
        next = undefined;
      } else {
        try {
          if (logLevel > 0) vlog.insn(s, pc, insn);
          live?.begin(s, pc);
          const cur = regs(s);
          if (!s.speculative) constants.note(pc, cur);
          histPush(s, pc, stackAccessCode(s, insn));
          switch (insn.kind) {
            case 'alu':
              checkAlu(s, insn, pc);
              break;
            case 'end': {
              readReg(s, insn.dst, pc);
              writeCheck(s, insn.dst, pc);
              if (isPointer(cur[insn.dst]) && !allowPtrLeaks)
                throw new Reject(`R${insn.dst} pointer arithmetic prohibited`, pc);
              byteSwap(cur[insn.dst], insn.form.order, insn.form.bits);
              break;
            }
            case 'lddw': {
              writeCheck(s, insn.dst, pc);
              const d = cur[insn.dst];
              switch (insn.src) {
                case PseudoSrc.IMM:
                  markKnown(d, insn.value);
                  break;
                case PseudoSrc.MAP_FD:
                case PseudoSrc.MAP_IDX:
                  markPointer(d, 'map_ptr');
                  d.map = insn.imm;
                  break;
                case PseudoSrc.MAP_VALUE:
                case PseudoSrc.MAP_IDX_VALUE:
                  markPointer(d, 'map_value');
                  d.map = insn.imm;
                  d.off = insn.imm2;
                  break;
                case PseudoSrc.FUNC:
                  if (!hasFuncInfo) throw new Reject('missing btf func_info', pc);
                  markPointer(d, 'func');
                  d.subprog = pc + insn.imm + 1;
                  break;
                default:
                  throw new Reject('invalid bpf_ld_imm64 insn', pc);
              }
              break;
            }
            case 'ldx': {
              readReg(s, insn.src, pc);
              writeCheck(s, insn.dst, pc);
              memAccess(
                s,
                insn.src,
                insn.off,
                insn.form.size,
                false,
                insn.dst,
                undefined,
                pc,
                insn.form.signed,
              );
              break;
            }
            case 'stx': {
              readReg(s, insn.src, pc);
              readReg(s, insn.dst, pc);
              memAccess(s, insn.dst, insn.off, insn.form.size, true, insn.src, undefined, pc);
              break;
            }
            case 'st': {
              readReg(s, insn.dst, pc);
              memAccess(s, insn.dst, insn.off, insn.form.size, true, undefined, insn.imm, pc);
              break;
            }
            case 'atomic': {
              const f = insn.form;
              readReg(s, insn.src, pc);
              readReg(s, insn.dst, pc);
              if (f.op === 'cmpxchg') readReg(s, 0, pc);
              if (isPointer(cur[insn.src]) && f.op !== 'store_release' && !allowPtrLeaks)
                throw new Reject(`R${insn.src} leaks addr into mem`, pc);
              if (f.op === 'load_acquire') {
                memAccess(s, insn.src, insn.off, f.size, false, insn.dst, undefined, pc, false, true);
                break;
              }
              if (f.op === 'store_release') {
                memAccess(s, insn.dst, insn.off, f.size, true, insn.src, undefined, pc, false, true);
                break;
              }
              const target = cur[insn.dst];
              if (target.type === 'ctx' || isPkt(target))
                throw new Reject(
                  `BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(target)} is not allowed`,
                  pc,
                );
              if (f.size !== 4 && f.size !== 8) throw new Reject('invalid atomic operand size', pc);
              const loadReg = f.op === 'cmpxchg' ? 0 : f.fetch ? insn.src : undefined;
              memAccess(s, insn.dst, insn.off, f.size, false, undefined, undefined, pc, false, true);
              memAccess(s, insn.dst, insn.off, f.size, true, undefined, undefined, pc, false, true);
              if (loadReg !== undefined) {
                markUnknown(cur[loadReg]);
                if (f.size === 4) coerceToSize(cur[loadReg], 4);
              }
              break;
            }
            case 'ldabs':
            case 'ldind': {
              if (!['SOCKET_FILTER', 'SCHED_CLS', 'SCHED_ACT'].includes(input.progType))
                throw new Reject('BPF_LD_[ABS|IND] instructions not allowed for this program type', pc);
              const r6 = readReg(s, 6, pc);
              // check_resource_leak: the load may end the program, so no reference may be held
              // (check_reference_leak looks at the main program's frame only)
              if (s.frames.length === 1 && s.refs.length) {
                const before = s.refs.map((r) => `Unreleased reference id=${r.id} alloc_insn=${r.insn}`);
                throw new Reject('BPF_LD_[ABS|IND] would lead to reference leak', pc, before);
              }
              if (r6.type !== 'ctx')
                throw new Reject('at the time of BPF_LD_ABS|IND R6 != pointer to skb', pc);
              if (insn.kind === 'ldind') readReg(s, insn.src, pc);
              // In a callback, the hidden exit checks r0 in [0, 1] and marks it precise; 6.18's
              // backtracking keeps r0 through LD_ABS/LD_IND and stops at the callback's entry
              // with it still wanted when nothing in the callback wrote r0 before.
              if (curFrame(s).inCallback && cur[0].type === 'not_init')
                throw new Reject('verifier bug: callback unexpected regs 1', pc);
              if (s.frames.length > 1 && !curFrame(s).inCallback) ldAbsHiddenExit(s, pc);
              for (let r = 0; r <= 5; r++) cur[r] = newReg();
              // the loaded bytes are not bounded by their size: check_ld_abs leaves r0 unknown
              markUnknown(cur[0]);
              break;
            }
            case 'jmp': {
              jmpsProcessed++;
              if (insn.form.op === 'ja') next = jumpDest(insn);
              else {
                const r = checkCond(s, insn, pc);
                next = r === -2 ? undefined : r;
              }
              break;
            }
            case 'call': {
              jmpsProcessed++;
              if (insn.form.target === 'local') {
                const target = pc + insn.imm + 1;
                const k = subprogOf(cfg.subprogs, target);
                const g = globals.get(k);
                if (g) globalCall(s, k, g, pc);
                else {
                  enterFrame(s, pc, target, pc, false);
                  live?.enter();
                  if (logLevel > 0) vlog.call(s);
                  next = target;
                }
              } else if (insn.form.target === 'helper') {
                const cb = checkHelper(s, insn, pc);
                if (cb !== undefined) {
                  // verify the callback once with unknown index, then continue after the call
                  enterFrame(s, pc, cb, pc, true);
                  live?.enter();
                  next = cb;
                }
              } else {
                throw new Reject('calling kernel function is not supported without kernel BTF', pc);
              }
              break;
            }
            case 'callx':
              throw new Reject(`unknown opcode ${insn.opcode.toString(16).padStart(2, '0')}`, pc);
            case 'exit': {
              jmpsProcessed++;
              next = checkExit(s, pc);
              break;
            }
          }
          live?.commit();
        } catch (e) {
          // error_recoverable_with_nospec: a speculative path that would fault stops here
          if (!(e instanceof Reject) || !s.speculative || !recoverable(e)) throw e;
          nospec.add(pc);
          aluAux.delete(pc);
          next = undefined;
        }
        if (s.speculative && nospecResult.has(pc)) next = undefined;
      }
      if (logLevel > 0 && !pruned) vlog.after(s, insn, pc, next);
      resumed = false;
      if (next === undefined) {
        live?.update(s);
        endPath(s);
        releaseState(s);
        const p = pending.pop();
        if (!p) break;
        s = p.state;
        prev = p.prev;
        pc = p.insn;
        if (logLevel > 0) vlog.resume(s, pc, prev, p.logPos);
        resumed = true;
      } else {
        if (next < 0 || next >= slots.length)
          throw new Reject(`jump out of range from insn ${pc} to ${next}`, pc);
        pc = next;
      }
    }
  };

  const run = (input_: VerifierInput, slots_: Slots, cfg_: Cfg, lookups_: Lookups): CheckResult => {
    input = input_;
    slots = slots_;
    cfg = cfg_;
    lookups = lookups_;
    maps = input.maps ?? [];
    caps = input.caps ?? 'root';
    ({ bpfCapable, allowPtrLeaks, allowUninitStack, bypassSpecV1, bypassSpecV4 } = capsSwitches(caps));
    // Spectre sanitising (caps.ts): per slot, the masking state of pointer arithmetic; slots a
    // speculative path must not pass (nospec) or ends after (nospec_result: sanitised stack stores)
    aluAux = new Map<number, { state: number; limit: number }>();
    nospec = new Set<number>();
    nospecResult = new Set<number>();
    logLevel = input.logLevel ?? 0;
    visited = new Uint8Array(slots.length);
    idGen = 0;
    insnsProcessed = 0;
    jmpsProcessed = 0;
    prevJmps = 0;
    prevInsns = 0;
    maxStack = 0;
    explored = new Map<number, { state: VState; hit: number; miss: number }[]>();
    pending = [];
    /** For the log's statistics line: checkpoints made, alive at most, most at one insn. */
    stats = { total: 0, cur: 0, peak: 0, maxPerInsn: 0 };
    stackDepth = new Map<number, number>();
    hasFuncInfo = (input.funcInfo?.length ?? 0) > 0;

    const btf = input.kernelBtf;
    // (the log keeps this function after the call: it reads this call's BTF)
    vlog = new VerifierLog(
      logLevel,
      maps,
      input.insns,
      input.lines,
      btf ? (id) => btfTypeName(btf, id) : undefined,
    );
    /** Level 2 prints the kernel's stack-liveness bookkeeping (it does not steer our pruning). */
    live =
      logLevel === 2
        ? new StackLiveness(slots, cfg.subprogs, cfg.prunePoints, (l) => vlog.say(l))
        : undefined;
    // env->strict_alignment: BPF_F_STRICT_ALIGNMENT, unless BPF_F_ANY_ALIGNMENT (x86 has efficient
    // unaligned access, so nothing else makes it strict)
    strictAlignment = ((input.progFlags ?? 0) & 3) === 1;
    // BPF_F_TEST_STATE_FREQ (env->test_state_freq): a checkpoint at every prune point; Linux 6.18
    // honours the flag only with CAP_BPF (without it the same programs explore the same states)
    testStateFreq = ((input.progFlags ?? 0) & 8) !== 0 && bpfCapable;

    // non-sleepable programs run inside an RCU read section from start to end (in_rcu_cs)
    inRcu = ((input.progFlags ?? 0) & (1 << 4)) === 0;

    /**
     * The known scalar of the immediate operand of the ALU or jump instruction at `at`, made once per
     * instruction: the rules only read an operand that is not the destination (`scalarAlu`,
     * `ptrAlu`, `checkCond` copy it before refining), so it is shared, never changed.
     */
    // (filled, not grown: an array written at scattered indices turns into a slow dictionary)
    immRegs = new Array<Reg | undefined>(slots.length).fill(undefined);
    /** `at`: the checkpoint's slot when `old` is its running frame (dead slots are skipped), else -1. */
    unboundScalar = newRegUnknown();
    pruneIds = new Map<number, number>();
    /**
     * mark_chain_precision: the registers (bit mask, current frame) and stack slots (`frameno * 64 +
     * spi`) whose exact values a decision used; walk back through the instructions that produced
     * them, and mark them precise in every checkpoint up the path, so pruning compares their ranges.
     */
    precSlots = new Set<number>();
    // -------------------------------------------------------------------------------------------
    // global functions

    globals = globalFuncs(input, slots, cfg.subprogs, lookups);
    calledGlobals = new Set<number>();

    // -------------------------------------------------------------------------------------------
    // main loop

    init = newState(newFrame(newRegs(), -1, 0, 0), 0);
    markPointer(init.frames[0].regs[1], 'ctx');
    markPointer(init.frames[0].regs[10], 'fp');

    vlog.preamble(cfg.subprogs, slots, (id) => {
      const proto = lookups.helper(id);
      return typeof proto === 'string' ? 5 : proto.args.length;
    });
    if (logLevel > 0)
      for (const note of mainFuncNotes(input.btf, input.funcInfo?.find((f) => f.slot === 0)?.typeId))
        vlog.say(note);
    /** One walk from `start` at `pc0` (the main program, then each global function called). */
    /** cfg.prunePoints as flags per slot (a set's lookup at every instruction cost more). */
    prunePoint = new Uint8Array(slots.length);
    constants = new ConstantTracker(slots);
    for (const p of cfg.prunePoints) if (p < slots.length) prunePoint[p] = 1;

    try {
      walk(init, 0);
      // a level-1 log keeps nothing of a walk that succeeded (do_check_common resets it)
      if (logLevel === 1) vlog.clear();
      // do_check_subprogs: the global functions called, in order, until no new one is called
      const verified = new Set<number>();
      for (let more = true; more; ) {
        more = false;
        for (const [k, g] of globals) {
          if (!calledGlobals.has(k) || verified.has(k)) continue;
          explored.clear();
          say(`Validating ${g.name}() func#${k}...`);
          if (logLevel > 0) vlog.restart();
          walk(globalEntry(k, g), cfg.subprogs[k]);
          if (logLevel === 1) vlog.clear();
          say(`Func#${k} ('${g.name}') is safe for any args that match its prototype`);
          verified.add(k);
          more = true;
        }
      }
    } catch (e) {
      notInitIntact();
      if (e instanceof Reject) {
        if (logLevel > 0) vlog.error(e.before, e.message);
        return result(e);
      }
      throw e;
    }
    notInitIntact();
    // A private stack per subprogram (measured: only perf_event programs get one here, and none
    // that tail-call) takes subprograms of 64 bytes or more out of the combined size.
    const privStack =
      input.progType === 'PERF_EVENT' &&
      !slots.some((i) => i?.kind === 'call' && i.form.target === 'helper' && i.imm === 12);
    const deep = maxStackDepthError(slots, cfg.subprogs, stackDepth, privStack);
    if (deep) {
      say(deep);
      return result(new Reject(deep, 0));
    }
    return result(undefined);
  };

  /** What the call found, with its first error if any. */
  const result = (error: Reject | undefined): CheckResult => {
    for (const [, d] of stackDepth) maxStack = Math.max(maxStack, d);
    return {
      ...(error ? { error } : {}),
      insnsProcessed,
      log: vlog,
      visited,
      maxStack,
      stackDepth,
      constants,
      states: stats,
    };
  };
  /** Let go of what the call worked on (a large program's states), for the collector. */
  const forget = (): void => {
    explored = new Map();
    pending = [];
    immRegs = [];
    init = undefined as unknown as VState;
    globals = new Map();
    input = undefined as unknown as VerifierInput;
    slots = [];
    cfg = undefined as unknown as Cfg;
    lookups = undefined as unknown as Lookups;
    vlog = undefined as unknown as VerifierLog;
    live = undefined;
    constants = undefined as unknown as ConstantTracker;
  };
  return { run, forget };
}

/** The shared uninitialised register must come out of a walk as it went in (see NOT_INIT). */
function notInitIntact(): void {
  if (sameReg(NOT_INIT, newReg())) return;
  resetReg(NOT_INIT, 'not_init');
  throw new Error('verifier bug: the shared uninitialised register was written');
}

/**
 * check_max_stack_depth, run after the walk: follow every chain of bpf-to-bpf calls (and `lddw`
 * function pointers) from the main program and add up each frame's stack, rounded up to 16 bytes
 * (the JIT is on); 512 bytes in all at most, 8 frames deep at most.
 */
function maxStackDepthError(
  slots: Slots,
  subprogs: readonly number[],
  stackDepth: ReadonlyMap<number, number>,
  privStack: boolean,
): string | undefined {
  // each frame's own stack, rounded up; BPF_PRIV_STACK_MIN_SIZE
  const own = subprogs.map((_, idx) => {
    const d = Math.ceil((stackDepth.get(idx) ?? 0) / 16) * 16;
    return privStack && d >= 64 ? 0 : d;
  });
  const retInsn: number[] = [];
  const retProg: number[] = [];
  let idx = 0;
  let i = subprogs[0] ?? 0;
  let frame = 0;
  let depth = own[0];
  if (depth > MAX_BPF_STACK) return `combined stack size of 1 calls is ${depth}. Too large`;
  for (;;) {
    let called = false;
    for (const end = subprogs[idx + 1] ?? slots.length; i < end; i++) {
      const insn = slots[i];
      const call =
        insn &&
        ((insn.kind === 'call' && insn.form.target === 'local') ||
          (insn.kind === 'lddw' && insn.src === PseudoSrc.FUNC));
      if (!call) continue;
      retInsn[frame] = i + 1;
      retProg[frame] = idx;
      const next = i + insn.imm + 1;
      idx = subprogOf(subprogs, next);
      i = next;
      frame++;
      if (frame >= MAX_CALL_FRAMES) return `the call stack of ${frame} frames is too deep !`;
      depth += own[idx];
      if (depth > MAX_BPF_STACK) return `combined stack size of ${frame + 1} calls is ${depth}. Too large`;
      called = true;
      break;
    }
    if (called) continue;
    if (frame === 0) return undefined;
    depth -= own[idx];
    frame--;
    i = retInsn[frame]!;
    idx = retProg[frame]!;
  }
}

const mapTypeNumber = (t: string | undefined): number => (t ? (MapType[t as MapTypeName] ?? 0) : 0);
