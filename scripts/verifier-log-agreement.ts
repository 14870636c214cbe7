/**
 * How much of the kernel's verifier log we reproduce: every program of a corpus (the examples'
 * objects, test objects, the verifier's recorded cases) is loaded in the running kernel and in
 * `src/verifier` at log level 1 and 2, and the kernel's lines are matched against ours in order
 * (longest common subsequence). Needs root and bpf().
 *
 *   npx tsx scripts/verifier-log-agreement.ts [--show N] [--level 1|2] [FILE.o|CASES.jsonl …]
 *   npx tsx scripts/verifier-log-agreement.ts --golden all|'CASE NAME' [--golden …]
 *   npx tsx scripts/verifier-log-agreement.ts --golden-object testdata/verifier/logs/btf/X.bpf.o
 *
 * `--golden` (re)records the kernel's logs of kernel-style.jsonl cases at both levels as the golden
 * files of `testdata/verifier/logs/` that log.test.ts compares ours with (`all`: the ones there);
 * `--golden-object` those of every program of one of our objects (BTF, line info), beside it.
 *
 * Not counted: precision-tracking lines (`mark_precise: …`, which we do not print), blank lines,
 * and the timing line of BPF_LOG_STATS. Kernel addresses in `lddw` map loads
 * (`r1 = 0xffff8882db57fc00`) are masked on both sides (`r1 = map[idx:0]` in ours).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decode } from '../src/isa/instruction.js';
import { kernelMapName, loadObject } from '../src/kernel/load/object.js';
import { kernelVerdict } from '../src/kernel/load/verifier-oracle.js';
import { bpfUnavailable } from '../src/kernel/sys/availability.js';
import { VerifierError } from '../src/kernel/sys/errors.js';
import { loadObjectSpec } from '../src/object/object.js';
import { decodeCase, parseCorpus } from '../src/verifier/diff/corpus.js';
import { verify } from '../src/verifier/index.js';
import { verifierInputOf } from '../src/verifier/object.js';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const goldens: string[] = [];
for (let g = opt('--golden'); g !== undefined; g = opt('--golden')) goldens.push(g);
const goldenObject = opt('--golden-object');
const show = Number(opt('--show') ?? 0);
const level = opt('--level');
const levels = (level ? [Number(level)] : [1, 2]) as (1 | 2)[];

const unavailable = bpfUnavailable();
if (unavailable) {
  console.error(`verifier-log-agreement: needs the kernel (${unavailable})`);
  process.exit(2);
}

/** The name objects are loaded under (and their internal maps named after). */
const OBJECT_NAME = 'vlog';

/** One program at one level: the kernel's log and ours. */
interface Pair {
  readonly name: string;
  readonly kernel: string;
  readonly ours: string;
}

const ADDR = /0x[0-9a-f]{16}\b/g;
const OUR_MAP = /map\[(idx|fd|id):\d+\](\+\d+)?/g;
const normalize = (line: string): string =>
  line
    .replace(ADDR, '<addr>')
    .replace(OUR_MAP, '<addr>')
    .replace(/<addr> +;/, '<addr> ;')
    .trimEnd();
const counted = (line: string): boolean =>
  line !== '' && !line.startsWith('mark_precise:') && !line.startsWith('verification time');
const linesOf = (log: string): string[] => log.split('\n').map(normalize).filter(counted);

