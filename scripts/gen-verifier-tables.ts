/**
 * Generates the verifier's live-measured tables from the running kernel (root only):
 *
 * - `src/verifier/tables/helper-availability.ts`: per program type (and expected attach type) and
 *   per capability mode (`root`, `bpf` = CAP_BPF + CAP_NET_ADMIN, `unpriv` = none), which helper
 *   ids the verifier lets the program call, plus which helpers are GPL-only. Each helper is probed
 *   with `call id; exit` ({@link probeHelper}'s rule: "unknown func", "invalid func" or "program of
 *   this type cannot use helper" mean no; any other verdict means yes). The `bpf` and `unpriv`
 *   modes run in a child process started with `setpriv` (capabilities dropped, `noroot`
 *   securebits so uid 0 does not regain them); `unpriv` needs `kernel.unprivileged_bpf_disabled=0`,
 *   which this script sets for the probe and restores afterwards.
 * - `src/verifier/tables/context-access.ts`: per program type, for every byte offset below
 *   {@link MAX_OFF} and access size 1/2/4/8, whether `r2 = *(uN *)(r1 + off)` and
 *   `*(uN *)(r1 + off) = r2` verify, the register type a read gives (from the level-2 log:
 *   `R2=pkt(r=0)`), and the kernel's message for the rejected ones.
 * - `src/verifier/tables/return-ranges.ts`: per program type, which constant exit values verify,
 *   and the range the kernel's `At program exit the register R0 has … should have been in [a, b]`
 *   names.
 *
 * Usage (root): `node --import tsx scripts/gen-verifier-tables.ts [--only helpers,context,returns]`.
 * Internal: `--worker helpers` prints one mode's JSON on stdout (the parent runs it under setpriv).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELPER_NAMES } from '../src/isa/helper-ids.js';
import { createMap, type KernelMapOps } from '../src/kernel/load/map.js';
import { cString } from '../src/kernel/sys/attr.js';
import { bpfTry } from '../src/kernel/sys/objects.js';
import { getSys } from '../src/kernel/sys/syscall.js';
import { type Btf, parseBtf } from '../src/object/btf.js';
import { SECTION_DEFS } from '../src/object/sections.js';
import {
  AttachType,
  type AttachTypeName,
  type MapTypeName,
  ProgType,
  type ProgTypeName,
} from '../src/uapi.js';
import { CONTEXT_MEASURED } from '../src/verifier/tables/context-access.js';
import {
  FUNC_MAP_COMPAT,
  HELPERS,
  type HelperArg,
  type HelperProto,
  helperProto,
} from '../src/verifier/tables/helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tablesDir = join(root, 'src/verifier/tables');
const sys = getSys();

/** Context offsets probed: every context struct Linux has is smaller (tracepoints aside). */
const MAX_OFF = 320;

/** What is probed: a program type, with the expected attach type its load needs or changes. */
export interface Target {
  readonly progType: ProgTypeName;
  readonly attachType?: AttachTypeName;
}

export const keyOf = (t: Target): string => (t.attachType ? `${t.progType}/${t.attachType}` : t.progType);

/**
 * Every (type, attach type) pair libbpf's section table names, minus those that need a BTF attach
 * target (fentry, LSM, iterators, struct_ops, freplace: the kernel checks the target before the
 * verifier runs, so a probe without one learns nothing), plus each type without attach type.
 */
