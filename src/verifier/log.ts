/**
 * The verifier log in Linux 6.18's format (`kernel/bpf/log.c`, `do_check`), at log level 1 and 2,
 * and a structured trace of the same walk for UIs. The checker calls the hooks below; this module
 * decides what the kernel would print.
 *
 * How the kernel writes it (measured on 6.18):
 * - Level 2 starts with `func#N @slot` per subprogram and a `Live regs before insn:` table.
 * - Before each instruction it prints the registers (and stack slots) the previous instruction
 *   touched ("scratched"): appended to the previous instruction's line after padding to a column
 *   multiple of 40 (`; R0=0`), or on a line of its own (`N: R0=0`) when something was printed in
 *   between. Then the source line (`; text @ file:line`), then `N: (op) insn`.
 * - After a path ends, the next pending branch starts with `from P to N: <full state>`; at level 1
 *   the log is first cut back to where that branch was queued, so only the path to an error stays,
 *   and a level-1 log of an accepted program is only its statistics line.
 * - Pruned paths print `N: safe` (or `from P to N: safe` right after a pop).
 */
import type { Insn } from '../isa/instruction.js';
import { formatInsn } from '../isa/llvm-print.js';
import { PseudoSrc } from '../isa/opcodes.js';
import type { Btf, BtfType, BtfVoid } from '../object/btf.js';
import type { SourceLine } from '../object/object.js';
import { BtfFlag, type Reg, type RegType } from './scalar.js';
import { type Frame, Stype, type VState } from './state.js';
import { S32_MAX, S32_MIN, S64_MAX, S64_MIN, tnumIsConst, U32_MAX, U64_MAX } from './tnum.js';
import type { TraceStep, VerifierMap } from './types.js';

export type { TraceStep };

const TYPE_STR: Record<RegType, string> = {
  not_init: '?',
  scalar: 'scalar',
  ctx: 'ctx',
  map_ptr: 'map_ptr',
  map_value: 'map_value',
  map_key: 'map_key',
  fp: 'fp',
  pkt: 'pkt',
  pkt_meta: 'pkt_meta',
  pkt_end: 'pkt_end',
  mem: 'mem',
  ringbuf_mem: 'ringbuf_mem',
  func: 'func',
  flow_keys: 'flow_keys',
  sock: 'sock',
  sock_common: 'sock_common',
  tcp_sock: 'tcp_sock',
  btf_id: 'ptr_',
};

/** The name of a struct in the kernel's BTF, for `btf_id` registers. */
export type BtfName = (btfId: number) => string;

/** Type flag prefixes in the order `reg_type_str` writes them (after `rdonly_`). */
const FLAG_PREFIXES: readonly (readonly [number, string])[] = [
  [BtfFlag.USER, 'user_'],
  [BtfFlag.PERCPU, 'percpu_'],
  [BtfFlag.RCU, 'rcu_'],
  [BtfFlag.UNTRUSTED, 'untrusted_'],
  [BtfFlag.TRUSTED, 'trusted_'],
];

/** The kernel's `reg_type_str` (`trusted_ptr_`, `rdonly_untrusted_mem`, `ptr_or_null_`…). */
export function regTypeStr(r: Reg): string {
  let prefix = r.rdonly && (r.type === 'mem' || r.type === 'ringbuf_mem') ? 'rdonly_' : '';
  if (r.btfFlags) for (const [flag, text] of FLAG_PREFIXES) if (r.btfFlags & flag) prefix += text;
  const postfix = r.maybeNull ? (r.type === 'btf_id' ? 'or_null_' : '_or_null') : '';
  return prefix + TYPE_STR[r.type] + postfix;
}

