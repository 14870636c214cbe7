/**
 * Our verifier's time beside the kernel's own: every program of examples/*.bpf.o, the corpus
 * programs that run into the 1,000,000-instruction limit, and a generated program of 4,096
 * instructions whose loop makes the verifier process ~1,000,000. The kernel's figure is the
 * `verification time N usec` of its statistics (`BPF_PROG_LOAD` at log level 4, `BPF_LOG_STATS`),
 * measured in the same run; without bpf() (not root) only ours is printed. Targets (issue 8):
 * ours ≤ 2× the kernel's, a ~1,000,000-instruction program in ≤ 2 s, under 512 MiB (the peak
 * resident size of this whole process, an upper bound). Ours is the compiled verifier of dist/ (what
 * the package runs; built first when stale): the same sources under tsx run slower, each nested
 * function wrapped by its `keepNames` at every call that makes it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decode, encode, type Insn } from '../src/isa/instruction.js';
import { assemble } from '../src/isa/llvm-parse.js';
import { createMap, type KernelMapOps } from '../src/kernel/load/map.js';
import { loadObject } from '../src/kernel/load/object.js';
import { cString } from '../src/kernel/sys/attr.js';
import { bpfUnavailable } from '../src/kernel/sys/availability.js';
import { bpfTry } from '../src/kernel/sys/objects.js';
import { getSys } from '../src/kernel/sys/syscall.js';
import { loadObjectSpec } from '../src/object/object.js';
import { ProgType, type ProgTypeName } from '../src/uapi.js';
import { decodeCase, parseCorpus } from '../src/verifier/diff/corpus.js';
import type { verify as verifyFunction } from '../src/verifier/index.js';
import { verifierInputOf } from '../src/verifier/object.js';
import type { VerifierInput, VerifierMap } from '../src/verifier/types.js';
import { type Bench, ensureBuilt } from './bench.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMPILED_VERIFIER = 'dist/verifier/index.js';

/** The compiled verifier (dist/), loaded by `loadVerifier` before anything is timed. */
let verify: typeof verifyFunction;
async function loadVerifier(): Promise<void> {
  ensureBuilt([COMPILED_VERIFIER]);
  ({ verify } = (await import(pathToFileURL(join(ROOT, COMPILED_VERIFIER)).href)) as {
    verify: typeof verifyFunction;
  });
}
const EXAMPLES = join(ROOT, 'examples');
const CORPUS = join(ROOT, 'testdata', 'verifier');
/** The slowest programs of the corpus test (most run into the complexity limit). */
const LARGE: ReadonlyArray<readonly [file: string, name: string]> = [
  ['random-root.jsonl', 'rnd-root-31647-502'],
  ['random-root.jsonl', 'rnd-root-31647-265'],
  ['random-bpf.jsonl', 'rnd-bpf-11329-322'],
  ['kernel-style.jsonl', 'loop: unbounded by an unknown scalar'],
  // 262,144 processed, every iteration reaching the exit (67 s until its r0 precision stopped
  // marking the whole path)
  ['random-root.jsonl', 'rnd-root-31647-685'],
];
const TARGET_RATIO = 2;
const TARGET_MS = 2000;
const TARGET_MIB = 512;
const VERIFICATION_TIME = /verification time (\d+) usec/;
const PROCESSED = /processed (\d+) insns/;

/** The kernel's statistics for one load, or why there are none. */
type KernelStats = { readonly usec: number; readonly processed: number | undefined } | string;

function statsOf(log: string | undefined, why: string): KernelStats {
  const time = log ? VERIFICATION_TIME.exec(log) : null;
  if (!time) return why;
  const processed = PROCESSED.exec(log ?? '');
  return { usec: Number(time[1]), processed: processed ? Number(processed[1]) : undefined };
}

interface Program {
  readonly name: string;
  readonly input: VerifierInput;
  readonly kernel: () => KernelStats;
  /** Counts towards the 2 s target (a program that processes ~1,000,000 instructions). */
  readonly large: boolean;
}

/** A generated program: 4,096 instructions, a loop of ~4,080 that the verifier unrolls ~240 times. */
function generatedProgram(): Insn[] {
  const body: string[] = [];
  const ops = ['r2 += 3', 'r3 ^= r2', 'r4 = r3', 'r4 &= 255', 'r5 += r4', 'r2 <<= 1', 'r2 &= 65535'];
  for (let i = 0; body.length < 4096 - 11; i++) {
    body.push(ops[i % ops.length]!);
    if (i % 64 === 63) body.push('*(u64 *)(r10 - 8) = r5', 'r5 = *(u64 *)(r10 - 8)');
  }
  body.length = 4096 - 11; // 11 instructions around the body
  const source = [
    'call 7', // bpf_get_prandom_u32: an unknown scalar
    'r3 = r0',
    'r3 &= 1023',
    'r2 = 0',
    'r4 = 0',
    'r5 = 0',
    'r6 = 0',
    'loop:',
    ...body,
    'r6 += 1',
    'if r6 < 240 goto loop',
    'r0 = 0',
    'exit',
  ];
  return assemble(source.join('\n'));
}

