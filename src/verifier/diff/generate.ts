/**
 * Random eBPF programs for the differential harness: type-aware, so that most land near the
 * verifier's accept/reject boundary rather than failing on their first instruction.
 *
 * A program is a prologue (`r6 = r1`, the context kept in r6), one to three *fragments* drawn
 * from the categories that make sense for its program type, and an epilogue that sets `r0` and
 * exits. Each fragment is a small idiom — parse a packet, look up a map, spill and fill the
 * stack, bound a scalar and index with it — with knobs that usually keep it correct and
 * sometimes make exactly one mistake (a missing `data_end` check, a bound one too large, a leaked
 * ring-buffer reservation). Subprograms a fragment calls are appended after the main program.
 *
 * Fragments own r0–r5 and r7–r9 while they run and may leave anything in them; r6 (ctx) and r10
 * are never changed. Programs are written as assembly and assembled with `assemble()`, so a case
 * can always show the text it came from.
 *
 * Pure: fast-check drives every choice (`fc.gen()`), so a seed reproduces a corpus exactly.
 */
import fc from 'fast-check';
import type { Insn } from '../../isa/instruction.js';
import { assemble } from '../../isa/llvm-parse.js';
import type { MapTypeName, ProgTypeName } from '../../uapi.js';
import type { Caps, VerifierMap } from '../types.js';
import { type CorpusCase, makeCase } from './corpus.js';

/** A generated program with its maps. */
export interface GeneratedProgram {
  readonly type: ProgTypeName;
  readonly insns: Insn[];
  readonly maps: VerifierMap[];
  readonly flags: number;
  /** Fragment categories, in order (`packet+map`). */
  readonly category: string;
  readonly asm: string;
}

/** The choices a fragment makes: a thin layer over fast-check's `fc.gen()`. */
export interface Chooser {
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Pick by weight: `[[weight, item], …]`. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T;
}

/**
 * Unbiased integers: fast-check's default bias toward small and extreme values would make
 * `chance(0.1)` true far more often than one time in ten.
 */
const unbiasedInt = (range: { min: number; max: number }) => fc.noBias(fc.integer(range));