const hex = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16)}`;
/** `verbose_snum`: decimal within the 16-bit signed range, else 64-bit hex. */
const snum = (v: bigint): string => (v >= -32768n && v <= 32767n ? v.toString() : hex(v));
/** `verbose_unum`: decimal up to 32767, else 64-bit hex (6.18 prints 256 and 255 in decimal, 0xff00 in hex). */
const unum = (v: bigint): string => {
  const u = BigInt.asUintN(64, v);
  return u <= 32767n ? u.toString() : hex(u);
};

/** A 32-bit signed bound as printed: sign-extended only when it prints in decimal (6.18). */
const s32Val = (v: bigint): bigint => (v >= -32768n && v <= 32767n ? v : BigInt.asUintN(32, v));

/** `print_scalar_ranges`: equal bounds of the same kind share one value (`smin=smin32=0`). */
function scalarRanges(r: Reg): string[] {
  const m: { name: string; val: bigint; omit: boolean }[] = [
    { name: 'smin', val: r.smin, omit: r.smin === S64_MIN },
    { name: 'smax', val: r.smax, omit: r.smax === S64_MAX },
    { name: 'umin', val: r.umin, omit: r.umin === 0n },
    { name: 'umax', val: r.umax, omit: r.umax === U64_MAX },
    { name: 'smin32', val: s32Val(r.s32min), omit: r.s32min === S32_MIN },
    { name: 'smax32', val: s32Val(r.s32max), omit: r.s32max === S32_MAX },
    { name: 'umin32', val: r.u32min, omit: r.u32min === 0n },
    { name: 'umax32', val: r.u32max, omit: r.u32max === U32_MAX },
  ];
  const out: string[] = [];
  for (let i = 0; i < m.length; i++) {
    const a = m[i];
    if (a.omit) continue;
    const neg1 = a.name[0] === 's' && a.val < 0n;
    let text = `${a.name}=`;
    for (let j = i + 2; j < m.length; j += 2) {
      const b = m[j];
      if (b.omit) continue;
      const neg2 = b.name[0] === 's' && b.val < 0n;
      if (neg1 === neg2 && BigInt.asUintN(64, a.val) === BigInt.asUintN(64, b.val)) {
        text += `${b.name}=`;
        b.omit = true;
      }
    }
    out.push(text + (neg1 ? snum(a.val) : unum(a.val)));
  }
  return out;
}

/**
 * A register as `print_reg_state` prints it (`frameno`: the frame being printed; `precise`: show
 * the `P` of a precise scalar, which only checkpoints carry in the kernel: it never marks the
 * current state, so its live prints have none).
 */
export function regText(
  r: Reg,
  maps: readonly VerifierMap[],
  frameno = 0,
  precise = true,
  btfName?: BtfName,
): string {
  const p = precise && r.type === 'scalar' && r.precise ? 'P' : '';
  if (r.type === 'scalar' && tnumIsConst(r.varOff)) return p + snum(BigInt.asIntN(64, r.varOff.value));
  let s = p + regTypeStr(r);
  // print_reg_state: a BTF pointer's struct follows its type (`trusted_ptr_task_struct()`)
  if (r.type === 'btf_id' && r.btfId && btfName) s += btfName(r.btfId);
  if (r.type === 'fp') {
    if (r.frameno !== frameno) s += `[${r.frameno}]`;
    if (tnumIsConst(r.varOff)) return s + snum(BigInt.asIntN(64, r.varOff.value) + BigInt(r.off));
  }
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.refObjId) parts.push(`ref_obj_id=${r.refObjId}`);
  if (r.type === 'map_ptr' || r.type === 'map_value' || r.type === 'map_key') {
    const m = maps[r.map];
    if (m) {
      if (m.name) parts.push(`map=${m.name.slice(0, 15)}`);
      parts.push(`ks=${m.keySize},vs=${m.valueSize}`);
    }
  }
  if (r.type !== 'scalar' && r.off) parts.push(`off=${snum(BigInt(r.off))}`);
  if (r.type === 'pkt' || r.type === 'pkt_meta') parts.push(`r=${unum(BigInt(r.range))}`);
  if (r.type === 'mem' || r.type === 'ringbuf_mem') parts.push(`sz=${unum(BigInt(r.memSize))}`);
  if (tnumIsConst(r.varOff)) {
    if (r.varOff.value) parts.push(`imm=${snum(BigInt.asIntN(64, r.varOff.value))}`);
  } else {
    parts.push(...scalarRanges(r));
    if (r.varOff.mask !== U64_MAX) parts.push(`var_off=(${hex(r.varOff.value)}; ${hex(r.varOff.mask)})`);
  }
  return `${s}(${parts.join(',')})`;
}

const SLOT_CHAR = '?rm0';

/** The registers a bpf-to-bpf call leaves the caller (R6-R10; R0-R5 are clobbered). */
const CALLEE_SAVED: ReadonlySet<number> = new Set([6, 7, 8, 9, 10]);

/** A stack slot as `print_verifier_state` prints it, or undefined when all its bytes are invalid. */
function slotText(
  f: Frame,
  spi: number,
  maps: readonly VerifierMap[],
  precise = false,
  btfName?: BtfName,
): string | undefined {
  const slot = f.stack[spi];
  if (!slot || slot.types.every((t) => t === Stype.INVALID)) return undefined;
  const chars = slot.types.map((t) => SLOT_CHAR[t] ?? '?');
  if (slot.types[7] === Stype.SPILL) {
    const first = slot.types.indexOf(Stype.SPILL);
    return chars.slice(0, first).join('') + regText(slot.spilled, maps, f.frameno, precise, btfName);
  }
  return chars.join('');
}

/** The registers and stack of frame `f`, all of them or only the scratched ones. */
function frameText(
  s: VState,
  f: Frame,
  maps: readonly VerifierMap[],
  regs: ReadonlySet<number> | undefined,
  slots: ReadonlySet<number> | undefined,
  precise = false,
  btfName?: BtfName,
): string {
  let out = f.frameno ? ` frame${f.frameno}:` : '';
  f.regs.forEach((r, i) => {
    if (r.type === 'not_init' || (regs && !regs.has(i))) return;
    out += ` R${i}=${regText(r, maps, f.frameno, precise, btfName)}`;
  });
  for (let spi = 0; spi < f.stack.length; spi++) {
    if (slots && !slots.has(spi)) continue;
    const t = slotText(f, spi, maps, precise, btfName);
    if (t !== undefined) out += ` fp${-(spi + 1) * 8}=${t}`;
  }
  if (s.refs.length) out += ` refs=${s.refs.map((r) => r.id).join(',')}`;
  if (f.inCallback) out += ' cb';
  return out;
}

/** The full state of the current frame (`from 4 to 6: R1=…`). */
export function stateText(s: VState, maps: readonly VerifierMap[], btfName?: BtfName): string {
  return frameText(s, s.frames[s.frames.length - 1], maps, undefined, undefined, false, btfName).slice(1);
}

/**
 * Level 2's `func#N @start` lines (`check_subprogs`), for a log that stops before the walk: the
 * main program and every target of a bpf-to-bpf call or a function-pointer `lddw`, in order.
 */
