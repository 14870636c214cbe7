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
import { cString } from '../src/kernel/attr.js';
import { bpfTry } from '../src/kernel/objects.js';
import { getSys } from '../src/kernel/syscall.js';
import { SECTION_DEFS } from '../src/object/sections.js';
import { AttachType, type AttachTypeName, ProgType, type ProgTypeName } from '../src/uapi.js';

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

/** Whether the verifier lets a program of `t` call helper `id` (the probe's rule). */
export function helperVerdict(t: Target, id: number): boolean {
  const r = load(t, [insn(0x85, 0, 0, 0, id), EXIT], 1);
  if (!r.ok && !r.log) throw new Error(`helper ${id} for ${keyOf(t)}: ${r.errno} without a log`);
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

function runWorker(mode: 'bpf' | 'unpriv'): Record<string, number[] | null> {
  const args = [
    '--securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked',
    ...CAP_ARGS[mode],
    '--',
    process.execPath,
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--worker',
    'helpers',
  ];
  const child = spawnSync('setpriv', args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (child.status !== 0) throw new Error(`setpriv worker (${mode}) failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as Record<string, number[] | null>;
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
  const text = `${header('helper availability')}
/**
 * Per program type (\`TYPE\` or \`TYPE/EXPECTED_ATTACH_TYPE\`): the helpers the verifier lets a
 * program call, for capability modes \`[root, bpf, unpriv]\`. Each entry is a hex bitmask over
 * helper ids (byte \`id >> 3\`, bit \`id & 7\`); \`null\`: programs of that type cannot be loaded in
 * that mode. Decode with {@link availableHelpers} (\`helpers.ts\`).
 */
export const HELPER_AVAILABILITY: Readonly<Record<string, readonly [string | null, string | null, string | null]>> = {
${rows.join('\n')}
};

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

function genReturns(): void {
  const rows = Object.entries(probeReturns()).map(
    ([key, row]) =>
      `  '${key}': ${
        row
          ? `{ accepted: [${row.accepted.join(', ')}]${row.range ? `, range: [${row.range.join(', ')}]` : ''}${
              row.message ? `, message: ${JSON.stringify(row.message)}` : ''
            } }`
          : 'null'
      },`,
  );
  const text = `${header('return values')}
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
  const rows = Object.entries(data).map(([key, row]) => `  '${key}': ${row ? JSON.stringify(row) : 'null'},`);
  const text = `${header('context access')}
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
 * ${what}, measured by loading probe programs. Do not edit; regenerate as root.
 */`;
}

// ---------------------------------------------------------------- main

const argv = process.argv.slice(2);
const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (!isMain) {
  // Imported (by the live tests): probes only.
} else if (argv[0] === '--worker') {
  process.stdout.write(JSON.stringify(probeHelpers()));
} else {
  if (process.getuid?.() !== 0) {
    console.error('gen-verifier-tables: run as root (it loads programs and changes a sysctl)');
    process.exit(2);
  }
  const only =
    argv[0] === '--only' ? new Set(argv[1]!.split(',')) : new Set(['helpers', 'context', 'returns']);
  if (only.has('returns') || only.has('context')) genReturns();
  if (only.has('context')) genContext();
  if (only.has('helpers')) genHelpers();
  // Generated files are committed formatted, so a regeneration diff shows only real changes.
  spawnSync('npx', ['biome', 'format', '--write', tablesDir], { cwd: root, stdio: 'inherit' });
}
