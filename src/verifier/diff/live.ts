/**
 * A live differential run: fresh random programs through the kernel and through our verifier,
 * compared. Node-only (the kernel oracle); used by `live.test.ts` and `scripts/verifier-diff.ts`.
 */
import { writeFileSync } from 'node:fs';
import type { Caps } from '../types.js';
import { type Comparison, compare, disagrees, runOurs, type VerifyFn } from './compare.js';
import { type CorpusCase, formatCorpus } from './corpus.js';
import { generateCases } from './generate.js';
import { isSetupError, runOracle, withUnprivilegedBpf } from './kernel-oracle.js';

export interface LiveRun {
  readonly caps: Caps;
  readonly seed: number;
  /** The cases with the kernel's verdicts (cases whose maps this mode may not create dropped). */
  readonly cases: readonly CorpusCase[];
  readonly rows: readonly Comparison[];
}

/** Generate `count` programs from `seed`, load them in the kernel in mode `caps`, and compare. */
export function liveRun(verify: VerifyFn, options: { caps: Caps; count: number; seed: number }): LiveRun {
  const generated = generateCases(options);
  const oracle = () => runOracle(generated, options.caps);
  const verdicts = options.caps === 'unpriv' ? withUnprivilegedBpf(oracle) : oracle();
  const cases: CorpusCase[] = [];
  verdicts.forEach((verdict, i) => {
    if (!isSetupError(verdict)) cases.push({ ...generated[i], kernel: verdict });
  });
  const rows = cases.map((c) => compare(c, c.kernel!, runOurs(verify, c, options.caps)));
  return { caps: options.caps, seed: options.seed, cases, rows };
}

/**
 * Write a run's disagreements as corpus lines (with our verdict in `"ours"`) to `path`, ready to
 * study and, once fixed, to append to `testdata/verifier/regressions.jsonl`. Returns how many.
 */
export function writeDisagreements(run: LiveRun, path: string): number {
  const lines = run.rows.flatMap((row, i) => (disagrees(row) ? [{ ...run.cases[i], ours: row.ours }] : []));
  writeFileSync(path, formatCorpus(lines));
  return lines.length;
}