export function subprogLines(insns: readonly Insn[]): string[] {
  const starts = new Set([0]);
  for (const i of insns) {
    if ((i.kind === 'call' && i.form.target === 'local') || (i.kind === 'lddw' && i.src === PseudoSrc.FUNC))
      starts.add(i.slot + i.imm + 1);
  }
  return [...starts].sort((a, b) => a - b).map((start, k) => `func#${k} @${start}`);
}

/** `btf_type_str`: a BTF kind as the kernel names it in messages. */
const BTF_KIND_STR: Readonly<Record<(BtfType | BtfVoid)['kind'], string>> = {
  void: 'UNKNOWN',
  int: 'INT',
  ptr: 'PTR',
  array: 'ARRAY',
  struct: 'STRUCT',
  union: 'UNION',
  enum: 'ENUM',
  fwd: 'FWD',
  typedef: 'TYPEDEF',
  volatile: 'VOLATILE',
  const: 'CONST',
  restrict: 'RESTRICT',
  func: 'FUNC',
  func_proto: 'FUNC_PROTO',
  var: 'VAR',
  datasec: 'DATASEC',
  float: 'FLOAT',
  decl_tag: 'DECL_TAG',
  type_tag: 'TYPE_TAG',
  enum64: 'ENUM64',
};

/** Register arguments a global function may take (`MAX_BPF_FUNC_REG_ARGS`). */
const MAX_FUNC_REG_ARGS = 5;

/**
 * What `btf_prepare_func_args` says about the main program's BTF signature, which
 * `do_check_common` checks before the walk (the main program only loses its "reliable" BTF, so
 * the walk goes on): for a global function, a return type that is not an integer or enum, a
 * pointer argument whose target has no size (`void *`), a non-scalar non-pointer argument.
 * Measured on 6.18: `void *ctx` is never taken for the context there.
 */
export function mainFuncNotes(btf: Btf | undefined, typeId: number | undefined): string[] {
  if (!btf || typeId === undefined) return [];
  const fn = btf.typeById(typeId);
  if (fn.kind !== 'func' || fn.linkage !== 'global') return [];
  const proto = btf.typeById(fn.typeId);
  if (proto.kind !== 'func_proto') return [];
  const scalar = (t: BtfType | BtfVoid) => t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64';
  if (proto.params.length > MAX_FUNC_REG_ARGS)
    return [
      `Global function ${fn.name}() with ${proto.params.length} > ${MAX_FUNC_REG_ARGS} args. Buggy compiler.`,
    ];
  if (!scalar(btf.resolve(proto.returnTypeId)))
    return [`Global function ${fn.name}() doesn't return scalar. Only those are supported.`];
  for (const [i, param] of proto.params.entries()) {
    const t = btf.resolve(param.typeId);
    if (scalar(t)) continue;
    if (t.kind === 'ptr') {
      const target = btf.resolve(t.typeId);
      if (target.kind === 'void' || target.kind === 'fwd' || target.kind === 'func')
        return [
          `arg#${i} reference type('${BTF_KIND_STR[target.kind]} ${target.name}') size cannot be determined: -22`,
        ];
      continue;
    }
    return [`Arg#${i} type ${BTF_KIND_STR[t.kind]} in ${fn.name}() is not supported yet.`];
  }
  return [];
}