/** The kernel's verification time of raw instructions, loaded at log level 4. */
function kernelTimeRaw(
  progType: ProgTypeName,
  insns: readonly Insn[],
  maps: readonly VerifierMap[],
): KernelStats {
  const created: KernelMapOps[] = [];
  try {
    for (const [i, m] of maps.entries())
      created.push(
        createMap({
          name: `m${i}`,
          type: m.type,
          keySize: m.keySize,
          valueSize: m.valueSize,
          maxEntries: m.maxEntries,
          flags: m.flags,
        }),
      );
    const log = new Uint8Array(1 << 16);
    const sys = getSys();
    const bytes = encode(insns);
    const call = bpfTry(sys, 'PROG_LOAD', {
      prog_type: ProgType[progType],
      insn_cnt: bytes.length / 8,
      insns: bytes,
      license: cString('GPL'),
      log_level: 4,
      log_size: log.length,
      log_buf: log,
      prog_flags: 0,
      prog_name: 'vbench',
      fd_array: created.length ? new Uint8Array(new Int32Array(created.map((m) => m.fd)).buffer) : null,
    });
    if (!call.error) sys.close(call.result);
    const end = log.indexOf(0);
    const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end));
    return statsOf(text, `no statistics (${call.error?.code ?? 'loaded'})`);
  } catch (error) {
    return (error as Error).message;
  } finally {
    for (const m of created) m.close();
  }
}

/** The kernel's verification times of an object's programs, loaded as `tsbpf load` does. */
function kernelTimesOfObject(bytes: Uint8Array, name: string): Map<string, KernelStats> {
  const times = new Map<string, KernelStats>();
  try {
    const object = loadObject(bytes, { name });
    try {
      for (const [n, p] of object.programs) {
        times.set(n, statsOf(p.log, p.error?.message ?? 'no statistics'));
      }
    } finally {
      object.close();
    }
  } catch (error) {
    times.set('*', (error as Error).message);
  }
  return times;
}

function programs(noKernel: string | undefined): Program[] {
  const out: Program[] = [];
  for (const file of readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.bpf.o'))
    .sort()) {
    const bytes = new Uint8Array(readFileSync(join(EXAMPLES, file)));
    const spec = loadObjectSpec(bytes);
    let times: Map<string, KernelStats> | undefined;
    for (const program of spec.programs) {
      const input = verifierInputOf(spec, program);
      if (!input) continue;
      out.push({
        name: `${file.replace('.bpf.o', '')}:${program.name}`,
        input,
        large: false,
        kernel: () => {
          if (noKernel) return noKernel;
          if (!times) {
            // the fastest of five loads per program, as bestOf does for single programs
            times = kernelTimesOfObject(bytes, file.split('.')[0]!);
            for (let i = 1; i < 5; i++)
              for (const [n, next] of kernelTimesOfObject(bytes, file.split('.')[0]!)) {
                const best = times.get(n);
                if (typeof next !== 'string' && (typeof best === 'string' || !best || next.usec < best.usec))
                  times.set(n, next);
              }
          }
          return times.get(program.name) ?? times.get('*') ?? 'not loaded';
        },
      });
    }
  }
  for (const [file, name] of LARGE) {
    const c = parseCorpus(readFileSync(join(CORPUS, file), 'utf8')).find(
      (x) => x.name === name || x.name.startsWith(`${name} `),
    );
    if (!c) continue;
    const d = decodeCase(c);
    const input: VerifierInput = {
      insns: decode(d.insns),
      progType: d.progType,
      maps: d.maps,
      caps: 'root',
      progFlags: d.flags,
      logLevel: 0,
    };
    out.push({
      name: `corpus:${name}`,
      input,
      large: true,
      kernel: () => noKernel ?? kernelTimeRaw(d.progType, input.insns, d.maps),
    });
  }
  const insns = generatedProgram();
  out.push({
    name: `generated:${insns.length}-insn loop`,
    input: { insns, progType: 'SOCKET_FILTER', maps: [], caps: 'root', progFlags: 0, logLevel: 0 },
    large: true,
    kernel: () => noKernel ?? kernelTimeRaw('SOCKET_FILTER', insns, []),
  });
  return out;
}

/** The fastest of `n` kernel loads (its time swings with the machine's load as ours does). */
function bestOf(load: () => KernelStats, n: number): KernelStats {
  let best = load();
  for (let i = 1; i < n && typeof best !== 'string'; i++) {
    const next = load();
    if (typeof next !== 'string' && next.usec < best.usec) best = next;
  }
  return best;
}

interface Measured {
  readonly wall: number;
  readonly cpu: number;
  readonly processed: number;
  /** Peak resident size (MiB) of the process that measured, when it measured nothing else. */
  readonly rss?: number;
}

/**
 * Wall and CPU time (ms) of `runs` verifications: the minimum (what the code costs once V8 has
 * compiled it; the machine's noise only ever adds) and the first (`cold`).
 */
