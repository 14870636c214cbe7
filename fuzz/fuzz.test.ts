/**
 * The CI-sized fuzz run (`npm run fuzz` is the long one): every regression file under
 * testdata/fuzz/ replays without an untyped exception, hang or death, and a few thousand fresh
 * inputs per target (bounded in time) find none either. Known classes (fuzz/known.ts, being fixed
 * elsewhere) are reported, not failed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FuzzReport, formatReport, runFuzz } from './harness.js';

const describe = (report: FuzzReport) =>
  report.unknown
    .map(
      (f) =>
        `${f.target} ${f.kind}: ${f.signature}\n  input: ${f.example.slice(0, 400)}\n  ${f.detail.split('\n').slice(0, 6).join('\n  ')}`,
    )
    .join('\n');

test('regression files in testdata/fuzz/ replay cleanly', async (t) => {
  const report = await runFuzz({ count: 0, replay: true, parallel: 2 });
  t.diagnostic(formatReport(report));
  assert.equal(report.unknown.length, 0, describe(report));
});

test('a CI-sized fuzz run finds no untyped exception, hang or death', async (t) => {
  const report = await runFuzz({
    count: 3000,
    // About 20 s in all on two cores: each target stops after its time even if short of the count.
    secondsPerTarget: 2.5,
    // Inputs differ from run to run; a finding prints its input (hex) to reproduce it.
    seed: Date.now() % 1_000_000,
    parallel: 2,
    // A known hang costs a second and a restart: one is enough to see it is still there.
    maxKnown: 1,
    minimise: false,
  });
  t.diagnostic(formatReport(report));
  for (const s of report.stats) assert.ok(s.inputs > 0, `${s.target}: no input ran`);
  assert.equal(report.unknown.length, 0, describe(report));
});