/** Registers an instruction names (`check_reg_arg` marks them scratched). */
function operandRegs(insn: Insn): number[] {
  switch (insn.kind) {
    case 'call':
      return [0, 1, 2, 3, 4, 5];
    case 'exit':
      return [0];
    case 'lddw':
      return [insn.dst];
    case 'jmp':
      if (insn.form.op === 'ja') return [];
      return insn.form.source === 'reg' ? [insn.dst, insn.src] : [insn.dst];
    case 'alu':
      return insn.form.source === 'reg' ? [insn.dst, insn.src] : [insn.dst];
    case 'atomic':
      return insn.imm === 0xf1 ? [insn.dst, insn.src, 0] : [insn.dst, insn.src];
    case 'ldx':
    case 'stx':
      return [insn.dst, insn.src];
    case 'ldabs':
      return [0, 1, 2, 3, 4, 5, 6];
    case 'ldind':
      return [0, 1, 2, 3, 4, 5, 6, insn.src];
    default:
      return [insn.dst];
  }
}

/** Registers an instruction reads and writes, as bit masks (`compute_live_registers`). */
function useDef(insn: Insn, helperArgs: (id: number) => number): { use: number; def: number } {
  const bit = (r: number) => (r < 10 ? 1 << r : 0);
  const CALLER_SAVED = 0b111111;
  switch (insn.kind) {
    case 'alu':
      if (insn.form.op === 'mov' || insn.form.op === 'movsx')
        return { use: insn.form.source === 'reg' ? bit(insn.src) : 0, def: bit(insn.dst) };
      return { use: bit(insn.dst) | (insn.form.source === 'reg' ? bit(insn.src) : 0), def: bit(insn.dst) };
    case 'end':
      return { use: bit(insn.dst), def: bit(insn.dst) };
    case 'lddw':
      return { use: 0, def: bit(insn.dst) };
    case 'ldx':
      return { use: bit(insn.src), def: bit(insn.dst) };
    case 'stx':
      return { use: bit(insn.dst) | bit(insn.src), def: 0 };
    case 'st':
      return { use: bit(insn.dst), def: 0 };
    case 'atomic': {
      const cmpxchg = insn.imm === 0xf1;
      const fetch = (insn.imm & 1) !== 0;
      return {
        use: bit(insn.dst) | bit(insn.src) | (cmpxchg ? 1 : 0),
        def: cmpxchg ? 1 : fetch ? bit(insn.src) : 0,
      };
    }
    case 'jmp':
      if (insn.form.op === 'ja' || insn.form.op === 'may_goto') return { use: 0, def: 0 };
      return { use: bit(insn.dst) | (insn.form.source === 'reg' ? bit(insn.src) : 0), def: 0 };
    case 'call': {
      const n = insn.form.target === 'helper' ? helperArgs(insn.imm) : 5;
      return { use: ((1 << (n + 1)) - 1) & ~1, def: CALLER_SAVED };
    }
    case 'exit':
      return { use: 1, def: 0 };
    case 'ldabs':
    case 'ldind':
      // may leave the program (the hidden exit of a failed load): every register counts as read
      return { use: 0x3ff, def: CALLER_SAVED };
    default:
      return { use: 0, def: 0 };
  }
}

/** Registers live before each slot (backward data flow to a fixed point). */
function liveRegs(slots: readonly (Insn | undefined)[], helperArgs: (id: number) => number): number[] {
  const n = slots.length;
  const live = new Array<number>(n).fill(0);
  const ud = slots.map((i) => (i ? useDef(i, helperArgs) : { use: 0, def: 0 }));
  const succ = slots.map((i, slot): number[] => {
    if (!i || i.kind === 'exit') return [];
    const next = slot + (i.kind === 'lddw' ? 2 : 1);
    if (i.kind === 'jmp') {
      const off = i.form.op === 'ja' && i.form.bits === 32 ? i.imm : i.off;
      const target = slot + off + 1;
      return i.form.op === 'ja' ? [target] : [next, target];
    }
    return [next];
  });
  for (let changed = true; changed; ) {
    changed = false;
    for (let slot = n - 1; slot >= 0; slot--) {
      if (!slots[slot]) continue;
      let out = 0;
      for (const t of succ[slot]) if (t >= 0 && t < n) out |= live[t];
      const v = ud[slot].use | (out & ~ud[slot].def);
      if (v !== live[slot]) {
        live[slot] = v;
        changed = true;
      }
    }
  }
  return live;
}

