/**
 * Differential run of our verifier against the kernel, for the people working on the verifier.
 *
 *   npx tsx scripts/verifier-diff.ts [--caps root,bpf,unpriv] [--count N] [--seed S] [--recorded]
 *
 * Fresh programs (default 500 per mode, a random seed) go through the kernel (root; `unpriv`
 * sets kernel.unprivileged_bpf_disabled=0 for the run and restores it) and through `verify()`.
 * With `--recorded` the recorded corpora in testdata/verifier/ are compared instead (no kernel
 * needed). Prints the agreement table and the first disagreements; writes all of them, as
 * corpus lines with our verdict in "ours", to /tmp/verifier-diff-<mode>-<seed>.jsonl.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  compare,
  disagrees,
  formatDisagreement,
  formatTable,
  runOurs,
} from '../src/verifier/diff/compare.js';
import { type CorpusCase, formatCorpus, parseCorpus } from '../src/verifier/diff/corpus.js';
import { oracleUnavailable } from '../src/verifier/diff/kernel-oracle.js';
import { liveRun, writeDisagreements } from '../src/verifier/diff/live.js';
import { verify } from '../src/verifier/index.js';
import type { Caps } from '../src/verifier/types.js';

const { values } = parseArgs({
  options: {
    caps: { type: 'string', default: 'root,bpf,unpriv' },
    count: { type: 'string', default: '500' },
    seed: { type: 'string' },
    recorded: { type: 'boolean', default: false },
    show: { type: 'string', default: '10' },
  },
});
const modes = values.caps.split(',') as Caps[];
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 0x7fffffff;
const show = Number(values.show);

if (values.recorded) {
  const dir = join(import.meta.dirname, '..', 'testdata', 'verifier');
  const files = [...modes.map((caps) => `random-${caps}.jsonl`), 'kernel-style.jsonl', 'regressions.jsonl'];
  const groups = files.map((file) => {
    const cases = parseCorpus(readFileSync(join(dir, file), 'utf8'));
    return [file, cases, cases.map((c) => compare(c, c.kernel!, runOurs(verify, c)))] as const;
  });
  console.log(formatTable(groups.map(([file, , rows]) => [file, rows])));
  for (const [file, cases, rows] of groups) {
    const wrong = rows.flatMap((row, i) =>
      disagrees(row) ? [{ ...(cases[i] as CorpusCase), ours: row.ours }] : [],
    );
    if (!wrong.length) continue;
    const path = `/tmp/verifier-diff-${file}`;
    writeFileSync(path, formatCorpus(wrong));
    console.log(`\n${file}: ${wrong.length} disagreements → ${path}`);
    for (const r of rows.filter(disagrees).slice(0, show)) console.log(formatDisagreement(r));
  }
} else {
  for (const caps of modes) {
    const reason = oracleUnavailable(caps);
    if (reason) {
      console.log(`${caps}: skipped (${reason})`);
      continue;
    }
    const started = Date.now();
    const run = liveRun(verify, { caps, count: Number(values.count), seed });
    console.log(
      `\n${formatTable([[`${caps} seed ${seed}`, run.rows]])}  (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    const path = `/tmp/verifier-diff-${caps}-${seed}.jsonl`;
    const n = writeDisagreements(run, path);
    if (n) {
      console.log(`${n} disagreements → ${path}`);
      for (const r of run.rows.filter(disagrees).slice(0, show)) console.log(formatDisagreement(r));
    }
  }
}