function chooser(g: fc.GeneratorValue): Chooser {
  const int = (min: number, max: number) => g(unbiasedInt, { min, max });
  return {
    int,
    chance: (p) => int(0, 9999) < p * 10000,
    pick: (items) => items[int(0, items.length - 1)],
    weighted(items) {
      const total = items.reduce((sum, [w]) => sum + w, 0);
      let at = int(0, total - 1);
      for (const [w, item] of items) {
        if (at < w) return item;
        at -= w;
      }
      return items[items.length - 1][1];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Program types: what their context looks like and what they may return.

type CtxKind = 'skb' | 'xdp' | 'tp' | 'raw_tp' | 'perf' | 'kprobe';

interface TypeInfo {
  readonly ctx: CtxKind;
  /** Context field [offset, size] pairs worth reading (and probing around). */
  readonly fields: ReadonlyArray<readonly [number, number]>;
  /** Offsets of data / data_end (direct packet access), if the type has them. */
  readonly packet?: { readonly data: number; readonly end: number; readonly meta?: number };
  /** Return values the kernel accepts, and a few it should not. */
  readonly goodReturns: readonly number[];
  readonly badReturns: readonly number[];
  /** Categories this type makes interesting, by weight. */
  readonly categories: ReadonlyArray<readonly [number, Category]>;
}

const SKB_FIELDS: ReadonlyArray<readonly [number, number]> = [
  [0, 4], // len
  [4, 4], // pkt_type
  [8, 4], // mark
  [12, 4], // queue_mapping
  [16, 4], // protocol
  [24, 4], // vlan_tci
  [32, 4], // priority
  [36, 4], // ingress_ifindex
  [40, 4], // ifindex
  [44, 4], // tc_index
  [48, 4], // cb[0]
  [64, 4], // cb[4]
  [68, 4], // hash
  [72, 4], // tc_classid
  [76, 4], // data
  [80, 4], // data_end
  [88, 4], // family
  [92, 4], // remote_ip4
  [132, 4], // remote_port
  [140, 4], // data_meta
  [152, 8], // tstamp
  [160, 4], // wire_len
  [168, 8], // sk
  [184, 8], // hwtstamp
  [192, 4], // past the end
];

const XDP_FIELDS: ReadonlyArray<readonly [number, number]> = [
  [0, 4],
  [4, 4],
  [8, 4],
  [12, 4],
  [16, 4],
  [20, 4],
  [24, 4],
];

const COMMON: ReadonlyArray<readonly [number, Category]> = [
  [10, 'map'],
  [6, 'stack'],
  [6, 'bounds'],
  [5, 'ptr'],
  [5, 'ctx'],
  [4, 'loop'],
  [4, 'call'],
  [4, 'helper'],
  [4, 'ringbuf'],
  [3, 'alu'],
  [3, 'subreg'],
  [2, 'atomic'],
  [2, 'tailcall'],
  [3, 'diamonds'],
];

const TYPES: Readonly<Partial<Record<ProgTypeName, TypeInfo>>> = {
  XDP: {
    ctx: 'xdp',
    fields: XDP_FIELDS,
    packet: { data: 0, end: 4, meta: 8 },
    goodReturns: [0, 1, 2, 3, 4],
    badReturns: [5, -1],
    categories: [[18, 'packet'], [3, 'adjust'], [3, 'socket'], ...COMMON],
  },
  SCHED_CLS: {
    ctx: 'skb',
    fields: SKB_FIELDS,
    packet: { data: 76, end: 80, meta: 140 },
    goodReturns: [0, 2, -1],
    badReturns: [],
    categories: [[16, 'packet'], [3, 'adjust'], [3, 'ldabs'], [3, 'socket'], ...COMMON],
  },
  CGROUP_SKB: {
    ctx: 'skb',
    fields: SKB_FIELDS,
    packet: { data: 76, end: 80 },
    goodReturns: [0, 1],
    badReturns: [2, 3, -1],
    categories: [[12, 'packet'], [2, 'ldabs'], [1, 'socket'], ...COMMON],
  },
  SOCKET_FILTER: {
    ctx: 'skb',
    fields: SKB_FIELDS,
    packet: { data: 76, end: 80 },
    goodReturns: [0, 64, 0xffff],
    badReturns: [],
    categories: [[4, 'packet'], [8, 'ldabs'], ...COMMON],
  },
  TRACEPOINT: {
    ctx: 'tp',
    fields: [
      [0, 8],
      [8, 8],
      [16, 4],
      [24, 8],
      [2040, 8],
      [2048, 8],
    ],
    goodReturns: [0, 1],
    badReturns: [],
    categories: [[4, 'probe'], ...COMMON],
  },
  RAW_TRACEPOINT: {
    ctx: 'raw_tp',
    fields: [
      [0, 8],
      [8, 8],
      [16, 8],
      [88, 8],
      [96, 8],
    ],
    goodReturns: [0],
    badReturns: [],
    categories: [[4, 'probe'], ...COMMON],
  },
  PERF_EVENT: {
    ctx: 'perf',
    fields: [
      [0, 8],
      [80, 8],
      [160, 8],
      [168, 8], // sample_period
      [176, 8], // addr
      [184, 8],
    ],
    goodReturns: [0, 1],
    badReturns: [],
    categories: [[4, 'probe'], ...COMMON],
  },
  KPROBE: {
    ctx: 'kprobe',
    fields: [
      [0, 8],
      [80, 8],
      [112, 8],
      [160, 8],
      [168, 8],
    ],
    goodReturns: [0, 1],
    badReturns: [],
    categories: [[4, 'probe'], ...COMMON],
  },
};

/** Program types the generator writes (every one the kernel here loads). */
export const GENERATED_TYPES: readonly ProgTypeName[] = Object.keys(TYPES) as ProgTypeName[];

/** Which program types each capability mode draws from, by weight. */
const TYPE_WEIGHTS: Readonly<Record<Caps, ReadonlyArray<readonly [number, ProgTypeName]>>> = {
  root: [
    [6, 'XDP'],
    [5, 'SCHED_CLS'],
    [3, 'SOCKET_FILTER'],
    [3, 'CGROUP_SKB'],
    [2, 'TRACEPOINT'],
    [2, 'RAW_TRACEPOINT'],
    [2, 'PERF_EVENT'],
    [1, 'KPROBE'],
  ],
  // Without CAP_PERFMON tracing types fail with EPERM: a few keep that rule tested.
  bpf: [
    [12, 'XDP'],
    [12, 'SCHED_CLS'],
    [8, 'SOCKET_FILTER'],
    [8, 'CGROUP_SKB'],
    [1, 'TRACEPOINT'],
    [1, 'KPROBE'],
  ],
  // Only socket filters and cgroup skb programs load without privileges.
  unpriv: [
    [24, 'SOCKET_FILTER'],
    [16, 'CGROUP_SKB'],
    [1, 'XDP'],
    [1, 'TRACEPOINT'],
  ],
};

/**
 * Per-mode scaling of category weights: without privileges bounded loops, bpf-to-bpf calls and
 * direct packet access are refused outright, so a few programs test that and the rest look
 * further.
 */
const CATEGORY_SCALE: Readonly<Record<Caps, Partial<Record<Category, number>>>> = {
  root: {},
  bpf: { probe: 0.3, loop: 0.6 },
  unpriv: { packet: 0.1, loop: 0.15, call: 0.15, adjust: 0, probe: 0, tailcall: 0.5 },
};

/** Map types an unprivileged user may not create. */
const PRIVILEGED_MAPS: ReadonlySet<MapTypeName> = new Set(['LRU_HASH', 'LRU_PERCPU_HASH']);

// ---------------------------------------------------------------------------------------------
// Fragments.

type Category =
  | 'packet'
  | 'adjust'
  | 'ldabs'
  | 'map'
  | 'stack'
  | 'bounds'
  | 'ptr'
  | 'ctx'
  | 'loop'
  | 'call'
  | 'helper'
  | 'ringbuf'
  | 'alu'
  | 'subreg'
  | 'atomic'
  | 'tailcall'
  | 'probe'
  | 'socket'
  | 'diamonds';

/** Everything a fragment may use while it writes itself. */
interface Builder {
  readonly c: Chooser;
  readonly type: ProgTypeName;
  readonly info: TypeInfo;
  readonly caps: Caps;
  /** A fresh label. */
  label(hint: string): string;
  /** Add a map; returns its index for `map[idx:N]`. */
  map(map: VerifierMap): number;
  /** Append a subprogram (its first line should be its label). */
  sub(lines: readonly string[]): void;
  /** Probability that a knob makes a mistake. */
  readonly slip: number;
}

type Fragment = (b: Builder) => string[];

const SIZES = ['u8', 'u16', 'u32', 'u64'] as const;
const sizeName = (bytes: number) => ({ 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' })[bytes] ?? 'u64';
const signed = (n: number) => (n < 0 ? `- ${-n}` : `+ ${n}`);

/** An unknown scalar in `reg`: a helper result, a context field or a stack-free source. */
function unknownScalar(b: Builder, reg: string): string[] {
  const { c, info } = b;
  const source = c.weighted<'prandom' | 'ctx' | 'ktime'>([
    [4, 'prandom'],
    [3, 'ctx'],
    [1, 'ktime'],
  ]);
  if (source === 'ctx' && info.ctx !== 'xdp') {
    const [off, size] =
      info.ctx === 'skb' ? c.pick([[0, 4] as const, [8, 4] as const, [68, 4] as const]) : [0, 8];
    return [`${reg} = *(${sizeName(size)} *)(r6 + ${off})`];
  }
  if (source === 'ctx') return [`${reg} = *(u32 *)(r6 + ${c.pick([12, 16])})`];
  const call = source === 'prandom' ? 'call 7' : 'call 5';
  return reg === 'r0' ? [call] : [call, `${reg} = r0`];
}

/** Packet access: load data/data_end, check (or not), read or write. */
const packet: Fragment = (b) => {
  const { c, info } = b;
  const pkt = info.packet!;
  const skip = b.label('pkt');
  const size = c.pick([1, 2, 4, 8]);
  const checked = c.int(size, 40);
  const off = c.chance(b.slip)
    ? c.int(Math.max(0, checked - size + 1), checked + 2)
    : c.int(0, Math.max(0, checked - size));
  const lines = [`r2 = *(u32 *)(r6 + ${pkt.data})`, `r3 = *(u32 *)(r6 + ${pkt.end})`];
  if (pkt.meta !== undefined && c.chance(0.1)) {
    // Metadata is bounded by data, not data_end (comparing with data_end is the mistake).
    lines[0] = `r2 = *(u32 *)(r6 + ${pkt.meta})`;
    lines[1] = `r3 = *(u32 *)(r6 + ${c.chance(b.slip) ? pkt.end : pkt.data})`;
  }
  const check = c.chance(b.slip)
    ? c.pick(['none', 'reversed', 'ge', 'swapped', 'wrongreg'] as const)
    : c.pick(['good', 'good', 'good', 'ge'] as const);
  lines.push('r1 = r2', `r1 += ${checked}`);
  switch (check) {
    case 'good':
      lines.push(`if r1 > r3 goto ${skip}`);
      break;
    case 'none':
      break;
    case 'reversed':
      lines.push(`if r1 <= r3 goto ${skip}`);
      break;
    case 'ge':
      lines.push(`if r1 >= r3 goto ${skip}`);
      break;
    case 'swapped':
      lines.push(`if r3 < r1 goto ${skip}`);
      break;
    case 'wrongreg':
      lines.push(`if r2 > r3 goto ${skip}`);
      break;
  }
  const access = c.weighted<'read' | 'write' | 'varread' | 'chain'>([
    [6, 'read'],
    [2, 'write'],
    [2, 'varread'],
    [1, 'chain'],
  ]);
  if (access === 'read') lines.push(`r0 = *(${sizeName(size)} *)(r2 + ${off})`);
  else if (access === 'write') lines.push(`*(${sizeName(size)} *)(r2 + ${off}) = ${c.int(0, 255)}`);
  else if (access === 'varread') {
    // A packet byte bounds an offset. Adding a variable to a packet pointer drops its checked
    // range, so the sum must be checked against data_end again (skipping that is the slip).
    const mask = c.pick([1, 3, 7, 15, 31, 63, 255]);
    const extra = c.int(0, 4);
    lines.push(`r4 = *(u8 *)(r2 + 0)`, `r4 &= ${mask}`, 'r5 = r2', 'r5 += r4');
    if (!c.chance(b.slip * 2)) lines.push('r1 = r5', `r1 += ${extra + 1}`, `if r1 > r3 goto ${skip}`);
    lines.push(`r0 = *(u8 *)(r5 + ${extra})`);
  } else {
    // Two headers: the second check is against a pointer advanced past the first.
    const hdr = c.int(4, 20);
    const skip2 = b.label('pkt2');
    lines.push(
      `r0 = *(u8 *)(r2 + 0)`,
      'r2 += ' + hdr,
      'r1 = r2',
      `r1 += ${c.int(1, 16)}`,
      `if r1 > r3 goto ${skip2}`,
      `r0 = *(${sizeName(size)} *)(r2 + ${c.chance(b.slip) ? c.int(8, 16) : 0})`,
      `${skip2}:`,
    );
  }
  lines.push(`${skip}:`);
  return lines;
};

/** `bpf_xdp_adjust_head` / `bpf_skb_pull_data` invalidate packet pointers checked before. */
const adjust: Fragment = (b) => {
  const { c, info } = b;
  const pkt = info.packet!;
  const skip = b.label('adj');
  const helper = b.type === 'XDP' ? c.pick([44, 65]) : c.pick([39, 44]);
  const reload = !c.chance(b.slip * 1.5);
  const lines = [
    `r2 = *(u32 *)(r6 + ${pkt.data})`,
    `r3 = *(u32 *)(r6 + ${pkt.end})`,
    'r1 = r2',
    'r1 += 8',
    `if r1 > r3 goto ${skip}`,
    'r7 = r2',
    'r1 = r6',
    `r2 = ${c.pick([0, 4, -4, 14])}`,
    `call ${helper}`,
  ];
  if (reload) {
    lines.push(`r7 = *(u32 *)(r6 + ${pkt.data})`, `r3 = *(u32 *)(r6 + ${pkt.end})`, 'r1 = r7', 'r1 += 8');
    lines.push(`if r1 > r3 goto ${skip}`);
  }
  lines.push(`r0 = *(u32 *)(r7 + ${c.pick([0, 4])})`, `${skip}:`);
  return lines;
};

/** Legacy `ld_abs` / `ld_ind` (the context must be in r6). */
const ldabs: Fragment = (b) => {
  const { c } = b;
  const t = c.pick(['u8', 'u16', 'u32']);
  const lines: string[] = [];
  if (c.chance(b.slip * 0.5)) lines.push('r6 = r10', 'r6 += -8');
  if (c.chance(0.5)) lines.push(`r0 = *(${t} *)skb[${c.pick([0, 12, 14, 23, 4096, -1])}]`);
  else
    lines.push(
      ...unknownScalar(b, 'r7'),
      `r7 &= ${c.pick([15, 255, -1])}`,
      `r0 = *(${t} *)skb[r7 + ${c.int(0, 20)}]`,
    );
  if (lines[0] === 'r6 = r10') lines.push('r6 = r1');
  return lines;
};

const MAP_TYPES: ReadonlyArray<readonly [number, MapTypeName]> = [
  [5, 'HASH'],
  [5, 'ARRAY'],
  [2, 'PERCPU_ARRAY'],
  [1, 'PERCPU_HASH'],
  [1, 'LRU_HASH'],
];

function lookupMap(b: Builder): { index: number; map: VerifierMap } {
  const { c } = b;
  const type = c.weighted(MAP_TYPES.filter(([, t]) => b.caps !== 'unpriv' || !PRIVILEGED_MAPS.has(t)));
  const keySize = type.includes('ARRAY') ? 4 : c.pick([4, 8, 16]);
  const valueSize = c.pick([4, 8, 12, 16, 24, 32, 48, 64]);
  const frozenish = c.chance(0.08) ? 1 << 7 /* BPF_F_RDONLY_PROG */ : 0;
  const map: VerifierMap = {
    type,
    keySize,
    valueSize,
    maxEntries: c.pick([1, 4, 16, 256]),
    flags: frozenish,
  };
  return { index: b.map(map), map };
}

/** A key on the stack at r10-16…: initialised (or not quite), its pointer in r2. */
function stackKey(b: Builder, keySize: number): string[] {
  const { c } = b;
  const lines: string[] = [];
  const init = c.chance(b.slip * 0.6) ? c.pick([0, 4].filter((n) => n < keySize)) : keySize;
  for (let at = 0; at < init; at += 4) lines.push(`*(u32 *)(r10 - ${32 - at}) = ${c.int(0, 3)}`);
  lines.push('r2 = r10', 'r2 += -32');
  return lines;
}

/** Map lookup with (or without) a null check, then access the value around its end. */
const map: Fragment = (b) => {
  const { c } = b;
  const { index, map } = lookupMap(b);
  const skip = b.label('map');
  const lines = [...stackKey(b, map.keySize), `r1 = map[idx:${index}]`];
  if (c.chance(b.slip * 0.3)) lines.push(c.pick(['r2 = 0', 'r2 = r6', 'r1 = r6']));
  lines.push('call 1');
  const nullCheck = c.chance(b.slip)
    ? c.pick(['none', 'wrongway', 'nonzero'] as const)
    : c.pick(['good', 'good', 'copy'] as const);
  let ptr = 'r0';
  if (nullCheck === 'good') lines.push(`if r0 == 0 goto ${skip}`);
  else if (nullCheck === 'copy') {
    lines.push('r7 = r0', `if r0 == 0 goto ${skip}`);
    ptr = 'r7';
  } else if (nullCheck === 'wrongway') lines.push(`if r0 != 0 goto ${skip}`);
  else if (nullCheck === 'nonzero') lines.push(`if r0 == 1 goto ${skip}`);
  if (c.chance(0.12)) {
    // Direct value access (`lddw` MAP_IDX_VALUE): arrays only, the offset checked at load.
    const size = c.pick([1, 2, 4, 8].filter((s) => s <= map.valueSize));
    const off = c.chance(b.slip) ? map.valueSize - size + c.int(1, 8) : c.int(0, map.valueSize - size);
    return [`r1 = map[idx:${index}]+${off}`, `r0 = *(${sizeName(size)} *)(r1 + 0)`];
  }
  const op = c.weighted<'read' | 'write' | 'var' | 'update' | 'delete' | 'xadd' | 'const-loop'>([
    [6, 'read'],
    [3, 'write'],
    [4, 'var'],
    [2, 'update'],
    [1, 'delete'],
    [1, 'xadd'],
    [1, 'const-loop'],
  ]);
  const size = c.pick([1, 2, 4, 8].filter((s) => s <= map.valueSize));
  const inside = () => c.int(0, map.valueSize - size);
  const off = c.chance(b.slip) ? c.pick([map.valueSize - size + c.int(1, 4), -c.int(1, 8)]) : inside();
  switch (op) {
    case 'read':
      lines.push(`r1 = *(${sizeName(size)} *)(${ptr} ${signed(off)})`);
      break;
    case 'write':
      lines.push(`*(${sizeName(size)} *)(${ptr} ${signed(off)}) = ${c.int(0, 100)}`);
      break;
    case 'var': {
      // Bound an unknown index then add it: exercises umax and the value-size check.
      const fits = map.valueSize - size;
      const bound = c.chance(b.slip) ? fits + c.int(1, 3) : c.int(0, Math.max(0, fits));
      lines.push(`r8 = ${ptr}`, ...unknownScalar(b, 'r1'));
      const how = c.weighted<'jgt' | 'and' | 'none' | 'signed'>([
        [5, 'jgt'],
        [3, 'and'],
        [1, 'none'],
        [1, 'signed'],
      ]);
      if (how === 'jgt') lines.push(`if r1 > ${bound} goto ${skip}`);
      else if (how === 'and') lines.push(`r1 &= ${(1 << Math.floor(Math.log2(bound + 1))) - 1}`);
      else if (how === 'signed') lines.push(`if r1 s> ${bound} goto ${skip}`);
      lines.push('r8 += r1', `r1 = *(${sizeName(size)} *)(r8 + 0)`);
      break;
    }
    case 'update': {
      const vinit = c.chance(b.slip * 0.5) ? c.int(0, map.valueSize - 1) & ~3 : map.valueSize;
      for (let at = 0; at + 4 <= vinit; at += 4) lines.push(`*(u32 *)(r10 - ${64 - at}) = 0`);
      lines.push(...stackKey(b, map.keySize), `r1 = map[idx:${index}]`, 'r3 = r10', 'r3 += -64');
      lines.push(`r4 = ${c.pick([0, 0, 1, 2, 4])}`, 'call 2');
      break;
    }
    case 'delete':
      lines.push(...stackKey(b, map.keySize), `r1 = map[idx:${index}]`, 'call 3');
      break;
    case 'xadd':
      if (size >= 4)
        lines.push('r1 = 1', `lock *(${sizeName(size)} *)(${ptr} ${signed(off & ~(size - 1))}) += r1`);
      else lines.push(`r1 = *(u8 *)(${ptr} + 0)`);
      break;
    case 'const-loop': {
      // Walk the value 4 bytes at a time: a bounded loop over a map value.
      const top = b.label('walk');
      const n = Math.floor(map.valueSize / 4) + (c.chance(b.slip) ? 1 : 0);
      lines.push('r1 = 0', 'r2 = ' + ptr, `${top}:`, 'r3 = *(u32 *)(r2 + 0)', 'r2 += 4', 'r1 += 1');
      lines.push(`if r1 < ${n} goto ${top}`);
      break;
    }
  }
  lines.push(`${skip}:`);
  return lines;
};

/** Spills and fills: sizes, overlaps, uninitialised slots, pointers through the stack. */
const stack: Fragment = (b) => {
  const { c } = b;
  const lines: string[] = [];
  const kind = c.weighted<'scalar' | 'pointer' | 'partial' | 'uninit' | 'oob' | 'var' | 'fill32'>([
    [4, 'scalar'],
    [4, 'pointer'],
    [3, 'partial'],
    [2, 'uninit'],
    [1, 'oob'],
    [2, 'var'],
    [3, 'fill32'],
  ]);
  const slot = 8 * c.int(1, 8);
  switch (kind) {
    case 'scalar': {
      const w = c.pick(SIZES);
      const r = c.pick(SIZES);
      lines.push(`r1 = ${c.int(-5, 300)}`, `*(${w} *)(r10 - ${slot}) = r1`);
      const roff = slot - (c.chance(b.slip) ? c.pick([1, 2, 4]) : 0);
      lines.push(`r2 = *(${r} *)(r10 - ${roff})`);
      if (c.chance(0.5)) lines.push('r0 = r2');
      break;
    }
    case 'pointer': {
      // Spill the context pointer, fill it back whole (stays ctx) or in part (becomes scalar).
      const fill = c.chance(b.slip) ? c.pick(['u32', 'u16', 'u8']) : 'u64';
      const foff = c.chance(b.slip * 0.3) ? slot - 4 : slot;
      lines.push(`*(u64 *)(r10 - ${slot}) = r6`, `r1 = *(${fill} *)(r10 - ${foff})`);
      const [off, size] = c.pick(b.info.fields.slice(0, 3));
      lines.push(`r0 = *(${sizeName(size)} *)(r1 + ${off})`);
      break;
    }
    case 'partial': {
      const w = c.pick(['u8', 'u16', 'u32']);
      lines.push(`*(${w} *)(r10 - ${slot}) = ${c.int(0, 9)}`);
      lines.push(`r1 = *(${c.pick(SIZES)} *)(r10 - ${slot})`);
      break;
    }
    case 'uninit':
      lines.push(`r1 = *(${c.pick(SIZES)} *)(r10 - ${slot + 8 * c.int(0, 40)})`);
      if (c.chance(0.5)) lines.push('r0 = r1', 'r0 &= 1');
      break;
    case 'oob': {
      const off = c.pick([512, 516, 520, 504, 0, -8]);
      lines.push(`*(u64 *)(r10 ${signed(-off)}) = 1`);
      break;
    }
    case 'var': {
      // Variable-offset stack access: r1 in [0, bound], r2 = fp - 64 + r1.
      const initBytes = c.chance(b.slip) ? c.pick([16, 32]) : 64;
      for (let at = 0; at < initBytes; at += 8) lines.push(`*(u64 *)(r10 - ${64 - at}) = 0`);
      lines.push(...unknownScalar(b, 'r1'));
      lines.push(`r1 &= ${c.chance(b.slip * 0.5) ? 127 : c.pick([7, 15, 31, 56])}`);
      lines.push('r2 = r10', 'r2 += -64', 'r2 += r1');
      lines.push(c.chance(0.6) ? 'r0 = *(u8 *)(r2 + 0)' : '*(u8 *)(r2 + 0) = 1');
      break;
    }
    case 'fill32': {
      // A 32-bit fill of a spilled bounded scalar keeps (or loses) its bounds.
      const skip = b.label('fill');
      lines.push(...unknownScalar(b, 'r1'), `if r1 > ${c.int(1, 60)} goto ${skip}`);
      lines.push(`*(u64 *)(r10 - ${slot}) = r1`);
      const off = c.chance(b.slip) ? slot - 4 : slot;
      lines.push(`r2 = *(${c.pick(['u32', 'u64'])} *)(r10 - ${off})`);
      const { index, map } = lookupMap(b);
      lines.push('r7 = r2', ...stackKey(b, map.keySize), `r1 = map[idx:${index}]`, 'call 1');
      lines.push(`if r0 == 0 goto ${skip}`, 'r0 += r7', `r1 = *(u8 *)(r0 + 0)`, `${skip}:`);
      break;
    }
  }
  return lines;
};

/** Bound an unknown scalar through ALU ops and branches, then index a map value with it. */
const bounds: Fragment = (b) => {
  const { c } = b;
  const skip = b.label('bnd');
  const { index, map } = lookupMap(b);
  const lines = [...stackKey(b, map.keySize), `r1 = map[idx:${index}]`, 'call 1', `if r0 == 0 goto ${skip}`];
  lines.push('r7 = r0', 'r1 = *(u32 *)(r0 + 0)');
  const steps = c.int(0, 3);
  for (let i = 0; i < steps; i++) {
    const step = c.weighted<string>([
      [3, `r1 &= ${c.pick([0x3, 0x7, 0xf, 0x1f, 0xff, 0xfff0])}`],
      [2, `r1 >>= ${c.int(1, 28)}`],
      [2, `if r1 > ${c.int(0, 64)} goto ${skip}`],
      [1, `if r1 >= ${c.int(1, 64)} goto ${skip}`],
      [1, `if r1 s> ${c.int(0, 64)} goto ${skip}`],
      [1, `if r1 s< ${c.int(0, 4)} goto ${skip}`],
      [1, `r1 %= ${c.int(1, 64)}`],
      [1, `r1 += ${c.int(-8, 8)}`],
      [1, `r1 *= ${c.int(1, 4)}`],
      [1, `w1 = w1`],
      [1, `r1 <<= ${c.int(1, 3)}`],
      [1, `if w1 > ${c.int(0, 64)} goto ${skip}`],
      [1, `r1 -= ${c.int(0, 8)}`],
      [1, `r1 |= ${c.int(0, 3)}`],
      [1, `r1 ^= ${c.int(0, 3)}`],
      [1, `r1 s>>= ${c.int(0, 3)}`],
    ]);
    lines.push(step);
  }
  const size = c.pick([1, 2, 4, 8].filter((s) => s <= map.valueSize));
  const extra = c.chance(b.slip) ? c.int(1, 4) : 0;
  const limit = map.valueSize - size + (c.chance(b.slip) ? c.int(1, 3) : 0);
  if (!c.chance(b.slip))
    lines.push(
      c.chance(0.8) ? `if r1 > ${limit - extra} goto ${skip}` : `if r1 >= ${limit - extra + 1} goto ${skip}`,
    );
  lines.push('r7 += r1', `r0 = *(${sizeName(size)} *)(r7 + ${extra})`, `${skip}:`);
  return lines;
};

/** Pointer arithmetic on ctx, stack, map values and packets: allowed and forbidden operators. */
const ptr: Fragment = (b) => {
  const { c, info } = b;
  const lines: string[] = [];
  const base = c.weighted<'ctx' | 'stack' | 'mapval' | 'pkt'>([
    [3, 'ctx'],
    [3, 'stack'],
    [3, 'mapval'],
    [info.packet ? 2 : 0, 'pkt'],
  ]);
  const skip = b.label('ptr');
  const reg = 'r1';
  if (base === 'ctx') lines.push('r1 = r6');
  else if (base === 'stack')
    lines.push('*(u64 *)(r10 - 8) = 0', '*(u64 *)(r10 - 16) = 0', 'r1 = r10', 'r1 += -16');
  else if (base === 'mapval') {
    const { index, map } = lookupMap(b);
    lines.push(
      ...stackKey(b, map.keySize),
      `r1 = map[idx:${index}]`,
      'call 1',
      `if r0 == 0 goto ${skip}`,
      'r1 = r0',
    );
  } else {
    const pkt = info.packet!;
    lines.push(`r1 = *(u32 *)(r6 + ${pkt.data})`, `r3 = *(u32 *)(r6 + ${pkt.end})`, 'r2 = r1', 'r2 += 16');
    lines.push(`if r2 > r3 goto ${skip}`);
  }
  const good =
    base === 'ctx'
      ? ['r2 = r1\nr1 = r2', `${reg} += 0`]
      : [
          `${reg} += ${c.pick([0, 2, 4, 8])}`,
          `${reg} -= ${c.pick([0, -4, -8])}`,
          'r2 = 4\nr1 += r2',
          'r0 = 8\nr0 &= 4\nr1 += r0',
        ];
  const bad = [
    `${reg} += ${c.pick([2, 4, 8])}`,
    `${reg} *= 2`,
    `${reg} &= -8`,
    `${reg} |= 1`,
    `${reg} <<= 1`,
    `${reg} >>= 1`,
    'w1 += 4',
    `${reg} = -${reg}`,
    `${reg} ^= 1`,
    `${reg} /= 2`,
    'r2 = r1\nr1 -= r2',
    'r2 = r1\nr1 += r2',
    'r2 = r10\nr2 -= r1\nr1 = r2',
    'call 7\nr1 += r0',
  ];
  const op = c.chance(b.slip * 2) ? c.pick(bad) : c.pick(good);
  lines.push(...op.split('\n'));
  const use = c.weighted<'load' | 'store' | 'leak' | 'cmp' | 'nothing'>([
    [10, 'load'],
    [base === 'ctx' ? 0 : 3, 'store'],
    [b.caps === 'root' ? 1 : 2, 'leak'],
    [b.caps === 'root' ? 1 : 2, 'cmp'],
    [2, 'nothing'],
  ]);
  const loadSize = base === 'ctx' ? (info.ctx === 'skb' || info.ctx === 'xdp' ? 32 : 64) : c.pick([8, 32]);
  if (use === 'load') lines.push(`r0 = *(u${loadSize} *)(${reg} + 0)`);
  else if (use === 'store') lines.push(`*(u32 *)(${reg} + 0) = 1`);
  else if (use === 'leak') {
    // Return the pointer on one path: a leak for bpf and unpriv (and out of range for cgroup).
    const stay = b.label('leak');
    lines.push('r9 = r1', 'call 7', `if r0 > 5 goto ${stay}`, 'r0 = r9', 'exit', `${stay}:`);
  } else if (use === 'cmp') lines.push(`if r1 == r10 goto ${skip}`, 'r0 = 0');
  lines.push(`${skip}:`);
  return lines;
};

/** Context fields: offsets on and around fields, sizes, narrow loads and writes. */
const ctx: Fragment = (b) => {
  const { c, info } = b;
  // The first SAFE_FIELDS fields are readable in every type of the kind; the rest are edges.
  const edge = c.chance(b.slip * 2);
  const [field, fsize] = edge ? c.pick(info.fields) : c.pick(info.fields.slice(0, SAFE_FIELDS));
  const off = field + (c.chance(b.slip * 0.5) ? c.pick([1, 2, 4, -1, -2]) : 0);
  const size = c.chance(b.slip * 0.5) ? c.pick([1, 2, 4, 8]) : c.chance(0.2) ? c.pick([1, 2]) : fsize;
  if (c.chance(b.slip + (info.ctx === 'skb' ? 0.15 : 0))) {
    // skb: mark, priority, cb[0] and tc_index are writable (in some types); everything else is not.
    const woff = info.ctx === 'skb' && c.chance(0.7) ? c.pick([8, 32, 48, 44]) : off;
    return c.chance(0.5)
      ? [`*(u32 *)(r6 ${signed(woff)}) = ${c.int(0, 7)}`]
      : ['r1 = 3', `*(${sizeName(size)} *)(r6 ${signed(woff)}) = r1`];
  }
  const lines = [`r7 = *(${sizeName(size)} *)(r6 ${signed(off)})`];
  if (c.chance(0.3)) lines.push('r0 = r7', 'r0 &= 1');
  return lines;
};

const SAFE_FIELDS = 3;

/** Loops: bounded by a constant, by a masked scalar, or not at all. */
const loop: Fragment = (b) => {
  const { c } = b;
  const top = b.label('loop');
  // Unbounded loops run into the 1,000,000-instruction limit: a few keep that tested.
  const kind = c.weighted<'const' | 'masked' | 'unbounded' | 'infinite' | 'down'>([
    [15, 'const'],
    [9, 'masked'],
    [1, 'unbounded'],
    [3, 'infinite'],
    [6, 'down'],
  ]);
  const lines: string[] = [];
  switch (kind) {
    case 'const': {
      const n = c.pick([2, 4, 10, 50, 200, 3000]);
      // Without CAP_PERFMON an accumulator makes every iteration a new state (no convergence).
      const sum = c.chance(b.caps === 'root' ? 0.5 : 0.15) ? ['r2 += r1'] : [];
      lines.push(
        'r1 = 0',
        'r2 = 0',
        `${top}:`,
        ...sum,
        `r1 += ${c.pick([1, 1, 2])}`,
        `if r1 < ${n} goto ${top}`,
      );
      break;
    }
    case 'masked': {
      lines.push(...unknownScalar(b, 'r7'), `r7 &= ${c.pick([7, 15, 63, 0xffff])}`, 'r1 = 0', `${top}:`);
      lines.push('r1 += 1', `if r1 ${c.pick(['<', '<=', '!='])} r7 goto ${top}`);
      break;
    }
    case 'unbounded':
      lines.push(...unknownScalar(b, 'r7'), 'r1 = 0', `${top}:`, 'r1 += 1', `if r1 < r7 goto ${top}`);
      break;
    case 'infinite':
      lines.push(
        'r1 = 0',
        `${top}:`,
        `r1 ${c.pick(['+= 0', '&= 1', '= 5'])}`,
        `if r1 ${c.pick(['!=', '<'])} 10 goto ${top}`,
      );
      break;
    case 'down':
      lines.push(
        `r1 = ${c.pick([3, 16, 100])}`,
        `${top}:`,
        `r1 -= ${c.pick([1, 2, 3])}`,
        `if r1 ${c.pick(['!=', 's>', '>'])} 0 goto ${top}`,
      );
      break;
  }
  return lines;
};

/** bpf-to-bpf calls: arguments, return values, stack depth across frames. */
const call: Fragment = (b) => {
  const { c } = b;
  const fn = b.label('fn');
  const kind = c.weighted<'stackarg' | 'ctxarg' | 'noret' | 'deep' | 'callee_saved' | 'scalar'>([
    [3, 'stackarg'],
    [3, 'ctxarg'],
    [1, 'noret'],
    [2, 'deep'],
    [1, 'callee_saved'],
    [2, 'scalar'],
  ]);
  const lines: string[] = [];
  switch (kind) {
    case 'stackarg': {
      const n = c.pick([8, 16]);
      const initd = c.chance(b.slip) ? 0 : n;
      for (let at = 0; at < initd; at += 8) lines.push(`*(u64 *)(r10 - ${n - at}) = 1`);
      lines.push('r1 = r10', `r1 += -${n}`, `call ${fn}`);
      const roff = c.chance(b.slip * 0.5) ? n : c.pick([0, n - 8]);
      b.sub([`${fn}:`, `r0 = *(u64 *)(r1 + ${roff})`, '*(u64 *)(r1 + 0) = 2', 'exit']);
      break;
    }
    case 'ctxarg': {
      const [off, size] = c.pick(b.info.fields.slice(0, 4));
      lines.push(c.chance(b.slip * 0.5) ? 'r1 = 0' : 'r1 = r6', `call ${fn}`);
      b.sub([`${fn}:`, `r0 = *(${sizeName(size)} *)(r1 + ${off})`, 'r0 &= 1', 'exit']);
      break;
    }
    case 'noret':
      lines.push('r1 = 1', `call ${fn}`, 'r7 = r0');
      b.sub([`${fn}:`, c.chance(0.5) ? 'r1 += 1' : 'r0 = r1', 'exit']);
      break;
    case 'deep': {
      // A chain of frames, each with its own stack: depth and combined stack size limits.
      const depth = c.int(2, 9);
      const frame = c.pick([64, 128, 256, 504]);
      const names = Array.from({ length: depth }, (_, i) => (i === 0 ? fn : b.label(`fn${i}`)));
      lines.push('r1 = 1', `call ${names[0]}`);
      for (let i = 0; i < depth; i++) {
        const body = [`${names[i]}:`, `*(u64 *)(r10 - ${frame}) = r1`];
        if (i + 1 < depth) body.push(`call ${names[i + 1]}`);
        else body.push('r0 = 0');
        body.push('exit');
        b.sub(body);
      }
      break;
    }
    case 'callee_saved':
      // r6–r9 survive a call; r1–r5 do not.
      lines.push('r7 = 5', `call ${fn}`, c.chance(b.slip) ? 'r0 = r1' : 'r0 = r7');
      b.sub([`${fn}:`, 'r0 = 0', 'exit']);
      break;
    case 'scalar': {
      const skip = b.label('ret');
      const max = c.int(1, 40);
      lines.push(...unknownScalar(b, 'r1'), `call ${fn}`, 'r7 = r0');
      b.sub([`${fn}:`, 'r0 = r1', `r0 &= ${max}`, 'exit']);
      const { index, map } = lookupMap(b);
      lines.push(...stackKey(b, map.keySize), `r1 = map[idx:${index}]`, 'call 1', `if r0 == 0 goto ${skip}`);
      lines.push('r0 += r7', 'r1 = *(u8 *)(r0 + 0)', `${skip}:`);
      break;
    }
  }
  return lines;
};

/** Helpers: argument types and sizes right and wrong, and helpers a type may not call. */
const helper: Fragment = (b) => {
  const { c } = b;
  const lines: string[] = [];
  type Which = 'comm' | 'probe_read' | 'skb_load' | 'printk' | 'perf_output' | 'get_stack' | 'csum' | 'misc';
  const tracing: Which[] = ['comm', 'probe_read', 'printk', 'get_stack', 'perf_output', 'misc'];
  const mine: Which[] =
    b.info.ctx === 'skb'
      ? ['skb_load', 'skb_load', 'csum', 'misc', 'perf_output']
      : b.info.ctx === 'xdp'
        ? ['csum', 'misc', 'printk']
        : tracing;
  const which = c.chance(b.slip) ? c.pick([...tracing, 'skb_load' as const]) : c.pick(mine);
  const size = c.chance(b.slip) ? c.pick([0, -1, 600, 17]) : c.pick([8, 16]);
  const buf = () => (c.chance(b.slip * 0.4) ? c.pick(['r1 = r6', 'r1 = 0']) : 'r1 = r10\nr1 += -16');
  switch (which) {
    case 'comm':
      lines.push(...buf().split('\n'), `r2 = ${size}`, 'call 16');
      break;
    case 'probe_read':
      lines.push(...buf().split('\n'), `r2 = ${size}`, 'r3 = 0', `call ${c.pick([113, 4, 115])}`);
      break;
    case 'skb_load':
      lines.push('r1 = r6', `r2 = ${c.int(0, 20)}`, 'r3 = r10', 'r3 += -16', `r4 = ${size}`, 'call 26');
      break;
    case 'printk': {
      const init = !c.chance(b.slip);
      if (init) lines.push('r1 = 0x0a6925 ll', '*(u64 *)(r10 - 8) = r1');
      lines.push('r1 = r10', 'r1 += -8', `r2 = ${c.pick([8, 8, 4, 9])}`, 'r3 = 1', 'call 6');
      break;
    }
    case 'perf_output': {
      const idx = b.map({ type: 'PERF_EVENT_ARRAY', keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 });
      lines.push('*(u64 *)(r10 - 8) = 0', '*(u64 *)(r10 - 16) = 0', 'r1 = r6', `r2 = map[idx:${idx}]`);
      lines.push('r3 = 0xffffffff ll', 'r4 = r10', 'r4 += -16', `r5 = ${size}`, 'call 25');
      break;
    }
    case 'get_stack':
      lines.push(
        'r1 = r6',
        'r2 = r10',
        'r2 += -64',
        `r3 = ${c.chance(b.slip) ? 72 : 64}`,
        'r4 = 0',
        'call 67',
      );
      break;
    case 'csum':
      lines.push(
        '*(u64 *)(r10 - 8) = 0',
        'r1 = r10',
        'r1 += -8',
        `r2 = ${c.pick([4, 8, 12])}`,
        'r3 = 0',
        'r4 = 0',
        'r5 = 0',
        'call 28',
      );
      break;
    case 'misc':
      lines.push(`call ${c.pick([5, 7, 8, 14, 35, 118, 46, 98, 125])}`);
      if (c.chance(0.3)) lines.push('r1 = r0', 'r0 = r1');
      break;
  }
  // Sometimes use a clobbered argument register after the call.
  if (c.chance(b.slip * 0.3)) lines.push('r0 = r2');
  return lines;
};

/** Ring buffer reservations: null checks, bounds, submit/discard on every path, leaks. */
const ringbuf: Fragment = (b) => {
  const { c } = b;
  const idx = b.map({
    type: 'RINGBUF',
    keySize: 0,
    valueSize: 0,
    maxEntries: 4096 * c.pick([1, 4]),
    flags: 0,
  });
  const skip = b.label('rb');
  const size = c.pick([8, 16, 64]);
  const lines: string[] = [];
  if (c.chance(0.15)) {
    lines.push(
      '*(u64 *)(r10 - 8) = 0',
      `r1 = map[idx:${idx}]`,
      'r2 = r10',
      'r2 += -8',
      `r3 = ${c.pick([8, 16])}`,
      'r4 = 0',
      'call 130',
    );
    return lines;
  }
  lines.push(`r1 = map[idx:${idx}]`);
  if (c.chance(b.slip * 0.3)) lines.push(...unknownScalar(b, 'r2'), 'r1 = map[idx:' + idx + ']');
  else lines.push(`r2 = ${size}`);
  lines.push('r3 = 0', 'call 131');
  const checked = !c.chance(b.slip * 0.6);
  if (checked) lines.push(`if r0 == 0 goto ${skip}`);
  lines.push('r7 = r0');
  const off = c.chance(b.slip * 0.6) ? size - c.pick([0, 4]) : c.int(0, size / 8 - 1) * 8;
  lines.push(`*(u${c.chance(0.5) ? 64 : 32} *)(r7 + ${off}) = 1`);
  const end = c.chance(b.slip)
    ? c.pick(['leak', 'branch', 'double', 'afteruse'] as const)
    : c.pick(['submit', 'submit', 'discard', 'branch2'] as const);
  const release = () => [`r1 = r7`, 'r2 = 0', `call ${c.pick([132, 133])}`];
  if (end === 'submit' || end === 'discard')
    lines.push('r1 = r7', 'r2 = 0', `call ${end === 'submit' ? 132 : 133}`);
  else if (end === 'branch') {
    const other = b.label('rb2');
    lines.push(...unknownScalar(b, 'r8'), `if r8 > 5 goto ${other}`, ...release(), `${other}:`);
  } else if (end === 'branch2') {
    const other = b.label('rb2');
    const done = b.label('rb3');
    lines.push(
      ...unknownScalar(b, 'r8'),
      `if r8 > 5 goto ${other}`,
      ...release(),
      `goto ${done}`,
      `${other}:`,
    );
    lines.push(...release(), `${done}:`);
  } else if (end === 'double') lines.push(...release(), ...release());
  else if (end === 'afteruse') lines.push(...release(), 'r0 = *(u64 *)(r7 + 0)');
  lines.push(`${skip}:`);
  return lines;
};

/** Random ALU on scalars, including division by a register and shifts. */
const alu: Fragment = (b) => {
  const { c } = b;
  const lines = [...unknownScalar(b, 'r7'), `r8 = ${c.int(-100, 100)}`];
  const n = c.int(2, 6);
  for (let i = 0; i < n; i++) {
    const r = c.pick(['r7', 'r8', 'w7', 'w8']);
    const other = r.startsWith('w') ? c.pick(['w7', 'w8']) : c.pick(['r7', 'r8']);
    const imm = c.pick([0, 1, 3, -1, 63, 64, 31, 32, 7]);
    lines.push(
      c.weighted<string>([
        [3, `${r} += ${c.int(-50, 50)}`],
        [2, `${r} /= ${other}`],
        [2, `${r} %= ${other}`],
        [1, `${r} /= ${imm}`],
        [1, `${r} <<= ${imm}`],
        [1, `${r} >>= ${imm}`],
        [1, `${r} s>>= ${imm}`],
        [1, `${r} *= ${other}`],
        [1, `${r} = -${r}`],
        [1, `${r} <<= ${other}`],
        [1, `${r} = ${other}`],
        [1, `r7 = (s${c.pick([8, 16, 32])})r8`],
        [1, `${r.replace('w', 'r')} = be${c.pick([16, 32, 64])} ${r.replace('w', 'r')}`],
        [1, `${r} s/= ${other}`],
      ]),
    );
  }
  if (c.chance(0.3)) lines.push('r0 = r7', 'r0 &= 1');
  if (c.chance(b.slip * 0.3)) lines.push('r0 = r9');
  return lines;
};

/** 32-bit subregisters: zero extension, jmp32 bounds, movs between halves. */
const subreg: Fragment = (b) => {
  const { c } = b;
  const skip = b.label('w');
  const { index, map } = lookupMap(b);
  const lines = [
    ...stackKey(b, map.keySize),
    `r1 = map[idx:${index}]`,
    'call 1',
    `if r0 == 0 goto ${skip}`,
    'r7 = r0',
  ];
  lines.push(c.chance(b.slip) && map.valueSize >= 8 ? 'r1 = *(u64 *)(r0 + 0)' : 'r1 = *(u32 *)(r0 + 0)');
  const limit = map.valueSize - 1 + (c.chance(b.slip) ? c.int(1, 4) : 0);
  const good = [
    `if w1 > ${limit} goto ${skip}`,
    `w1 &= ${limit}`,
    `if w1 > ${limit} goto ${skip}\nw1 = w1`,
    `w1 = w1\nif r1 > ${limit} goto ${skip}`,
    `r1 <<= 32\nr1 >>= 32\nif r1 > ${limit} goto ${skip}`,
    `if w1 > ${limit} goto ${skip}\nr1 = (s32)r1`,
    `w1 += ${c.int(0, 3)}\nif w1 > ${limit} goto ${skip}`,
    `w1 = ${limit}`,
    `if w1 >= ${limit + 1} goto ${skip}`,
  ];
  const bad = [
    `if w1 s> ${limit} goto ${skip}`,
    `r1 <<= 32\nr1 s>>= 32\nif r1 > ${limit} goto ${skip}`,
    `if w1 > ${limit} goto ${skip}\nw1 += 1`,
    `if r1 s> ${limit} goto ${skip}`,
  ];
  const trick = c.chance(b.slip) ? c.pick(bad) : c.pick(good);
  lines.push(...trick.split('\n'), 'r7 += r1', 'r0 = *(u8 *)(r7 + 0)', `${skip}:`);
  return lines;
};

/** Atomic operations on the stack, map values and the context. */
const atomic: Fragment = (b) => {
  const { c } = b;
  const where = c.weighted<'stack' | 'ctx' | 'uninit'>([
    [5, 'stack'],
    [1, 'ctx'],
    [1, 'uninit'],
  ]);
  const w = c.pick(['u32', 'u64']);
  const lines: string[] = [];
  if (where !== 'uninit') lines.push('*(u64 *)(r10 - 8) = 0');
  const base = where === 'ctx' ? 'r6' : 'r10';
  const off = where === 'ctx' ? 0 : c.chance(b.slip * 0.3) ? -6 : -8;
  const reg = w === 'u32' ? 'w1' : 'r1';
  lines.push('r1 = 1');
  lines.push(
    c.pick([
      `lock *(${w} *)(${base} ${signed(off)}) += r1`,
      `${reg} = atomic_fetch_add((${w} *)(${base} ${signed(off)}), ${reg})`,
      `lock *(${w} *)(${base} ${signed(off)}) |= r1`,
      `${reg} = xchg${w === 'u32' ? '32_32' : '_64'}(${base} ${signed(off)}, ${reg})`,
    ]),
  );
  if (c.chance(0.3)) lines.push(`r0 = *(u64 *)(r10 - 8)`, 'r0 &= 1');
  return lines;
};

/** Tail calls through a program array (or a map of the wrong type). */
const tailcall: Fragment = (b) => {
  const { c } = b;
  const wrongMap = c.chance(b.slip * 0.4);
  const idx = b.map(
    wrongMap
      ? { type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }
      : { type: 'PROG_ARRAY', keySize: 4, valueSize: 4, maxEntries: c.pick([1, 4, 8]), flags: 0 },
  );
  const lines = [c.chance(b.slip * 0.4) ? 'r1 = r10' : 'r1 = r6', `r2 = map[idx:${idx}]`];
  lines.push(c.chance(0.7) ? `r3 = ${c.int(0, 9)}` : 'call 7\nr3 = r0\nr1 = r6\nr2 = map[idx:' + idx + ']');
  lines.push('call 12');
  return lines.flatMap((l) => l.split('\n'));
};

/** Socket references (`bpf_sk_lookup_tcp/udp` → `bpf_sk_release`): null checks, leaks, reuse. */
const socket: Fragment = (b) => {
  const { c } = b;
  const skip = b.label('sk');
  // struct bpf_sock_tuple for IPv4 is 12 bytes; 36 for IPv6.
  const tuple = c.chance(b.slip) ? c.pick([8, 13, 40]) : c.pick([12, 12, 36]);
  const lines: string[] = [];
  for (let at = 0; at < 40; at += 8) lines.push(`*(u64 *)(r10 - ${40 - at}) = 0`);
  lines.push('r1 = r6', 'r2 = r10', 'r2 += -40', `r3 = ${tuple}`, `r4 = ${c.pick([0, -1])}`, 'r5 = 0');
  lines.push(`call ${c.pick([84, 85])}`);
  const checked = !c.chance(b.slip);
  if (checked) lines.push(`if r0 == 0 goto ${skip}`);
  lines.push('r7 = r0');
  if (c.chance(0.5)) lines.push(`r1 = *(u32 *)(r7 + ${c.chance(b.slip * 0.5) ? 200 : c.pick([4, 8, 12])})`);
  const end = c.chance(b.slip) ? c.pick(['leak', 'double', 'afteruse'] as const) : 'release';
  if (end !== 'leak') lines.push('r1 = r7', 'call 86');
  if (end === 'double') lines.push('r1 = r7', 'call 86');
  if (end === 'afteruse') lines.push('r0 = *(u32 *)(r7 + 4)');
  lines.push(`${skip}:`);
  return lines;
};

/**
 * Branch diamonds over unknown scalars: many paths that state pruning must merge. Whether a
 * register written in a diamond is read later (and so must be precise) decides how much the
 * verifier can prune, which is what `insns_processed` measures.
 */
const diamonds: Fragment = (b) => {
  const { c } = b;
  const n = c.int(3, 12);
  const lines = [...unknownScalar(b, 'r8'), 'r7 = 0', 'r9 = 0'];
  for (let i = 0; i < n; i++) {
    const join = b.label('d');
    lines.push(`if r8 ${c.pick(['>', '<', '&', '==', 's>'])} ${c.int(0, 255)} goto ${join}`);
    lines.push(c.pick(['r7 += 1', 'r9 += 2', `r8 >>= ${c.int(1, 3)}`, 'r7 |= 4']));
    lines.push(`${join}:`);
  }
  // Two draws in this order (the recorded corpus depends on it).
  const tail = c.chance(0.5) ? 'index' : c.chance(0.5) ? 'return' : 'none';
  if (tail === 'index') {
    // Use the sum as an index: only in range if the verifier kept its bounds on every path.
    const skip = b.label('dm');
    const { index, map } = lookupMap(b);
    lines.push(...stackKey(b, map.keySize), `r1 = map[idx:${index}]`, 'call 1', `if r0 == 0 goto ${skip}`);
    const limit = map.valueSize - 1;
    if (!c.chance(b.slip * 2)) lines.push(`if r7 > ${limit} goto ${skip}`);
    lines.push('r0 += r7', 'r1 = *(u8 *)(r0 + 0)', `${skip}:`);
  } else if (tail === 'return') lines.push('r0 = r9', 'r0 &= 1');
  return lines;
};

/** Tracing reads: probe_read of a context pointer, current task. */
const probe: Fragment = (b) => {
  const { c } = b;
  const lines = [
    'r1 = r10',
    'r1 += -16',
    `r2 = ${c.chance(b.slip) ? 24 : 16}`,
    `r3 = *(u64 *)(r6 + ${c.pick([0, 8])})`,
    'call 113',
  ];
  if (c.chance(0.5)) lines.push('r0 = *(u64 *)(r10 - 16)', 'r0 &= 1');
  else if (c.chance(0.3)) lines.push('call 35', 'r0 = *(u64 *)(r0 + 0)');
  return lines;
};

const FRAGMENTS: Readonly<Record<Category, Fragment>> = {
  packet,
  adjust,
  ldabs,
  map,
  stack,
  bounds,
  ptr,
  ctx,
  loop,
  call,
  helper,
  ringbuf,
  alu,
  subreg,
  atomic,
  tailcall,
  probe,
  socket,
  diamonds,
};

// ---------------------------------------------------------------------------------------------
// Whole programs.

/** Build one program from fast-check's choices. */
function buildProgram(g: fc.GeneratorValue, caps: Caps): GeneratedProgram {
  const c = chooser(g);
  const type = c.weighted(TYPE_WEIGHTS[caps]);
  const info = TYPES[type]!;
  const maps: VerifierMap[] = [];
  const subs: string[][] = [];
  let labels = 0;
  const count = c.weighted([
    [10, 1],
    [8, 2],
    [3, 3],
    [1, 4],
  ]);
  const builder: Builder = {
    c,
    type,
    info,
    caps,
    // Fewer fragments, more slips per fragment: the whole program near 50 % accepted.
    slip:
      (count === 1 ? 0.14 : count === 2 ? 0.09 : 0.07) *
      (caps === 'root' ? 1.5 : caps === 'bpf' ? 0.65 : 0.6),
    label: (hint) => `${hint}_${labels++}`,
    map(m) {
      maps.push(m);
      return maps.length - 1;
    },
    sub: (lines) => {
      subs.push([...lines]);
    },
  };
  const categories: Category[] = [];
  const body: string[] = ['r6 = r1'];
  for (let i = 0; i < count; i++) {
    const scale = CATEGORY_SCALE[caps];
    const category = c.weighted(
      info.categories
        .map(([w, cat]) => [Math.round(w * 10 * (scale[cat] ?? 1)), cat] as const)
        .filter(([w]) => w > 0),
    );
    categories.push(category);
    body.push(...FRAGMENTS[category](builder));
  }
  const ret =
    c.chance(builder.slip * 0.25) && info.badReturns.length
      ? c.pick(info.badReturns)
      : c.pick(info.goodReturns);
  const epilogue = c.weighted<string[]>([
    [20, [`r0 = ${ret}`, 'exit']],
    [1, ['exit']],
    [1, ['r0 = r6', 'exit']],
    [1, [`w0 = ${ret}`, 'exit']],
  ]);
  if (epilogue[0] === 'exit' && !categories.length) body.push('r0 = 0');
  const asm = [...body, ...epilogue, ...subs.flat()].join('\n');
  const flags = c.weighted([
    [30, 0],
    [2, 1 /* BPF_F_STRICT_ALIGNMENT */],
    [1, 2 /* BPF_F_ANY_ALIGNMENT */],
    [1, 8 /* BPF_F_TEST_STATE_FREQ */],
  ]);
  return { type, insns: assemble(asm), maps, flags, category: categories.join('+'), asm };
}

/** An arbitrary program for capability mode `caps`. */
export function programArbitrary(caps: Caps): fc.Arbitrary<GeneratedProgram> {
  return fc.gen().map((g) => buildProgram(g, caps));
}

/** The seeds `testdata/verifier/random-<caps>.jsonl` were generated from. */
export const CORPUS_SEEDS: Readonly<Record<Caps, number>> = { root: 0x7b9f, bpf: 0x2c41, unpriv: 0x51d3 };

/** `count` corpus cases for `caps`, reproducible from `seed`. */
export function generateCases(options: { caps: Caps; count: number; seed: number }): CorpusCase[] {
  const programs = fc.sample(programArbitrary(options.caps), { seed: options.seed, numRuns: options.count });
  return programs.map((p, i) =>
    makeCase({
      name: `rnd-${options.caps}-${options.seed}-${i} ${p.type.toLowerCase()} ${p.category}`,
      type: p.type,
      insns: p.insns,
      maps: p.maps,
      flags: p.flags,
      caps: options.caps,
      category: p.category,
      asm: p.asm,
    }),
  );
}