/** Helpers that call a callback (`is_callback_calling_function`): for_each_map_elem, find_vma, loop, user_ringbuf_drain. */
const CALLBACK_HELPERS: ReadonlySet<number> = new Set([164, 180, 181, 209]);

/**
 * `compute_scc` (since 6.17): the loops' strongly connected components, numbered from 1 in the
 * order Tarjan's walk completes them (roots tried in slot order, successors fallthrough first);
 * 0 outside a loop. A callback-calling helper call counts as a loop of its own.
 */
function sccs(slots: readonly (Insn | undefined)[]): number[] {
  const n = slots.length;
  const succ = (w: number): number[] => {
    const i = slots[w];
    if (!i) return w + 1 < n ? [w + 1] : [];
    if (i.kind === 'exit') return [];
    const next = w + (i.kind === 'lddw' ? 2 : 1);
    if (i.kind !== 'jmp') return next < n ? [next] : [];
    const target = w + (i.form.op === 'ja' && i.form.bits === 32 ? i.imm : i.off) + 1;
    return (i.form.op === 'ja' ? [target] : [next, target]).filter((t) => t >= 0 && t < n);
  };
  const scc = new Array<number>(n).fill(0);
  const pre = new Array<number>(n).fill(0);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  let order = 1;
  let nextId = 1;
  for (let root = 0; root < n; root++) {
    if (pre[root]) continue;
    const stack: number[] = [];
    const dfs: number[] = [root];
    while (dfs.length) {
      const w = dfs[dfs.length - 1];
      if (!pre[w]) {
        pre[w] = low[w] = order++;
        stack.push(w);
        onStack[w] = true;
      }
      const ss = succ(w);
      const fresh = ss.find((t) => !pre[t]);
      if (fresh !== undefined) {
        dfs.push(fresh);
        continue;
      }
      for (const t of ss) if (onStack[t]) low[w] = Math.min(low[w], low[t]);
      dfs.pop();
      if (low[w] < pre[w]) continue;
      const insn = slots[w];
      const assign =
        stack[stack.length - 1] !== w ||
        ss.includes(w) ||
        (insn?.kind === 'call' && insn.form.target === 'helper' && CALLBACK_HELPERS.has(insn.imm));
      for (let t = -1; t !== w; ) {
        t = stack.pop() as number;
        onStack[t] = false;
        if (assign) scc[t] = nextId;
      }
      if (assign) nextId++;
    }
  }
  return scc;
}

/** Snapshot of a frame's stack slots as text, to tell which ones an instruction changed. */
const slotTexts = (f: Frame, maps: readonly VerifierMap[], btfName?: BtfName): (string | undefined)[] =>
  f.stack.map((_, spi) => slotText(f, spi, maps, false, btfName));

/** The log writer the checker drives (one per verification). */
export class VerifierLog {
  readonly level: 0 | 1 | 2;
  /** Lines written so far (the kernel's ring buffer, as lines). */
  readonly lines: string[] = [];
  readonly trace: TraceStep[] = [];
  private readonly maps: readonly VerifierMap[];
  private readonly btfName: BtfName | undefined;
  private readonly sources: ReadonlyMap<number, SourceLine>;
  /** Index of the line holding the last instruction, while nothing was printed after it. */
  private insnLine = -1;
  private scratchRegs = new Set<number>();
  private scratchSlots = new Set<number>();
  private allScratched = true;
  private beforeSlots: (string | undefined)[] = [];
  private beforeFrame = 0;
  private prevSource: SourceLine | undefined;
  private step: TraceStep | undefined;
  private resumedFrom: number | undefined;
  /** Level 2: the `from P to N: state` line of a resumed branch, until it is known not pruned. */
  private fromLine: string | undefined;
  /** Lines the kernel prints after the error message. */
  private afterError: readonly string[] = [];
  /**
   * Lines that got a state appended (ascending indices) and their lengths before: a level-1 cut
   * lands inside them. A stack, cut back with the lines (a map scanned at every cut made a long
   * loop's level-1 log quadratic).
   */
  private readonly baseLines: number[] = [];
  private readonly baseLengths: number[] = [];
  /** The next line continues the last one (what a level-1 cut leaves: no newline). */
  private joinNext = false;