/** Kernel lines matched in order by ours (LCS; a greedy multiset match for very long logs). */
function matched(k: readonly string[], o: readonly string[]): number {
  if (k.length * o.length > 25_000_000) {
    const bag = new Map<string, number>();
    for (const l of o) bag.set(l, (bag.get(l) ?? 0) + 1);
    let n = 0;
    for (const l of k) {
      const c = bag.get(l) ?? 0;
      if (c > 0) {
        n++;
        bag.set(l, c - 1);
      }
    }
    return n;
  }
  let prev = new Uint32Array(o.length + 1);
  let cur = new Uint32Array(o.length + 1);
  for (let i = 1; i <= k.length; i++) {
    for (let j = 1; j <= o.length; j++)
      cur[j] = k[i - 1] === o[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    [prev, cur] = [cur, prev];
  }
  return prev[o.length];
}

function casePairs(file: string, level: 1 | 2, only?: ReadonlySet<string>): Pair[] {
  const pairs: Pair[] = [];
  for (const c of parseCorpus(readFileSync(file, 'utf8'))) {
    if ((c.caps ?? 'root') !== 'root' || !c.insns_hex || (only && !only.has(c.name))) continue;
    const d0 = decodeCase(c);
    const d = { ...d0, maps: d0.maps.map((m, i) => ({ ...m, name: m.name ?? `m${i}` })) };
    let insns: ReturnType<typeof decode>;
    try {
      insns = decode(d.insns);
    } catch {
      continue;
    }
    const k = kernelVerdict({
      insns: d.insns,
      progType: d.progType,
      maps: d.maps,
      progFlags: d.flags,
      logLevel: level,
    });
    if (k.errno) continue;
    const o = verify({
      insns,
      progType: d.progType,
      maps: d.maps,
      caps: 'root',
      progFlags: d.flags,
      logLevel: level,
    });
    pairs.push({ name: `${basename(file)}: ${c.name}`, kernel: k.log, ours: o.log });
  }
  return pairs;
}

function objectPairs(file: string, level: 1 | 2): Pair[] {
  const bytes = new Uint8Array(readFileSync(file));
  let spec: ReturnType<typeof loadObjectSpec>;
  try {
    spec = loadObjectSpec(bytes);
  } catch {
    return [];
  }
  const pairs: Pair[] = [];
  let object: ReturnType<typeof loadObject>;
  try {
    object = loadObject(bytes, { name: OBJECT_NAME, verifierLogLevel: level });
  } catch {
    return [];
  }
  try {
    for (const program of spec.programs) {
      const spec0 = verifierInputOf(spec, program, { logLevel: level });
      const loaded = object.programs.get(program.name);
      if (!spec0 || !loaded) continue;
      // the kernel's names of internal maps carry the object's name (`vlog.data`)
      const input = {
        ...spec0,
        maps: (spec0.maps ?? []).map((m, i) => ({ ...m, name: kernelMapName(spec.maps[i], OBJECT_NAME) })),
      };
      const kernelLog =
        loaded.error instanceof VerifierError
          ? loaded.error.log
          : loaded.error
            ? undefined
            : loaded.program?.log;
      if (kernelLog === undefined) continue;
      pairs.push({ name: `${basename(file)}: ${program.name}`, kernel: kernelLog, ours: verify(input).log });
    }
  } finally {
    object.close();
  }
  return pairs;
}

const defaults = (): string[] => {
  const dir = (d: string, ext: string) =>
    readdirSync(join(root, d))
      .filter((f) => f.endsWith(ext))
      .map((f) => join(root, d, f));
  return [
    ...dir('examples', '.bpf.o'),
    ...dir('testdata/fidelity', '.bpf.o'),
    ...dir('testdata/object', '.bpf.o'),
    join(root, 'testdata/verifier/regressions.jsonl'),
    join(root, 'testdata/verifier/kernel-style.jsonl'),
    ...dir('testdata/verifier/unit', '.jsonl'),
  ];
};

const goldenDir = join(root, 'testdata/verifier/logs');
const GOLDEN_SOURCE = 'kernel-style.jsonl';
/** A golden file's name: the case name in lower case, runs of other characters as one `-`. */
const goldenSlug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** A kernel log as a golden file keeps it: kernel addresses masked, precision lines dropped. */
const goldenBody = (log: string): string =>
  log
    .split('\n')
    .map((l) => l.replace(ADDR, '<addr>').replace(/<addr> +;/, '<addr> ;'))
    .filter((l) => !l.startsWith('mark_precise:'))
    .join('\n')
    .trimEnd();

/** The kernel's logs of every program of one of our objects, written beside it. */
function recordObjectGoldens(file: string): void {
  for (const level of [1, 2] as const) {
    for (const p of objectPairs(file, level)) {
      const prog = p.name.replace(`${basename(file)}: `, '');
      const out = join(dirname(file), `${prog}.level${level}.txt`);
      writeFileSync(out, `# ${basename(file)}: ${prog}\n${goldenBody(p.kernel)}\n`);
      console.log(`wrote ${out}`);
    }
  }
}

/** The kernel's logs of the named kernel-style cases, written as golden files. */
function recordGoldens(names: readonly string[]): void {
  const wanted = new Set(names);

  if (wanted.delete('all')) {
    for (const f of readdirSync(goldenDir).filter((x) => x.endsWith('.txt')))
      wanted.add(readFileSync(join(goldenDir, f), 'utf8').split('\n')[0].replace(`# ${GOLDEN_SOURCE}: `, ''));
  }
  const file = join(root, 'testdata/verifier', GOLDEN_SOURCE);
  for (const level of [1, 2] as const) {
    for (const p of casePairs(file, level, wanted)) {
      const name = p.name.replace(`${GOLDEN_SOURCE}: `, '');
      const body = goldenBody(p.kernel);
      const out = join(goldenDir, `${goldenSlug(name)}.level${level}.txt`);
      writeFileSync(out, `# ${GOLDEN_SOURCE}: ${name}\n${body}\n`);
      console.log(`wrote ${out}`);
    }
  }
}

if (goldens.length) {
  recordGoldens(goldens);
  process.exit(0);
}
if (goldenObject) {
  recordObjectGoldens(goldenObject);
  process.exit(0);
}

const files = args.length ? args : defaults();
for (const level of levels) {
  let kernelLines = 0;
  let same = 0;
  let programs = 0;
  let identical = 0;
  let shareSum = 0;
  const worst: { name: string; share: number; k: string[]; o: string[] }[] = [];
  for (const file of files) {
    const pairs = file.endsWith('.jsonl') ? casePairs(file, level) : objectPairs(file, level);
    if (process.env.VLOG_PROGRESS) console.error(`${basename(file)}: ${pairs.length} programs`);
    for (const p of pairs) {
      const k = linesOf(p.kernel);
      const o = linesOf(p.ours);
      const m = matched(k, o);
      kernelLines += k.length;
      same += m;
      programs++;
      shareSum += k.length ? m / k.length : 1;
      if (m === k.length && k.length === o.length) identical++;
      else worst.push({ name: p.name, share: k.length ? m / k.length : 1, k, o });
    }
  }
  const pct = kernelLines ? ((100 * same) / kernelLines).toFixed(1) : '–';
  console.log(
    `level ${level}: ${same}/${kernelLines} kernel lines reproduced exactly (${pct} %); ` +
      `per program ${((100 * shareSum) / Math.max(1, programs)).toFixed(1)} % on average; ` +
      `${identical}/${programs} logs identical`,
  );
  worst.sort((a, b) => a.share - b.share);
  for (const w of worst.slice(0, show)) {
    console.log(`--- ${w.name} (${(100 * w.share).toFixed(0)} %)`);
    const ours = new Set(w.o);
    for (const l of w.k) if (!ours.has(l)) console.log(`  kernel only: ${l}`);
    const kernel = new Set(w.k);
    for (const l of w.o) if (!kernel.has(l)) console.log(`  ours only:   ${l}`);
  }
}
