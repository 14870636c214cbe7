/**
 * Record the verifier corpora against the kernel on this machine (root; Linux 6.18):
 *
 *   testdata/verifier/random-<caps>.jsonl   generated programs (fixed seeds), per capability mode
 *   testdata/verifier/kernel-style.jsonl    hand-written cases in the spirit of the kernel selftests
 *   testdata/verifier/regressions.jsonl     created empty if missing (the verifier's fixed disagreements)
 *
 * Each case carries the kernel's verdict in `"kernel"`. Usage:
 *
 *   npx tsx scripts/record-verifier-corpus.ts [--only random|kernel-style] [--caps root,bpf,unpriv]
 *                                             [--root N] [--bpf N] [--unpriv N]
 *
 * `unpriv` sets kernel.unprivileged_bpf_disabled=0 while it records and restores it after.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CorpusCase, formatCorpus } from '../src/verifier/diff/corpus.js';
import { CORPUS_SEEDS, generateCases } from '../src/verifier/diff/generate.js';
import {
  isSetupError,
  oracleUnavailable,
  runOracle,
  withUnprivilegedBpf,
} from '../src/verifier/diff/kernel-oracle.js';
import { kernelStyleCases } from '../src/verifier/diff/kernel-style.js';
import type { Caps } from '../src/verifier/types.js';

const OUT = join(import.meta.dirname, '..', 'testdata', 'verifier');

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    caps: { type: 'string', default: 'root,bpf,unpriv' },
    root: { type: 'string', default: '2000' },
    bpf: { type: 'string', default: '1000' },
    unpriv: { type: 'string', default: '1000' },
  },
});
const modes = values.caps.split(',') as Caps[];

function record(cases: readonly CorpusCase[], caps: Caps): { kept: CorpusCase[]; dropped: string[] } {
  const run = () => runOracle(cases, caps);
  const verdicts = caps === 'unpriv' ? withUnprivilegedBpf(run) : run();
  const kept: CorpusCase[] = [];
  const dropped: string[] = [];
  verdicts.forEach((verdict, i) => {
    if (isSetupError(verdict)) dropped.push(`${cases[i].name}: ${verdict.setupError}`);
    else kept.push({ ...cases[i], caps, kernel: verdict });
  });
  return { kept, dropped };
}

function summary(label: string, cases: readonly CorpusCase[], dropped: readonly string[]): void {
  const accepted = cases.filter((c) => c.kernel?.accepted).length;
  const share = cases.length ? ((100 * accepted) / cases.length).toFixed(1) : '0';
  console.log(
    `${label}: ${cases.length} cases, ${accepted} accepted (${share} %), ${dropped.length} dropped`,
  );
  for (const line of dropped.slice(0, 5)) console.log(`  dropped ${line}`);
}

mkdirSync(OUT, { recursive: true });
for (const caps of modes) {
  const reason = oracleUnavailable(caps);
  if (reason) throw new Error(`cannot record '${caps}': ${reason}`);
}

if (values.only !== 'kernel-style') {
  for (const caps of modes) {
    const count = Number(values[caps]);
    const started = Date.now();
    const { kept, dropped } = record(generateCases({ caps, count, seed: CORPUS_SEEDS[caps] }), caps);
    writeFileSync(join(OUT, `random-${caps}.jsonl`), formatCorpus(kept));
    summary(`random-${caps} (${((Date.now() - started) / 1000).toFixed(0)} s)`, kept, dropped);
  }
}

if (values.only !== 'random') {
  const all: CorpusCase[] = [];
  const dropped: string[] = [];
  const cases = kernelStyleCases();
  for (const caps of ['root', 'bpf', 'unpriv'] as const) {
    const mine = cases.filter((c) => (c.caps ?? 'root') === caps);
    if (!mine.length) continue;
    const result = record(mine, caps);
    all.push(...result.kept);
    dropped.push(...result.dropped);
  }
  // Keep the hand-written order.
  const order = new Map(cases.map((c, i) => [c.name, i]));
  all.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  writeFileSync(join(OUT, 'kernel-style.jsonl'), formatCorpus(all));
  summary('kernel-style', all, dropped);
}

const regressions = join(OUT, 'regressions.jsonl');
if (!existsSync(regressions)) writeFileSync(regressions, '');