  private push(line: string): void {
    if (this.joinNext && this.lines.length) this.lines[this.lines.length - 1] += line;
    else this.lines.push(line);
    this.joinNext = false;
  }

  constructor(
    level: 0 | 1 | 2,
    maps: readonly VerifierMap[],
    insns: readonly Insn[],
    lines: ReadonlyArray<SourceLine | undefined> | undefined,
    btfName?: BtfName,
  ) {
    this.level = level;
    this.maps = maps;
    this.btfName = btfName;
    const sources = new Map<number, SourceLine>();
    if (level > 0 && lines) {
      insns.forEach((insn, k) => {
        const l = lines[k];
        if (l) sources.set(insn.slot, l);
      });
    }
    this.sources = sources;
  }

  get on(): boolean {
    return this.level > 0;
  }

  /**
   * Level-2 preamble: subprogram starts and the live-registers table (`helperArgs`: the number of
   * arguments of a helper, which its call reads).
   */
  preamble(
    subprogs: readonly number[],
    slots: readonly (Insn | undefined)[],
    helperArgs: (id: number) => number,
  ): void {
    if (this.level < 2) return;
    subprogs.forEach((start, i) => {
      this.lines.push(`func#${i} @${start}`);
    });
    this.lines.push('Live regs before insn:');
    const live = liveRegs(slots, helperArgs);
    const scc = sccs(slots);
    slots.forEach((insn, slot) => {
      if (!insn) return;
      let m = '';
      for (let r = 0; r < 10; r++) m += live[slot] & (1 << r) ? String(r) : '.';
      const loop = scc[slot] ? `${String(scc[slot]).padStart(3)} ` : '    ';
      this.lines.push(
        `${loop}${String(slot).padStart(3)}: ${m} ${formatInsn(insn, { flavor: 'verifier', opcode: true })}`,
      );
    });
  }

  /** A new walk starts (a global function after the main program): its first state in full. */
  restart(): void {
    this.insnLine = -1;
    this.allScratched = true;
    this.fromLine = undefined;
    this.resumedFrom = undefined;
  }

  /** Level 1 after a walk that succeeded: the kernel resets its log to empty. */
  clear(): void {
    this.lines.length = 0;
    this.baseLines.length = 0;
    this.baseLengths.length = 0;
    this.joinNext = false;
    this.insnLine = -1;
  }

  /** Line `line` got a state appended; it was `length` long before. */
  private setBase(line: number, length: number): void {
    this.cutBases(line);
    this.baseLines.push(line);
    this.baseLengths.push(length);
  }

  /** Forget the appended states of lines `from` on. */
  private cutBases(from: number): void {
    const lines = this.baseLines;
    while (lines.length > 0 && lines[lines.length - 1] >= from) {
      lines.pop();
      this.baseLengths.pop();
    }
  }

  /** Position to cut back to when the branch queued now is resumed (level 1). */
  mark(): number {
    return this.lines.length;
  }

  /** The scratched state of the last instruction, before the next line is printed. */
  private flushState(s: VState, pc: number): void {
    const f = s.frames[s.frames.length - 1];
    let regs: Set<number> | undefined = this.scratchRegs;
    let slots: Set<number> | undefined = this.scratchSlots;
    if (this.allScratched) {
      regs = undefined;
      slots = undefined;
    } else if (f.frameno === this.beforeFrame) {
      const now = slotTexts(f, this.maps, this.btfName);
      now.forEach((t, spi) => {
        if (t !== this.beforeSlots[spi]) this.scratchSlots.add(spi);
      });
    }
    const nothing = !this.allScratched && this.scratchRegs.size === 0 && this.scratchSlots.size === 0;
    this.allScratched = false;
    this.scratchRegs = new Set();
    this.scratchSlots = new Set();
    if (nothing) return;
    const text = frameText(s, f, this.maps, regs, slots, false, this.btfName);
    // scratched registers that are all uninitialised still print the separator (`call …   ;`)
    const last = this.lines.length - 1;
    if (this.insnLine >= 0 && this.insnLine === last) {
      const line = this.lines[last];
      // vlog_alignment: `pos` counts the newline the kernel backs over
      const pos = line.length + 1;
      const pad = Math.ceil(Math.max(pos + 4, 40) / 8) * 8 - pos - 1;
      this.setBase(last, line.length);
      this.lines[last] = `${line}${' '.repeat(pad)};${text}`;
    } else {
      this.push(`${pc}:${text}`);
    }
    this.insnLine = -1;
  }

