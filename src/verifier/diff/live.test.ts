/**
 * Live differential check: fresh random programs (a new seed each run, printed so a failure can
 * be replayed with VCORPUS_SEED) through the kernel on this machine and through our verifier.
 *
 * Environment: VCORPUS_COUNT (programs per mode, default 150), VCORPUS_SEED, VCORPUS_MODES
 * (default `root`: the bpf and unpriv modes are covered by the recorded corpora, and fresh bpf-mode
 * programs that reach the 1M-instruction limit take minutes each under tsx; `unpriv` flips kernel.unprivileged_bpf_disabled to 0 while it runs).
 * Skips without bpf() or without our verifier.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verify } from '../index.js';
import type { Caps } from '../types.js';
import { agreement, disagrees, formatDisagreement, formatTable } from './compare.js';
import { oracleUnavailable } from './kernel-oracle.js';
import { liveRun, writeDisagreements } from './live.js';

const modes = (process.env.VCORPUS_MODES ?? 'root').split(',') as Caps[];
const count = Number(process.env.VCORPUS_COUNT ?? 150);
// A fixed seed by default, so `npm test` is repeatable; scripts/verifier-diff.ts draws fresh ones.
const seed = Number(process.env.VCORPUS_SEED ?? 20261203);
const recorded = JSON.parse(
  readFileSync(new URL('../../../testdata/verifier/agreement.json', import.meta.url), 'utf8'),
) as Record<string, { verdict: number }>;

const skip = oracleUnavailable(modes[0]);

describe(`live differential run (seed ${seed})`, { skip: skip ?? false }, () => {
  for (const caps of modes) {
    const reason = oracleUnavailable(caps);
    it(`${count} fresh programs, ${caps}`, { skip: reason ?? false }, () => {
      const run = liveRun(verify, { caps, count, seed });
      console.log(`\n${formatTable([[`live ${caps} seed ${seed}`, run.rows]])}`);
      const wrong = run.rows.filter(disagrees);
      if (wrong.length) {
        const path = join(tmpdir(), `verifier-live-${caps}-${seed}.jsonl`);
        writeDisagreements(run, path);
        console.log(`${wrong.length} disagreements (all in ${path}); first 10:`);
        for (const r of wrong.slice(0, 10)) console.log(formatDisagreement(r));
      }
      const a = agreement(run.rows);
      assert.equal(a.crashes, 0, 'verify() threw');
      // A sample of the recorded corpus's distribution: it may not fall more than three standard
      // deviations below the corpus's recorded agreement (testdata/verifier/agreement.json).
      const p = recorded[`random ${caps}`]?.verdict ?? 0;
      const floor = p - 3 * Math.sqrt((p * (1 - p)) / count);
      assert.ok(
        a.verdict >= floor,
        `verdicts equal for ${(100 * a.verdict).toFixed(1)} % (seed ${seed}); the corpus has ${(100 * p).toFixed(1)} %`,
      );
    });
  }
});