function timeVerify(input: VerifierInput, runs: number): Measured & { readonly cold: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  let processed = 0;
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    processed = verify(input).insnsProcessed;
    walls.push(performance.now() - start);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000);
  }
  return { wall: Math.min(...walls), cpu: Math.min(...cpus), processed, cold: walls[0]! };
}

const SELF = fileURLToPath(import.meta.url);

/** Measure program `index` in a child process, so that its peak memory is its own. */
function timeInChild(index: number, runs: number): Measured & { readonly cold: number } {
  const child = spawnSync(process.execPath, [...process.execArgv, SELF], {
    env: { ...process.env, VBENCH_CHILD: `${index}:${runs}` },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !line.startsWith('{'))
    throw new Error(`measuring program ${index} in a child failed: ${child.stderr || child.error}`);
  return JSON.parse(line) as Measured & { readonly cold: number };
}

// The child's side of timeInChild.
if (process.env.VBENCH_CHILD && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [index, runs] = process.env.VBENCH_CHILD.split(':').map(Number);
  await loadVerifier();
  const measured = timeVerify(programs('child')[index!]!.input, runs!);
  console.log(JSON.stringify({ ...measured, rss: process.resourceUsage().maxRSS / 1024 }));
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0));

export const bench: Bench = {
  description: `our verifier vs the kernel's "verification time" (targets: ≤ ${TARGET_RATIO}x the kernel, ~1M processed insns in ≤ ${TARGET_MS} ms, < ${TARGET_MIB} MiB)`,
  async run({ seconds }) {
    await loadVerifier();
    const noKernel = bpfUnavailable();
    const rows: Array<Record<string, string | number>> = [];
    let worstRatio = 0;
    let worstLarge = 0;
    let worstRss = 0;
    const all = programs(noKernel);
    // The first verification of each small program, in a process that has verified nothing yet
    // (what one `tsbpf verify` pays, V8 compiling the verifier as it goes), then every program
    // once more so that the measured runs below time compiled code, as the kernel's are.
    const cold = new Map<number, number>();
    for (const [index, p] of all.entries()) if (!p.large) cold.set(index, timeVerify(p.input, 1).wall);
    for (const p of all) if (!p.large) timeVerify(p.input, 10);
    for (const [index, p] of all.entries()) {
      // A small program's minimum needs ~100 runs: V8 re-optimises the walk for each program
      // after the others (export:syscall_exit, 828 processed: its minimum over 20 runs was ~2x
      // its minimum over 200 in the same process). A large program's is the minimum of at least
      // 5 runs in its own process (the first one cold), against the fastest of 5 kernel loads:
      // both sides the best of a few, as for the small ones (this machine is shared: with 3, a
      // few seconds of someone else's load could cover all of one side's runs).
      const runs = p.large ? Math.max(5, Math.round(seconds)) : Math.max(100, Math.round(100 * seconds));
      const ours = p.large ? timeInChild(index, runs) : timeVerify(p.input, runs);
      const kernel = bestOf(p.kernel, 5);
      const kernelMs = typeof kernel === 'string' ? undefined : kernel.usec / 1000;
      const ratio = kernelMs ? ours.wall / kernelMs : undefined;
      if (ratio !== undefined) worstRatio = Math.max(worstRatio, ratio);
      if (p.large) worstLarge = Math.max(worstLarge, ours.wall);
      if (ours.rss !== undefined) worstRss = Math.max(worstRss, ours.rss);
      rows.push({
        program: p.name,
        insns: encode(p.input.insns).length / 8,
        processed: ours.processed,
        'kernel processed': typeof kernel === 'string' ? 'n/a' : (kernel.processed ?? '?'),
        'ours ms': fmt(ours.wall),
        'ours cpu ms': fmt(ours.cpu),
        'first ms': fmt(cold.get(index) ?? ours.cold),
        'kernel ms': kernelMs === undefined ? 'n/a' : fmt(kernelMs),
        'vs kernel': ratio === undefined ? 'n/a' : `${ratio.toFixed(1)}x`,
        'vs 2 s': p.large ? `${(ours.wall / TARGET_MS).toFixed(2)}x` : '',
        'peak MiB': ours.rss === undefined ? '' : Math.round(ours.rss),
      });
      if (typeof kernel === 'string' && !noKernel) console.log(`${p.name}: no kernel time: ${kernel}`);
    }
    const kernelPart = noKernel
      ? `kernel times not measured: ${noKernel}`
      : `worst ratio to the kernel ${worstRatio.toFixed(1)}x (target ${TARGET_RATIO}x)`;
    return {
      rows,
      met:
        worstLarge <= TARGET_MS &&
        worstRss < TARGET_MIB &&
        (noKernel !== undefined || worstRatio <= TARGET_RATIO),
      summary: `${kernelPart}; slowest ~1M-insn program ${fmt(worstLarge)} ms (target ${TARGET_MS} ms); peak memory of a ~1M-insn verification ${Math.round(worstRss)} MiB (RSS of its own process; target ${TARGET_MIB} MiB)`,
    };
  },
};