  /** The running frame's registers and stack in the kernel's notation, for a trace step. */
  private snapshot(s: VState): Pick<TraceStep, 'frame' | 'regs' | 'stack'> {
    const f = s.frames[s.frames.length - 1];
    return {
      frame: f.frameno,
      regs: f.regs.map((r) =>
        r.type === 'not_init' ? undefined : regText(r, this.maps, f.frameno, false, this.btfName),
      ),
      stack: f.stack.flatMap((_, spi) => {
        const value = slotText(f, spi, this.maps, false, this.btfName);
        return value === undefined ? [] : [{ off: -(spi + 1) * 8, value }];
      }),
    };
  }

  private record(s: VState, step: Omit<TraceStep, 'frame' | 'regs' | 'stack'>): void {
    const t: TraceStep = {
      ...step,
      ...this.snapshot(s),
    };
    this.trace.push(t);
    this.step = t;
  }

  /**
   * A bpf-to-bpf call entered its callee (`__check_func_call`): both frames in full, the caller
   * without R0-R5 (the call clobbers them); the callee's first instruction prints its whole state.
   */
  call(s: VState): void {
    const n = s.frames.length;
    this.push('caller:');
    this.lines.push(frameText(s, s.frames[n - 2], this.maps, CALLEE_SAVED, undefined, false, this.btfName));
    this.lines.push(
      'callee:',
      frameText(s, s.frames[n - 1], this.maps, undefined, undefined, false, this.btfName),
    );
    this.insnLine = -1;
    this.allScratched = true;
  }

  /**
   * An exit returned from `callee` to the caller now on top of `s` at `to` (`prepare_func_exit`);
   * at level 2 the caller's state follows as after a pop. Nothing is left scratched.
   */
  ret(s: VState, callee: Frame, exitPc: number, to: number): void {
    const caller = s.frames[s.frames.length - 1];
    this.push('returning from callee:');
    this.lines.push(
      frameText(s, callee, this.maps, undefined, undefined, false, this.btfName),
      `to caller at ${to}:`,
    );
    this.lines.push(frameText(s, caller, this.maps, undefined, undefined, false, this.btfName));
    if (this.level >= 2)
      this.lines.push('', `from ${exitPc} to ${to}: ${stateText(s, this.maps, this.btfName)}`);
    this.insnLine = -1;
    this.allScratched = false;
    this.scratchRegs = new Set();
    this.scratchSlots = new Set();
    this.beforeFrame = -1;
  }

  /**
   * The kernel printed lines here that we do not (`mark_precise:` backtracking): the state of the
   * instruction in progress goes on a line of its own.
   */
  interrupt(): void {
    this.insnLine = -1;
  }

  /** A path was pruned at `pc` (`resumed`: it is the first instruction after a pop). */
  safe(s: VState, pc: number, prev: number, resumed: boolean): void {
    this.fromLine = undefined;
    if (resumed) {
      this.joinNext = false;
      if (this.level >= 2) this.lines.push('');
      this.lines.push(`from ${prev} to ${pc}: safe`);
    } else this.push(`${pc}: safe`);
    this.insnLine = -1;
    this.step = undefined;
    this.resumedFrom = undefined;
    this.record(s, { insn: pc, safe: true, ...(resumed ? { from: prev } : {}) });
  }

  /** Resuming a queued branch: cut the log back (level 1) and print the state it starts from. */
  resume(s: VState, pc: number, prev: number, pos: number): void {
    if (this.level === 1) {
      // The kernel cuts its buffer back to the byte after the queued jump's newline; when the
      // jump's state was appended to its line since, one padding space stays and no newline.
      this.lines.length = Math.min(this.lines.length, pos);
      this.cutBases(pos);
      const n = this.baseLines.length;
      if (n > 0 && this.baseLines[n - 1] === pos - 1) {
        this.lines[pos - 1] = `${this.lines[pos - 1].slice(0, this.baseLengths[n - 1])} `;
        this.cutBases(pos - 1);
        this.joinNext = true;
      }
    } else {
      // printed once the instruction is not pruned (`is_state_visited` runs first)
      this.fromLine = `from ${prev} to ${pc}: ${stateText(s, this.maps, this.btfName)}`;
    }
    this.insnLine = -1;
    this.allScratched = true;
    this.resumedFrom = prev;
  }