function targets(): Target[] {
  const seen = new Map<string, Target>();
  const add = (t: Target): void => {
    if (!seen.has(keyOf(t))) seen.set(keyOf(t), t);
  };
  for (const def of SECTION_DEFS) {
    if (def.btfTarget || def.progType === 'STRUCT_OPS' || def.progType === 'EXT') continue;
    add({ progType: def.progType });
    if (def.attachType) add({ progType: def.progType, attachType: def.attachType });
  }
  return [...seen.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
}

/** One instruction's 8 bytes. */
export function insn(opcode: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = opcode;
  b[1] = ((src & 0xf) << 4) | (dst & 0xf);
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return [...b];
}

const logBuf = new Uint8Array(new ArrayBuffer(1 << 16));
const decoder = new TextDecoder();

interface LoadResult {
  readonly ok: boolean;
  readonly errno?: string;
  readonly log: string;
}

export function load(t: Target, rows: number[][], logLevel: 0 | 1 | 2, license = 'GPL'): LoadResult {
  const insns = new Uint8Array(rows.flat());
  logBuf[0] = 0;
  const call = bpfTry(sys, 'PROG_LOAD', {
    prog_type: ProgType[t.progType],
    insn_cnt: rows.length,
    insns,
    license: cString(license),
    log_level: logLevel,
    log_size: logLevel ? logBuf.length : 0,
    log_buf: logLevel ? logBuf : null,
    expected_attach_type: t.attachType ? AttachType[t.attachType] : 0,
    prog_flags: t.progType === 'SYSCALL' ? 1 << 4 : 0,
  });
  const end = logBuf.indexOf(0);
  const log = logLevel ? decoder.decode(logBuf.subarray(0, end < 0 ? logBuf.length : end)) : '';
  if (!call.error) {
    sys.close(call.result);
    return { ok: true, log };
  }
  const errno = ['EPERM', 'EACCES', 'EINVAL', 'E2BIG', 'ENOTSUPP', 'EOPNOTSUPP', 'ENOSPC'].find((e) =>
    call.error.is(e as 'EPERM'),
  );
  return { ok: false, errno: errno ?? call.error.message, log };
}

/** The verifier's first complaint: the last log line that is not the statistics line. */
export function firstError(log: string): string {
  const lines = log
    .split('\n')
    .filter((l) => l && !l.startsWith('processed ') && !l.startsWith('verification time'));
  return lines.at(-1) ?? '';
}

const EXIT = insn(0x95, 0, 0, 0, 0);
const movR0 = (k: number): number[] => insn(0xb7, 0, 0, 0, k);

/** A return value each target accepts (found by the returns probe, 0 by default). */
const okReturn = new Map<string, number>();

// ---------------------------------------------------------------- helpers

const HELPER_REFUSED = ['unknown func ', 'invalid func ', 'program of this type cannot use helper '];

/**
 * Refusals after the prototype lookup, whatever the arguments: the helper exists for the type,
 * but not for this program (`allowed()` callbacks, `bpf_get_func_ip` outside kprobes and
 * tracing, sleeping helpers in non-sleepable programs).
 */
const HELPER_REFUSED_LATER = [
  /not supported for program type/,
  /helper call is not allowed in probe/,
  /might sleep in a non-sleepable prog/,
];

/** target key → helper id → the kernel's message, for helpers refused after the lookup (root). */
const refusedLater: Record<string, Record<number, string>> = {};

/** Whether the verifier lets a program of `t` call helper `id` (the probe's rule). */
export function helperVerdict(t: Target, id: number): boolean {
  const r = load(t, [insn(0x85, 0, 0, 0, id), EXIT], 1);
  if (!r.ok && !r.log) throw new Error(`helper ${id} for ${keyOf(t)}: ${r.errno} without a log`);
  const later = firstError(r.log);
  if (HELPER_REFUSED_LATER.some((re) => re.test(later))) {
    refusedLater[keyOf(t)] ??= {};
    refusedLater[keyOf(t)]![id] = later;
  }
  return !HELPER_REFUSED.some((m) => r.log.includes(m));
}

/** One capability mode's availability: target key → helper ids, or null (type not loadable). */
function probeHelpers(): Record<string, number[] | null> {
  const out: Record<string, number[] | null> = {};
  for (const t of targets()) {
    const base = load(t, [movR0(0), EXIT], 1);
    if (!base.ok && !base.log) {
      out[keyOf(t)] = null;
      continue;
    }
    const ids: number[] = [];
    for (let id = 1; id < HELPER_NAMES.length; id++) if (helperVerdict(t, id)) ids.push(id);
    out[keyOf(t)] = ids;
  }
  return out;
}

/** Helpers the verifier refuses to a non-GPL program ("cannot call GPL-restricted function"). */
function probeGplOnly(rootAvail: Record<string, number[] | null>): number[] {
  const gpl: number[] = [];
  for (let id = 1; id < HELPER_NAMES.length; id++) {
    const key = Object.keys(rootAvail).find((k) => rootAvail[k]?.includes(id));
    if (!key) continue;
    const [progType, attachType] = key.split('/') as [ProgTypeName, AttachTypeName | undefined];
    const r = load(
      { progType, ...(attachType ? { attachType } : {}) },
      [insn(0x85, 0, 0, 0, id), EXIT],
      1,
      'MIT',
    );
    if (r.log.includes('GPL-restricted')) gpl.push(id);
  }
  return gpl;
}

const CAP_ARGS: Record<'bpf' | 'unpriv', string[]> = {
  bpf: [
    '--inh-caps=-all,+bpf,+net_admin',
    '--ambient-caps=-all,+bpf,+net_admin',
    '--bounding-set=-all,+bpf,+net_admin',
  ],
  unpriv: ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all'],
};

function runWorker(mode: 'bpf' | 'unpriv', job = 'helpers'): Record<string, number[] | null> {
  return runWorkerJob(mode, job) as Record<string, number[] | null>;
}

function runWorkerJob(mode: 'bpf' | 'unpriv', job: string): unknown {
  const args = [
    '--securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked',
    ...CAP_ARGS[mode],
    '--',
    process.execPath,
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--worker',
    job,
  ];
  const child = spawnSync('setpriv', args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (child.status !== 0) throw new Error(`setpriv worker (${mode}) failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as unknown;
}

const UNPRIV_SYSCTL = '/proc/sys/kernel/unprivileged_bpf_disabled';

function withUnprivBpf<T>(run: () => T): T {
  const before = readFileSync(UNPRIV_SYSCTL, 'utf8').trim();
  if (before === '1') throw new Error('kernel.unprivileged_bpf_disabled=1 cannot be cleared until reboot');
  writeFileSync(UNPRIV_SYSCTL, '0');
  try {
    return run();
  } finally {
    writeFileSync(UNPRIV_SYSCTL, before);
  }
}

/** A helper-id set as a hex bitmask, bit `id` set when available (lowest ids first). */
function bitmask(ids: readonly number[]): string {
  const bytes = new Uint8Array(Math.ceil(HELPER_NAMES.length / 8));
  for (const id of ids) bytes[id >> 3]! |= 1 << (id & 7);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function genHelpers(): void {
  const rootAvail = probeHelpers();
  const gpl = probeGplOnly(rootAvail);
  const bpf = runWorker('bpf');
  const unpriv = withUnprivBpf(() => runWorker('unpriv'));
  const rows = Object.keys(rootAvail).map((key) => {
    const cell = (v: number[] | null | undefined): string => (v ? `'${bitmask(v)}'` : 'null');
    return `  '${key}': [${cell(rootAvail[key])}, ${cell(bpf[key])}, ${cell(unpriv[key])}],`;
  });
  const text = `${header('helper availability, measured by loading probe programs')}
/**
 * Per program type (\`TYPE\` or \`TYPE/EXPECTED_ATTACH_TYPE\`): the helpers the verifier lets a
 * program call, for capability modes \`[root, bpf, unpriv]\`. Each entry is a hex bitmask over
 * helper ids (byte \`id >> 3\`, bit \`id & 7\`); \`null\`: programs of that type cannot be loaded in
 * that mode. Decode with {@link availableHelpers} (\`helpers.ts\`).
 */
export const HELPER_AVAILABILITY: Readonly<Record<string, readonly [string | null, string | null, string | null]>> = {
${rows.join('\n')}
};

/**
 * Helpers a type's prototype lookup gives but the verifier still refuses, whatever the
 * arguments (measured as root): target key → helper id → the kernel's message.
 */
export const HELPER_REFUSED_AFTER_LOOKUP: Readonly<Record<string, Readonly<Record<number, string>>>> = ${JSON.stringify(refusedLater)};

/** The kernel release these tables were measured on (\`uname -r\`). */
export const TABLES_KERNEL_RELEASE = '${release()}';

/** Helper ids the verifier refuses to programs without a GPL-compatible licence (measured). */
export const GPL_ONLY_HELPERS_MEASURED: readonly number[] = [${gpl.join(', ')}];
`;
  writeFileSync(join(tablesDir, 'helper-availability.ts'), text);
}

// ---------------------------------------------------------------- returns

/** Exit values tried: the edges of every range check_return_code uses. */
const RETURN_PROBES = [-2147483648, -4096, -4095, -2, -1, 0, 1, 2, 3, 4, 5, 2147483647];

interface ReturnRow {
  readonly accepted: number[];
  readonly range?: readonly [number, number];
  readonly message?: string;
}

function probeReturns(): Record<string, ReturnRow | null> {
  const out: Record<string, ReturnRow | null> = {};
  for (const t of targets()) {
    const accepted: number[] = [];
    let range: [number, number] | undefined;
    let message: string | undefined;
    let loadable = false;
    for (const k of RETURN_PROBES) {
      const r = load(t, [movR0(k), EXIT], 1);
      if (r.ok) {
        accepted.push(k);
        loadable = true;
        continue;
      }
      if (!r.log) continue;
      loadable = true;
      const err = firstError(r.log);
      const m = /should have been in \[(-?\d+), (-?\d+)\]/.exec(err);
      if (m) {
        range = [Number(m[1]), Number(m[2])];
        message ??= template(err);
      }
    }
    if (!loadable) {
      out[keyOf(t)] = null;
      continue;
    }
    okReturn.set(keyOf(t), accepted[0] === undefined ? 0 : accepted.includes(0) ? 0 : accepted[0]);
    out[keyOf(t)] = { accepted, ...(range ? { range } : {}), ...(message ? { message } : {}) };
  }
  return out;
}

let measuredReturns: Record<string, ReturnRow | null> | undefined;
let measuredContext: Record<string, CtxRow | null> | undefined;

function genReturns(): void {
  measuredReturns = probeReturns();
  const rows = Object.entries(measuredReturns).map(
    ([key, row]) =>
      `  '${key}': ${
        row
          ? `{ accepted: [${row.accepted.join(', ')}]${row.range ? `, range: [${row.range.join(', ')}]` : ''}${
              row.message ? `, message: ${JSON.stringify(row.message)}` : ''
            } }`
          : 'null'
      },`,
  );
  const text = `${header('return values, measured by loading probe programs')}
/** The exit values tried for every program type. */
export const RETURN_PROBES: readonly number[] = [${RETURN_PROBES.join(', ')}];

/** A program type's measured exit-value verdicts. */
export interface MeasuredReturns {
  /** Which of {@link RETURN_PROBES} verified as \`r0 = k; exit\`. */
  readonly accepted: readonly number[];
  /** The range the kernel's message names, when some value was refused. */
  readonly range?: readonly [number, number];
  /** The kernel's message with its numbers as \`%d\`. */
  readonly message?: string;
}

/** Per program type (\`TYPE\` or \`TYPE/EXPECTED_ATTACH_TYPE\`); null: not loadable here. */
export const RETURNS_MEASURED: Readonly<Record<string, MeasuredReturns | null>> = {
${rows.join('\n')}
};
`;
  writeFileSync(join(tablesDir, 'return-ranges.ts'), text);
}

// ---------------------------------------------------------------- context

const SIZES = [1, 2, 4, 8] as const;
const LDX = { 1: 0x71, 2: 0x69, 4: 0x61, 8: 0x79 } as const;
const STX = { 1: 0x73, 2: 0x6b, 4: 0x63, 8: 0x7b } as const;

/** Offsets as `start-end/step` runs (step = the access size; a lone offset is just `n`). */
function runs(offsets: readonly number[], step: number): string {
  const parts: string[] = [];
  let i = 0;
  while (i < offsets.length) {
    let j = i;
    while (j + 1 < offsets.length && offsets[j + 1] === offsets[j]! + step) j++;
    const a = offsets[i]!;
    const b = offsets[j]!;
    parts.push(a === b ? `${a}` : `${a}-${b}`);
    i = j + 1;
  }
  return parts.join(',');
}

interface CtxRow {
  read: string[];
  write: string[];
  types: Record<string, string>;
  errors: Record<string, string>;
}

/** The type of R2 after the load, from `; R1=ctx() R2=pkt(r=0)`: `pkt`; scalars give undefined. */
function readType(log: string): string | undefined {
  const m = /\bR2(?:_w)?=([a-z_0-9]+)(\(|\b)/.exec(log.split('\n').find((l) => l.startsWith('0: (')) ?? '');
  if (!m) return undefined;
  if (m[1] === 'scalar' || /^\d/.test(m[1]!)) return undefined;
  return m[1];
}

const DEFAULT_CTX_ERROR = 'invalid bpf_context access off=%d size=%d';

/** Numbers of a kernel message as `%d` (register names like `R1` kept). */
export const template = (message: string): string => message.replace(/(?<![A-Za-z])-?\d+/g, '%d');

/**
 * One context access on the live kernel: `r2 = *(uN *)(r1 + off)` or `*(uN *)(r1 + off) = r2`,
 * then `r0 = ret; exit`. Reads report the type R2 gets (undefined for scalars); refusals report
 * the kernel's message as a {@link template}.
 */
export function ctxVerdict(
  t: Target,
  off: number,
  size: 1 | 2 | 4 | 8,
  kind: 'read' | 'write',
  ret = 0,
): { allowed: boolean; type?: string; message?: string } {
  const rows =
    kind === 'read'
      ? [insn(LDX[size], 2, 1, off, 0), movR0(ret), EXIT]
      : [insn(0xb7, 2, 0, 0, 0), insn(STX[size], 1, 2, off, 0), movR0(ret), EXIT];
  const r = load(t, rows, kind === 'read' ? 2 : 1);
  if (r.ok) {
    const type = kind === 'read' ? readType(r.log) : undefined;
    return { allowed: true, ...(type ? { type } : {}) };
  }
  return { allowed: false, message: template(firstError(r.log)) };
}

function probeContext(): Record<string, CtxRow | null> {
  const out: Record<string, CtxRow | null> = {};
  for (const t of targets()) {
    const key = keyOf(t);
    if (!okReturn.has(key)) {
      out[key] = null;
      continue;
    }
    const ret = okReturn.get(key)!;
    const row: CtxRow = { read: [], write: [], types: {}, errors: {} };
    for (const size of SIZES) {
      const reads: number[] = [];
      const writes: number[] = [];
      for (let off = 0; off < MAX_OFF; off++) {
        const r = ctxVerdict(t, off, size, 'read', ret);
        if (r.allowed) {
          reads.push(off);
          if (r.type) row.types[`${off}/${size}`] = r.type;
        } else if (r.message !== DEFAULT_CTX_ERROR) row.errors[`r${off}/${size}`] = r.message!;
        const w = ctxVerdict(t, off, size, 'write', ret);
        if (w.allowed) writes.push(off);
        else if (w.message !== DEFAULT_CTX_ERROR) row.errors[`w${off}/${size}`] = w.message!;
      }
      row.read.push(runs(reads, size === 1 ? 1 : size));
      row.write.push(runs(writes, size === 1 ? 1 : size));
    }
    out[key] = row;
  }
  return out;
}

function genContext(): void {
  if (okReturn.size === 0) probeReturns();
  const data = probeContext();
  measuredContext = data;
  const rows = Object.entries(data).map(([key, row]) => `  '${key}': ${row ? JSON.stringify(row) : 'null'},`);
  const text = `${header('context access, measured by loading probe programs')}
/** Offsets probed: \`0 ≤ off < CONTEXT_PROBED_UP_TO\`. */
export const CONTEXT_PROBED_UP_TO = ${MAX_OFF};

/** The kernel's message for most refused context accesses (numbers as \`%d\`). */
export const DEFAULT_CTX_ERROR = ${JSON.stringify(DEFAULT_CTX_ERROR)};

/**
 * One program type's measured context access. \`read\`/\`write\`: per access size 1, 2, 4, 8, the
 * accepted offsets as comma-separated runs \`a-b\` (every offset from a to b in steps of the size, 1
 * for byte accesses) or single offsets. \`types\`: \`"off/size"\` → the register type a read gives
 * (the kernel's log name: \`pkt\`, \`pkt_end\`, \`pkt_meta\`, \`sock_common_or_null\`…), scalars
 * omitted. \`errors\`: \`"r|w off/size"\` → the kernel's message where it is not
 * {@link DEFAULT_CTX_ERROR}.
 */
export interface MeasuredContext {
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly types: Readonly<Record<string, string>>;
  readonly errors: Readonly<Record<string, string>>;
}

/** Per program type (\`TYPE\` or \`TYPE/EXPECTED_ATTACH_TYPE\`); null: not loadable here. */
export const CONTEXT_MEASURED: Readonly<Record<string, MeasuredContext | null>> = {
${rows.join('\n')}
};
`;
  writeFileSync(join(tablesDir, 'context-access.ts'), text);
}

function header(what: string): string {
  return `/**
 * GENERATED by \`scripts/gen-verifier-tables.ts\` from Linux ${release()} (this machine's kernel):
 * ${what}. Do not edit; regenerate as root.
 */`;
}

// ---------------------------------------------------------------- prototypes

/** Map shapes the call probes pass to helpers that take a map (no BTF needed). */
const PROBE_MAPS: Partial<Record<MapTypeName, { key: number; value: number; max: number; flags?: number }>> =
  {
    HASH: { key: 8, value: 8, max: 1 },
    ARRAY: { key: 4, value: 8, max: 1 },
    PERCPU_ARRAY: { key: 4, value: 8, max: 1 },
    PERCPU_HASH: { key: 8, value: 8, max: 1 },
    LRU_PERCPU_HASH: { key: 8, value: 8, max: 1 },
    PROG_ARRAY: { key: 4, value: 4, max: 1 },
    PERF_EVENT_ARRAY: { key: 4, value: 4, max: 1 },
    STACK_TRACE: { key: 4, value: 8, max: 1 },
    CGROUP_ARRAY: { key: 4, value: 4, max: 1 },
    RINGBUF: { key: 0, value: 0, max: 4096 },
    USER_RINGBUF: { key: 0, value: 0, max: 4096 },
    QUEUE: { key: 0, value: 8, max: 1 },
    STACK: { key: 0, value: 8, max: 1 },
    BLOOM_FILTER: { key: 0, value: 8, max: 1 },
    DEVMAP: { key: 4, value: 4, max: 1 },
    DEVMAP_HASH: { key: 4, value: 4, max: 1 },
    CPUMAP: { key: 4, value: 4, max: 1 },
    XSKMAP: { key: 4, value: 4, max: 1 },
    SOCKMAP: { key: 4, value: 4, max: 1 },
    SOCKHASH: { key: 4, value: 4, max: 1 },
    REUSEPORT_SOCKARRAY: { key: 4, value: 8, max: 1 },
    CGROUP_STORAGE: { key: 16, value: 8, max: 0 },
    PERCPU_CGROUP_STORAGE: { key: 16, value: 8, max: 0 },
  };

/**
 * The maps of the current check. Fresh maps per check: a program array, devmap or cpumap takes on
 * properties of the first program loaded with it and would refuse later ones.
 */
const mapFds = new Map<MapTypeName, KernelMapOps>();

/** A frozen, program-read-only one-element array (64 zero bytes): read-only memory and const strings. */
function rodataFd(): number {
  if (!rodata) {
    rodata = createMap({
      name: 'vt_ro',
      type: 'ARRAY',
      keySize: 4,
      valueSize: 64,
      maxEntries: 1,
      flags: 1 << 7,
    });
    rodata.freeze();
  }
  return rodata.fd;
}
let rodata: KernelMapOps | undefined;

function closeProbeMaps(): void {
  rodata?.close();
  rodata = undefined;
  for (const m of mapFds.values()) m.close();
  mapFds.clear();
}

function probeMapFd(type: MapTypeName): number | undefined {
  const shape = PROBE_MAPS[type];
  if (!shape) return undefined;
  if (!mapFds.has(type)) {
    try {
      mapFds.set(
        type,
        createMap({ name: 'vt', type, keySize: shape.key, valueSize: shape.value, maxEntries: shape.max }),
      );
    } catch {
      return undefined;
    }
  }
  return mapFds.get(type)!.fd;
}

/** `lddw dst, imm64` with a pseudo source (1: map fd, 4: func). */
function lddw(dst: number, src: number, imm: number): number[][] {
  return [insn(0x18, dst, src, 0, imm), insn(0, 0, 0, 0, 0)];
}

/** A value of the kind an argument needs, or undefined when a probe cannot make one. */
function argSetup(
  arg: HelperArg,
  reg: number,
  mapType: MapTypeName,
  ctx: { sock?: number; btf?: string } = {},
): number[][] | 'func' | undefined {
  const stack = [insn(0xbf, reg, 10, 0, 0), insn(0x07, reg, 0, 0, -64)];
  if (arg.flags.includes('OBJ_RELEASE')) {
    // r9: a ring buffer reservation made at the start (see the prelude in checkProto).
    return arg.base === 'ARG_PTR_TO_RINGBUF_MEM' ? [insn(0xbf, reg, 9, 0, 0)] : undefined;
  }
  switch (arg.base) {
    case 'ARG_ANYTHING':
      return [insn(0xb7, reg, 0, 0, 0)];
    case 'ARG_CONST_SIZE':
    case 'ARG_CONST_SIZE_OR_ZERO':
    case 'ARG_CONST_ALLOC_SIZE_OR_ZERO':
      return [insn(0xb7, reg, 0, 0, 8)];
    case 'ARG_PTR_TO_CTX':
      return arg.flags.includes('PTR_MAYBE_NULL') ? [insn(0xb7, reg, 0, 0, 0)] : [insn(0xbf, reg, 6, 0, 0)];
    case 'ARG_CONST_MAP_PTR': {
      const fd = probeMapFd(mapType);
      return fd === undefined ? undefined : lddw(reg, 1, fd);
    }
    case 'ARG_PTR_TO_MAP_KEY':
    case 'ARG_PTR_TO_MEM':
      // Memory, nullable or not: a NULL buffer is only allowed with size 0 (`expected=fp`).
      return stack;
    case 'ARG_PTR_TO_MAP_VALUE':
      return arg.flags.includes('PTR_MAYBE_NULL') ? [insn(0xb7, reg, 0, 0, 0)] : stack;
    case 'ARG_PTR_TO_CONST_STR':
      return lddw(reg, 2, rodataFd());
    case 'ARG_PTR_TO_SOCK_COMMON':
    case 'ARG_PTR_TO_BTF_ID_SOCK_COMMON':
      // r7: the context's socket, null-checked at the start (see ctxPointer).
      return ctx.sock === undefined ? undefined : [insn(0xbf, reg, 7, 0, 0)];
    case 'ARG_PTR_TO_BTF_ID':
      return arg.btfStruct && ctx.btf === arg.btfStruct ? [insn(0xbf, reg, 8, 0, 0)] : undefined;
    case 'ARG_PTR_TO_STACK':
    case 'ARG_PTR_TO_SOCKET':
      return arg.flags.includes('PTR_MAYBE_NULL') ? [insn(0xb7, reg, 0, 0, 0)] : undefined;
    case 'ARG_PTR_TO_FUNC':
      // A callback needs BTF func_info ("missing btf func_info"): not built by this probe.
      return undefined;
    default:
      return undefined;
  }
}

/** The helper id a prototype belongs to (the table is keyed by name). */
function helperIdOf(proto: HelperProto): number {
  return HELPERS.findIndex((h) => h.protos.includes(proto));
}

/** R0's type after the call of helper `id` in a level-2 log, '' when not printed. */
function returnType(log: string, id: number): string {
  const lines = log.split('\n');
  const at = lines.findIndex(
    (l) => /^\d+: \(85\) call /.test(l) && l.split(';')[0]!.trim().endsWith(`#${id}`),
  );
  if (at < 0) return '';
  // The state after the call is on the call's line (`; R0=…`) or, when precision tracking
  // printed lines in between, on the next state line (`5: R0=… R6=…`).
  let state = lines[at]!.split(';')[1];
  if (state === undefined) state = lines.slice(at + 1).find((l) => /^\d+: R\d/.test(l)) ?? '';
  const m = /\bR0(?:_w)?=([a-z_0-9]+)/.exec(state);
  if (!m) return '';
  return /^-?\d/.test(m[1]!) ? 'scalar' : m[1]!;
}

/** The context's socket field (a `sock…` type) and first trusted BTF pointer field, if any. */
function ctxPointers(key: string): { sock?: number; btf?: string; btfOff?: number } {
  const types = Object.entries(CONTEXT_MEASURED[key]?.types ?? {}).filter(([field]) => field.endsWith('/8'));
  const sock = types.find(([, t]) => t.startsWith('sock'));
  const btf = types.find(([, t]) => t.startsWith('trusted_ptr_'));
  return {
    ...(sock ? { sock: Number.parseInt(sock[0], 10) } : {}),
    ...(btf ? { btf: btf[1].slice('trusted_ptr_'.length), btfOff: Number.parseInt(btf[0], 10) } : {}),
  };
}

/** The outcome of calling a helper with arguments built from its table prototype. */
export interface ProtoCheck {
  /** The program type(s) (comma-separated keys) the call was made from with this outcome. */
  readonly target: string;
  /** The table's prototype for that target (the variant checked). */
  readonly proto: string;
  /** 'ok' (the kernel accepted the call), 'skipped' (a probe cannot build an argument), or the kernel's message. */
  readonly verdict: string;
  /**
   * When the arguments passed: R0's type after the call as the level-2 log prints it (`scalar`,
   * `map_value_or_null`, `ringbuf_mem_or_null`, `trusted_ptr_task_struct`…); '' when R0 is not
   * printed (a `RET_VOID` helper leaves it uninitialised).
   */
  readonly ret?: string;
  /**
   * Per memory argument (map key/value, `ARG_PTR_TO_MEM`): the kernel's answer when only that
   * argument points into a frozen read-only map (`ok` iff the helper does not write it); ''
   * for other arguments.
   */
  readonly readOnly?: readonly string[];
  /** Per memory argument, in `bpf` mode: the answer when it points to unwritten stack ('ok' iff MEM_UNINIT). */
  readonly uninit?: readonly string[];
  /** Per argument: the kernel's message when that argument alone is given a wrong value the table says it refuses. */
  readonly negatives: readonly string[];
}

/**
 * Call helper `id` from a program of target `key` with arguments built from the table's
 * prototype; then, per argument, with one wrong value the prototype says the kernel refuses (a
 * scalar where a non-null pointer belongs, 0 for `ARG_CONST_SIZE`) and record the kernel's answer.
 */
export function checkProto(
  key: string,
  id: number,
  mapOverride?: MapTypeName,
  options: { readonly uninit?: boolean } = {},
): ProtoCheck {
  const [progType, attachType] = key.split('/') as [ProgTypeName, AttachTypeName | undefined];
  const t: Target = { progType, ...(attachType ? { attachType } : {}) };
  const proto = helperProto(id, progType, attachType) as HelperProto;
  const name = HELPER_NAMES[id]!;
  const mapType = mapOverride ?? FUNC_MAP_COMPAT[name]?.[0] ?? 'HASH';
  const ctx = ctxPointers(key);
  const build = (wrong?: number, readOnly?: number, uninit?: number): number[][] | undefined => {
    const body: number[][] = [insn(0xbf, 6, 1, 0, 0)];
    // Pointers the context hands out (a socket, a trusted BTF pointer), loaded into r7 / r8 and
    // null-checked: the only way a probe gets them without BTF.
    for (const [reg, off] of [
      [7, ctx.sock],
      [8, ctx.btfOff],
    ] as const) {
      if (off === undefined) continue;
      body.push(insn(0x79, reg, 1, off, 0), insn(0x55, reg, 0, 2, 0), movR0(okReturn.get(key) ?? 0), EXIT);
    }
    if (proto.args.some((a) => a.base === 'ARG_PTR_TO_RINGBUF_MEM')) {
      // r9 = bpf_ringbuf_reserve(&rb, 8, 0), null-checked: what submit/discard release.
      const fd = probeMapFd('RINGBUF');
      if (fd === undefined) return undefined;
      body.push(...lddw(1, 1, fd), insn(0xb7, 2, 0, 0, 8), insn(0xb7, 3, 0, 0, 0), insn(0x85, 0, 0, 0, 131));
      body.push(insn(0x55, 0, 0, 2, 0), movR0(okReturn.get(key) ?? 0), EXIT, insn(0xbf, 9, 0, 0, 0));
    }
    for (let i = 0; i < 8; i++) body.push(insn(0x7a, 10, 0, -8 * (i + 1), 0));
    const funcFixups: [at: number, reg: number][] = [];
    for (const [i, arg] of proto.args.entries()) {
      const reg = i + 1;
      if (wrong === i) {
        body.push(insn(0xb7, reg, 0, 0, 0));
        continue;
      }
      if (uninit === i) {
        // A stack buffer never written (fp-128..fp-65).
        body.push(insn(0xbf, reg, 10, 0, 0), insn(0x07, reg, 0, 0, -128));
        continue;
      }
      if (readOnly === i) {
        // BPF_PSEUDO_MAP_VALUE: a pointer into the frozen read-only map's value.
        body.push(...lddw(reg, 2, rodataFd()));
        continue;
      }
      const setup = argSetup(arg, reg, mapType, ctx);
      if (!setup) return undefined;
      if (setup === 'func') {
        funcFixups.push([body.length, reg]);
        body.push(...lddw(reg, 4, 0));
      } else body.push(...setup);
    }
    body.push(insn(0x85, 0, 0, 0, id), movR0(okReturn.get(key) ?? 0), EXIT);
    const subprog = body.length;
    if (funcFixups.length) body.push(movR0(0), EXIT);
    // BPF_PSEUDO_FUNC: imm is the callee's offset from the next instruction slot.
    for (const [at, reg] of funcFixups) body[at] = insn(0x18, reg, 4, 0, subprog - (at + 1));
    return body;
  };
  try {
    if (options.uninit) return uninitCheck(t, key, proto, build);
    return runCheck(t, key, proto, build);
  } finally {
    closeProbeMaps();
  }
}

/**
 * Per memory argument, the answer when only it points to stack never written: without
 * CAP_PERFMON (the `bpf` mode this runs in) the verifier refuses to let a helper read
 * uninitialised stack, so `ok` iff the argument is `MEM_UNINIT`.
 */
function uninitCheck(
  t: Target,
  key: string,
  proto: HelperProto,
  build: (wrong?: number, readOnly?: number, uninit?: number) => number[][] | undefined,
): ProtoCheck {
  const base = build();
  if (!base) return { target: key, proto: proto.proto, verdict: 'skipped', negatives: [] };
  const r = load(t, base, 1);
  const err = r.ok ? '' : firstError(r.log);
  if (!(r.ok || ARGS_PASSED.test(err)))
    return { target: key, proto: proto.proto, verdict: err, negatives: [] };
  const uninit = proto.args.map((arg, i) => {
    const memory = ['ARG_PTR_TO_MEM', 'ARG_PTR_TO_MAP_KEY', 'ARG_PTR_TO_MAP_VALUE'].includes(arg.base);
    if (!memory) return '';
    const w = load(t, build(undefined, undefined, i)!, 1);
    const wErr = w.ok ? 'ok' : firstError(w.log);
    return ARGS_PASSED.test(wErr) ? 'ok' : wErr;
  });
  return { target: key, proto: proto.proto, verdict: 'ok', negatives: [], uninit };
}

/** Failures that come after a call's arguments passed (what follows the call in the probe). */
const ARGS_PASSED = /reference leak|Unreleased reference|At program exit/;

/** The `bpf`-mode worker: {@link uninitCheck} for every helper, from the first type that has it. */
function probeUninit(): Record<string, ProtoCheck> {
  const out: Record<string, ProtoCheck> = {};
  const keys = targets().map(keyOf);
  for (let id = 1; id < HELPER_NAMES.length; id++) {
    for (const key of keys) {
      const t = targetOf(key);
      let available: boolean;
      try {
        available = helperVerdict(t, id);
      } catch {
        continue; // the type does not load in this mode
      }
      if (!available) continue;
      const [progType, attachType] = key.split('/') as [ProgTypeName, string | undefined];
      if (
        !helperProto(id, progType, attachType)?.args.some((a) =>
          ['ARG_PTR_TO_MEM', 'ARG_PTR_TO_MAP_KEY', 'ARG_PTR_TO_MAP_VALUE'].includes(a.base),
        )
      )
        break;
      const check = checkProto(key, id, undefined, { uninit: true });
      if (check.uninit) {
        out[HELPER_NAMES[id]!] = check;
        break;
      }
    }
  }
  return out;
}

const targetOf = (key: string): Target => {
  const [progType, attachType] = key.split('/') as [ProgTypeName, AttachTypeName | undefined];
  return { progType, ...(attachType ? { attachType } : {}) };
};

function runCheck(
  t: Target,
  key: string,
  proto: HelperProto,
  build: (wrong?: number, readOnly?: number) => number[][] | undefined,
): ProtoCheck {
  const rows = build();
  if (!rows) return { target: key, proto: proto.proto, verdict: 'skipped', negatives: [] };
  const r = load(t, rows, 2);
  // A call the verifier accepted and that then fails for what follows it (the reference a
  // lookup or reserve returns is never released; a sleeping helper in a non-sleepable program)
  // still proves the arguments right: keep the message.
  const err = r.ok ? '' : firstError(r.log);
  const argsAccepted = r.ok || /reference leak|Unreleased reference/.test(err);
  // Refusals that come before the argument checks or are about the probe's map: no verdict.
  const inconclusive = /might sleep in a non-sleepable|Sleepable programs can only use/.test(err);
  const verdict = r.ok ? 'ok' : inconclusive ? `inconclusive: ${err}` : err;
  const negatives: string[] = [];
  const readOnly: string[] = [];
  if (argsAccepted) {
    for (const [i, arg] of proto.args.entries()) {
      const nullable = arg.flags.includes('PTR_MAYBE_NULL');
      const refusesZero =
        arg.base === 'ARG_CONST_SIZE' ||
        (!nullable && arg.base.startsWith('ARG_PTR_TO')) ||
        arg.base === 'ARG_CONST_MAP_PTR';
      if (!refusesZero) {
        negatives.push('');
        continue;
      }
      const w = load(t, build(i)!, 1);
      const wErr = w.ok ? 'ok' : firstError(w.log);
      negatives.push(/reference leak|Unreleased reference/.test(wErr) ? 'ok' : wErr);
    }
    // Memory arguments given read-only memory: accepted iff the helper only reads it.
    for (const arg of proto.args) {
      const memory = ['ARG_PTR_TO_MEM', 'ARG_PTR_TO_MAP_KEY', 'ARG_PTR_TO_MAP_VALUE'].includes(arg.base);
      if (!memory || arg.flags.includes('MEM_FIXED_SIZE')) {
        readOnly.push('');
        continue;
      }
      const w = load(t, build(undefined, readOnly.length)!, 1);
      const wErr = w.ok ? 'ok' : firstError(w.log);
      readOnly.push(/reference leak|Unreleased reference/.test(wErr) ? 'ok' : wErr);
    }
  }
  return {
    target: key,
    proto: proto.proto,
    verdict,
    negatives,
    ...(argsAccepted ? { ret: returnType(r.log, helperIdOf(proto)), readOnly } : {}),
  };
}

function genProtos(): void {
  if (okReturn.size === 0) probeReturns();
  const rootAvail = probeHelpersRootCached();
  const compat = probeMapCompat(rootAvail);
  const uninit = runWorkerJob('bpf', 'uninit') as Record<string, ProtoCheck>;
  const out: Record<string, ProtoCheck[]> = {};
  for (let id = 1; id < HELPER_NAMES.length; id++) {
    // Every program type that has the helper; one record per (variant, verdict), naming the
    // types; argument negatives from the first type of each variant.
    const keys = Object.keys(rootAvail)
      .filter((k) => rootAvail[k]?.includes(id))
      .sort((a, b) => Number(a.includes('/')) - Number(b.includes('/')) || a.localeCompare(b));
    const groups = new Map<string, ProtoCheck>();
    for (const key of keys) {
      const check = checkProto(key, id);
      const group = `${check.proto}\n${check.verdict}\n${check.negatives.join('\n')}\n${check.readOnly?.join('\n')}`;
      const seen = groups.get(group);
      if (seen) groups.set(group, { ...seen, target: `${seen.target},${key}` });
      else groups.set(group, check);
    }
    if (groups.size) out[HELPER_NAMES[id]!] = [...groups.values()];
  }
  const keys = Object.keys(rootAvail);
  const rows = Object.entries(out).map(
    ([name, checks]) =>
      `  ${name}: ${JSON.stringify(checks.map((c) => ({ ...c, target: c.target.split(',').map((k) => keys.indexOf(k)) })))},`,
  );
  const text = `${header('helper prototypes, checked by calling each helper')}
/** The program types (\`TYPE\` or \`TYPE/ATTACH\`) the checks name by index. */
export const PROTO_CHECK_TARGETS: readonly string[] = ${JSON.stringify(keys)};

/** One outcome; \`target\`: indices into {@link PROTO_CHECK_TARGETS}. */
export interface ProtoCheckRecord {
  readonly target: readonly number[];
  readonly proto: string;
  readonly verdict: string;
  readonly negatives: readonly string[];
  /** R0's type after the call, as the level-2 log prints it ('' for none); absent when the call failed. */
  readonly ret?: string;
  /** Per memory argument: the answer when it points into read-only memory ('ok' iff only read). */
  readonly readOnly?: readonly string[];
}

/**
 * Per helper (name), one record per (prototype variant, outcome): the program types it was
 * called from, the verdict of a call whose arguments were built from the table's prototype (\`ok\`, \`skipped\` when a probe cannot build one of its
 * arguments — BTF pointers, dynptrs, spin locks, references — or the kernel's message), and per
 * argument the kernel's message when that argument alone was given a value the prototype says
 * the kernel refuses (0 for a non-null pointer, a map or \`ARG_CONST_SIZE\`; \`''\`: not tried).
 */
export const PROTO_CHECKS: Readonly<Record<string, readonly ProtoCheckRecord[]>> = {
${rows.join('\n')}
};

/**
 * \`check_map_func_compatibility\` measured: per helper that takes a map, the map types a
 * well-formed call accepted (\`ok\`) and refused (\`cannot pass map_type …\`); map types whose call
 * failed for another reason (key size 0, sleepable restrictions…) are left out.
 */
/**
 * \`MEM_UNINIT\` measured in the \`bpf\` capability mode (no CAP_PERFMON, so uninitialised stack
 * may not be read): per helper, from the first program type that has it, per memory argument the
 * answer when only it points to stack never written (\`ok\` iff the helper only writes it; \`''\`:
 * not a memory argument).
 */
export const UNINIT_CHECKS: Readonly<Record<string, { readonly target: string; readonly proto: string; readonly uninit: readonly string[] }>> = ${JSON.stringify(
    Object.fromEntries(
      Object.entries(uninit).map(([n, c]) => [n, { target: c.target, proto: c.proto, uninit: c.uninit }]),
    ),
  )};

export const MAP_COMPAT_MEASURED: Readonly<Record<string, { readonly ok: readonly string[]; readonly refused: readonly string[] }>> = ${JSON.stringify(compat)};
`;
  writeFileSync(join(tablesDir, 'proto-checks.ts'), text);
}

/** Call each map-taking helper with each probe map type, from a type that has the helper. */
function probeMapCompat(
  rootAvail: Record<string, number[] | null>,
): Record<string, { ok: string[]; refused: string[] }> {
  const out: Record<string, { ok: string[]; refused: string[] }> = {};
  const preferred = ['SCHED_CLS', 'KPROBE', 'XDP', 'SK_SKB', 'SK_MSG', 'SOCK_OPS', 'CGROUP_SKB'];
  for (let id = 1; id < HELPER_NAMES.length; id++) {
    const keys = Object.keys(rootAvail).filter((k) => rootAvail[k]?.includes(id) && !k.startsWith('SYSCALL'));
    const key = preferred.find((k) => keys.includes(k)) ?? keys[0];
    if (!key) continue;
    const [progType, attachType] = key.split('/') as [ProgTypeName, string | undefined];
    if (!helperProto(id, progType, attachType)?.args.some((a) => a.base === 'ARG_CONST_MAP_PTR')) continue;
    const row = { ok: [] as string[], refused: [] as string[] };
    for (const mapType of Object.keys(PROBE_MAPS) as MapTypeName[]) {
      const check = checkProto(key, id, mapType);
      if (check.verdict.startsWith('cannot pass map_type')) row.refused.push(mapType);
      else if (check.verdict === 'ok' || /reference leak|Unreleased reference/.test(check.verdict))
        row.ok.push(mapType);
    }
    out[HELPER_NAMES[id]!] = row;
  }
  return out;
}

let rootAvailCache: Record<string, number[] | null> | undefined;
function probeHelpersRootCached(): Record<string, number[] | null> {
  rootAvailCache ??= probeHelpers();
  return rootAvailCache;
}

// ---------------------------------------------------------------- context fields

/** The uapi context structs whose layout names the context offsets (read from vmlinux BTF). */
const CTX_STRUCT_NAMES = [
  '__sk_buff',
  'xdp_md',
  'bpf_sock',
  'bpf_sock_addr',
  'bpf_sock_ops',
  'sk_msg_md',
  'bpf_perf_event_data',
  'pt_regs',
  'bpf_sysctl',
  'bpf_sockopt',
  'bpf_sk_lookup',
  'bpf_cgroup_dev_ctx',
  'sk_reuseport_md',
  'bpf_nf_ctx',
  'bpf_flow_keys',
];

/** Flatten a struct's members (anonymous unions and structs inlined; arrays one entry per element). */
function flatten(
  btf: Btf,
  typeId: number,
  base: number,
  prefix: string,
  out: [string, number, number][],
): void {
  const t = btf.resolve(typeId);
  if (t.kind !== 'struct' && t.kind !== 'union') return;
  for (const m of t.members) {
    const off = base + (t.kindFlag ? m.bitsOffset & 0xffffff : m.bitsOffset) / 8;
    const mt = btf.resolve(m.typeId);
    const name = m.name ? `${prefix}${m.name}` : prefix;
    if ((mt.kind === 'struct' || mt.kind === 'union') && (!m.name || mt.kind === 'union')) {
      flatten(btf, m.typeId, off, m.name && mt.kind !== 'union' ? `${name}.` : name ? `${name}` : '', out);
      continue;
    }
    if (mt.kind === 'array') {
      const elemSize = btf.sizeof(mt.typeId);
      for (let i = 0; i < mt.nelems; i++) out.push([`${name}[${i}]`, off + i * elemSize, elemSize]);
      continue;
    }
    if (!Number.isInteger(off)) continue; // bitfields
    out.push([name, off, btf.sizeof(m.typeId)]);
  }
}

function genContextFields(): void {
  const btf = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  const structs: Record<string, [string, number, number][]> = {};
  for (const name of CTX_STRUCT_NAMES) {
    const t = btf.typesByName(name).find((x) => x.kind === 'struct');
    if (!t) continue;
    const out: [string, number, number][] = [];
    flatten(btf, t.id, 0, '', out);
    structs[name] = out;
  }
  const text = `${header('context struct layouts, from /sys/kernel/btf/vmlinux')}
/**
 * Per uapi context struct: its fields as \`[name, byte offset, size]\`, anonymous unions and
 * structs inlined (\`__bpf_md_ptr\` unions give the pointer's name), arrays one entry per element
 * (\`cb[2]\`), bitfields left out.
 */
export const CTX_FIELDS: Readonly<Record<string, readonly (readonly [name: string, offset: number, size: number])[]>> = ${JSON.stringify(structs)};
`;
  writeFileSync(join(tablesDir, 'context-fields.ts'), text);
}

// ---------------------------------------------------------------- capability modes

/**
 * Context access and exit values measured again in the `bpf` and `unpriv` modes (in setpriv
 * workers); `caps-differences.ts` keeps only the rows that differ from root's.
 */
function genCapsDifferences(): void {
  const rootReturns = measuredReturns ?? probeReturns();
  const rootContext = measuredContext ?? probeContext();
  const diffs: Record<string, { returns: Record<string, unknown>; context: Record<string, unknown> }> = {};
  for (const mode of ['bpf', 'unpriv'] as const) {
    const run = (): { returns: Record<string, unknown>; context: Record<string, unknown> } =>
      runWorkerJob(mode, 'context') as { returns: Record<string, unknown>; context: Record<string, unknown> };
    const measured = mode === 'unpriv' ? withUnprivBpf(run) : run();
    const d = { returns: {} as Record<string, unknown>, context: {} as Record<string, unknown> };
    for (const [key, row] of Object.entries(measured.returns)) {
      if (row && JSON.stringify(row) !== JSON.stringify(rootReturns[key])) d.returns[key] = row;
    }
    for (const [key, row] of Object.entries(measured.context)) {
      if (row && JSON.stringify(row) !== JSON.stringify(rootContext[key])) d.context[key] = row;
    }
    diffs[mode] = d;
  }
  const text = `${header('context access and exit values in the bpf and unpriv capability modes, measured in setpriv workers')}
import type { MeasuredContext } from './context-access.js';
import type { MeasuredReturns } from './return-ranges.js';

/**
 * Per capability mode, the program types (\`TYPE\` or \`TYPE/ATTACH\`) whose context access or
 * exit values differ from root's (types that do not load in a mode are left out: see
 * \`HELPER_AVAILABILITY\`).
 */
export const CAPS_DIFFERENCES: Readonly<
  Record<
    'bpf' | 'unpriv',
    {
      readonly returns: Readonly<Record<string, MeasuredReturns>>;
      readonly context: Readonly<Record<string, MeasuredContext>>;
    }
  >
> = ${JSON.stringify(diffs)};
`;
  writeFileSync(join(tablesDir, 'caps-differences.ts'), text);
}

// ---------------------------------------------------------------- main

const argv = process.argv.slice(2);
const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (!isMain) {
  // Imported (by the live tests): probes only.
} else if (argv[0] === '--worker') {
  const job = argv[1];
  const result =
    job === 'uninit'
      ? probeUninit()
      : job === 'context'
        ? { returns: probeReturns(), context: probeContext() }
        : probeHelpers();
  process.stdout.write(JSON.stringify(result));
} else {
  if (process.getuid?.() !== 0) {
    console.error('gen-verifier-tables: run as root (it loads programs and changes a sysctl)');
    process.exit(2);
  }
  const only =
    argv[0] === '--only'
      ? new Set(argv[1]!.split(','))
      : new Set(['helpers', 'context', 'returns', 'protos', 'fields']);
  if (only.has('returns') || only.has('context') || only.has('protos')) genReturns();
  if (only.has('context')) genContext();
  if (only.has('helpers')) genHelpers();
  if (only.has('protos')) genProtos();
  if (only.has('fields')) genContextFields();
  if (only.has('context')) genCapsDifferences();
  // Generated files are committed formatted, so a regeneration diff shows only real changes.
  spawnSync('npx', ['biome', 'format', '--write', tablesDir], { cwd: root, stdio: 'inherit' });
}