  /** About to check the instruction at `pc`: print the last one's state, the source, the insn. */
  insn(s: VState, pc: number, insn: Insn): void {
    const from = this.resumedFrom;
    this.resumedFrom = undefined;
    if (this.fromLine !== undefined) this.lines.push('', this.fromLine);
    this.fromLine = undefined;
    this.flushState(s, pc);
    const src = this.sources.get(pc);
    // a new line-info record on the same source line prints nothing (measured on 6.18)
    const prev = this.prevSource;
    if (src && !(prev && src.text === prev.text && src.line === prev.line && src.file === prev.file)) {
      this.push(`; ${src.text.trimStart()} @ ${src.file.split('/').pop()}:${src.line}`);
      this.prevSource = src;
    }
    this.push(`${pc}: ${formatInsn(insn, { flavor: 'verifier', opcode: true })}`);
    this.insnLine = this.lines.length - 1;
    for (const r of operandRegs(insn)) this.scratchRegs.add(r);
    const f = s.frames[s.frames.length - 1];
    // A fixed-offset stack access scratches its slot even when the contents stay the same.
    if (insn.kind === 'ldx' || insn.kind === 'stx' || insn.kind === 'st' || insn.kind === 'atomic') {
      const base = insn.kind === 'ldx' ? f.regs[insn.src] : f.regs[insn.dst];
      if (base?.type === 'fp' && base.frameno === f.frameno && tnumIsConst(base.varOff)) {
        const off = base.off + Number(BigInt.asIntN(64, base.varOff.value)) + insn.off;
        if (off < 0) this.scratchSlots.add(Math.floor((-off - 1) / 8));
      } else if (base?.type === 'fp' && base.frameno === f.frameno && insn.kind === 'ldx') {
        // a variable-offset read scratches every slot it may touch
        const lo = base.off + Number(base.smin) + insn.off;
        const hi = base.off + Number(base.smax) + insn.off + insn.form.size;
        for (let a = lo; a < Math.min(hi, 0); a++)
          if (a >= -512) this.scratchSlots.add(Math.floor((-a - 1) / 8));
      }
    }
    this.beforeFrame = f.frameno;
    this.beforeSlots = slotTexts(f, this.maps, this.btfName);
    this.record(s, { insn: pc, ...(from !== undefined ? { from } : {}) });
  }

  /** After checking the instruction at `pc`: the state it leaves and where it goes (trace). */
  after(s: VState, insn: Insn, pc: number, next: number | undefined): void {
    // check_cond_jmp_op prints the jump's state itself, before the next instruction is pruned
    if (insn.kind === 'jmp' && insn.form.op !== 'ja' && insn.form.op !== 'may_goto') this.flushState(s, pc);
    const last = this.step;
    if (!last) return;
    let branch: 'taken' | 'fallthrough' | undefined;
    if (insn.kind === 'jmp' && insn.form.op !== 'ja' && next !== undefined)
      branch = next === pc + 1 ? 'fallthrough' : 'taken';
    const t: TraceStep = {
      ...last,
      ...this.snapshot(s),
      ...(branch ? { branch } : {}),
    };
    this.trace[this.trace.length - 1] = t;
    this.step = t;
  }

  /**
   * An infinite loop was found: after its error the kernel prints the current state and the
   * checkpoint it repeats (with that checkpoint's precision marks).
   */
  infiniteLoop(cur: VState, old: VState): void {
    const top = (v: VState) => v.frames[v.frames.length - 1];
    this.afterError = [
      `cur state:${frameText(cur, top(cur), this.maps, undefined, undefined, false, this.btfName)}`,
      `old state:${frameText(old, top(old), this.maps, undefined, undefined, true, this.btfName)}`,
    ];
  }

  /** The walk stopped with `message` (plus lines the kernel prints before it). */
  error(before: readonly string[], message: string): void {
    if (this.step) this.step.error = message;
    for (const l of [...before, message, ...this.afterError]) this.push(l);
  }

  /** A line printed outside the instruction walk (stack depth errors…). */
  say(line: string): void {
    this.push(line);
    this.insnLine = -1;
  }

  /**
   * The whole log, with the statistics line (a level-1 log of an accepted program keeps only what
   * was printed after the last walk: see {@link clear}).
   */
  text(stats: string): string {
    if (this.level === 0) return '';
    return `${[...this.lines, stats].join('\n')}\n`;
  }
}
