/**
 * Our verifier against the kernel's recorded verdicts (testdata/verifier/*.jsonl): per capability
 * mode, the share of equal verdicts, equal first errors (numbers aside) and equal
 * `insns_processed`, checked against the targets of issue 8 §4.
 *
 * By default the cases where the kernel ran into a complexity limit (100,000 instructions explored
 * or more, or its 8,192-jump sequence limit: about 1 % of them, but most of the run time, some
 * taking minutes under tsx) are left out and each group is held to its own record, `… (no
 * complexity-limit cases)`; TSBPF_VERIFIER_HEAVY=1 runs every case against the full record.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verify } from '../index.js';
import type { Caps } from '../types.js';
import {
  type Agreement,
  agreement,
  type Comparison,
  compare,
  disagrees,
  formatDisagreement,
  formatTable,
  runOurs,
} from './compare.js';
import { type CorpusCase, decodeCase, parseCorpus } from './corpus.js';
import { CORPUS_SEEDS, generateCases } from './generate.js';
import { kernelStyleCases } from './kernel-style.js';

const DIR = join(import.meta.dirname, '..', '..', '..', 'testdata', 'verifier');
const BASELINE = join(DIR, 'agreement.json');

type Recorded = Record<string, { verdict: number; firstError: number; processed: number }>;

function readBaseline(): Recorded {
  return existsSync(BASELINE) ? (JSON.parse(readFileSync(BASELINE, 'utf8')) as Recorded) : {};
}

/** Record every measured group at the higher of what was recorded and what was measured. */
function writeBaseline(measured: Record<string, Agreement>, was: Recorded): void {
  const floor = (x: number) => Math.floor(x * 10000) / 10000;
  // Groups not measured in this run (the full ones in a default run, or the reverse) stay as they were.
  const out: Recorded = { ...was };
  for (const [label, a] of Object.entries(measured)) {
    const old = was[label];
    out[label] = {
      verdict: Math.max(old?.verdict ?? 0, floor(a.verdict)),
      firstError: Math.max(old?.firstError ?? 0, floor(a.firstError)),
      processed: Math.max(old?.processed ?? 0, floor(a.processed)),
    };
  }
  writeFileSync(BASELINE, `${JSON.stringify(out, null, 2)}\n`);
}

const describeBaseline = (b: Recorded[string] | undefined) =>
  b
    ? `verdicts ${(100 * b.verdict).toFixed(1)} %, first errors ${(100 * b.firstError).toFixed(1)} %, processed ${(100 * b.processed).toFixed(1)} %`
    : 'nothing recorded';
const MODES: readonly Caps[] = ['root', 'bpf', 'unpriv'];

function readCorpus(file: string): CorpusCase[] {
  return parseCorpus(readFileSync(join(DIR, file), 'utf8'));
}

describe('verifier corpora (recorded kernel verdicts)', () => {
  const files = ['random-root.jsonl', 'random-bpf.jsonl', 'random-unpriv.jsonl', 'kernel-style.jsonl'];

  it('every case parses, decodes and carries the kernel verdict', () => {
    for (const file of files) {
      const cases = readCorpus(file);
      assert.ok(cases.length > 0, `${file} is empty`);
      const names = new Set<string>();
      for (const c of cases) {
        assert.ok(!names.has(c.name), `${file}: duplicate name '${c.name}'`);
        names.add(c.name);
        const decoded = decodeCase(c);
        assert.ok(decoded.insns.length > 0, `${c.name}: no instructions`);
        assert.ok(c.kernel, `${c.name}: no kernel verdict`);
        assert.equal(typeof c.kernel.accepted, 'boolean', `${c.name}: kernel.accepted`);
        if (c.kernel.accepted) assert.ok(c.kernel.insns_processed > 0, `${c.name}: accepted with 0 insns`);
        else assert.ok(c.kernel.error !== null || c.kernel.errno, `${c.name}: rejected without a reason`);
      }
    }
    // The regression file exists (empty until the verifier fixes a disagreement).
    readCorpus('regressions.jsonl');
  });

  it('the random corpora are what the generator writes from their seeds (else re-record)', () => {
    for (const caps of MODES) {
      const recorded = readCorpus(`random-${caps}.jsonl`).slice(0, 40);
      const fresh = generateCases({ caps, count: 40, seed: CORPUS_SEEDS[caps] });
      assert.deepEqual(
        recorded.map((c) => [c.name, c.insns_hex, c.maps, c.flags]),
        fresh.map((c) => [c.name, c.insns_hex, c.maps, c.flags]),
        `random-${caps}.jsonl is stale: run scripts/record-verifier-corpus.ts`,
      );
    }
  });

  it('kernel-style.jsonl holds exactly the hand-written cases (else re-record)', () => {
    const recorded = readCorpus('kernel-style.jsonl');
    assert.deepEqual(
      recorded.map((c) => [c.name, c.insns_hex, c.caps, c.flags]),
      kernelStyleCases().map((c) => [c.name, c.insns_hex, c.caps, c.flags]),
      'kernel-style.jsonl is stale: run scripts/record-verifier-corpus.ts --only kernel-style',
    );
  });

  it('the random corpora sit near the accept/reject boundary (30–70 % accepted per mode)', () => {
    for (const caps of MODES) {
      const cases = readCorpus(`random-${caps}.jsonl`);
      const accepted = cases.filter((c) => c.kernel?.accepted).length / cases.length;
      assert.ok(
        accepted >= 0.3 && accepted <= 0.7,
        `random-${caps}: ${(100 * accepted).toFixed(1)} % accepted`,
      );
    }
  });
});

/** Cases the kernel explored this many instructions for run only with TSBPF_VERIFIER_HEAVY=1. */
const HEAVY_INSNS = 100_000;
/** The kernel's limit on pending branches (BPF_COMPLEXITY_LIMIT_JMP_SEQ): we explore those to 1M. */
const JMP_SEQ_LIMIT = /^The sequence of \d+ jumps is too complex/;
const isHeavy = (c: CorpusCase) =>
  c.kernel!.insns_processed >= HEAVY_INSNS || JMP_SEQ_LIMIT.test(c.kernel!.error ?? '');
const heavy = !!process.env.TSBPF_VERIFIER_HEAVY;
const suffix = heavy ? '' : ' (no complexity-limit cases)';
let left = 0;
/** The cases this run compares: all of them with TSBPF_VERIFIER_HEAVY=1, else the light ones. */
function selected(cases: readonly CorpusCase[]): CorpusCase[] {
  if (heavy) return [...cases];
  const light = cases.filter((c) => !isHeavy(c));
  left += cases.length - light.length;
  return light;
}

describe('our verifier agrees with the kernel', () => {
  const run = (cases: readonly CorpusCase[]): Comparison[] =>
    cases.map((c) => compare(c, c.kernel!, runOurs(verify, c)));
  const random = new Map(MODES.map((caps) => [caps, run(selected(readCorpus(`random-${caps}.jsonl`)))]));
  const style = run(selected(readCorpus('kernel-style.jsonl')));
  const regressions = run(selected(readCorpus('regressions.jsonl')));
  const groups: Array<readonly [string, readonly Comparison[]]> = [
    ...MODES.map((caps) => [`random ${caps}${suffix}`, random.get(caps)!] as const),
    ...MODES.map((caps) => [`kernel-style ${caps}${suffix}`, style.filter((r) => r.caps === caps)] as const),
    [`regressions${suffix}`, regressions],
  ];
  const all = [...[...random.values()].flat(), ...style, ...regressions];
  if (!heavy)
    console.log(
      `\n${left} cases where the kernel hit a complexity limit (${HEAVY_INSNS.toLocaleString('en')} insns or more, or too many pending jumps) are left out; TSBPF_VERIFIER_HEAVY=1 runs them`,
    );
  console.log(`\n${formatTable(groups)}\n`);
  const wrong = all.filter(disagrees);
  if (wrong.length) {
    console.log(`first ${Math.min(10, wrong.length)} of ${wrong.length} disagreements:`);
    for (const r of wrong.slice(0, 10)) console.log(formatDisagreement(r));
  }

  it('verify() never throws', () => {
    const crashed = all.filter((r) => r.ours.crash && r.ours.crash !== 'decode');
    assert.deepEqual(
      crashed.slice(0, 5).map((r) => `${r.name}: ${r.ours.crash}`),
      [],
      `${crashed.length} cases threw`,
    );
  });

  // Where we stand is recorded in testdata/verifier/agreement.json: no group may fall below it
  // (a regression fails), and UPDATE_AGREEMENT=1 records a group that rose. Issue 8's targets
  // (verdicts 99 % random / 95 % kernel-style, first errors 90 %) are printed beside it.
  const measured: Record<string, Agreement> = Object.fromEntries(
    groups.map(([label, rows]) => [label, agreement(rows)]),
  );
  const baseline = readBaseline();
  if (process.env.UPDATE_AGREEMENT === '1') writeBaseline(measured, baseline);
  for (const [label] of groups) {
    it(`${label}: no worse than recorded (${describeBaseline(baseline[label])})`, () => {
      const now = measured[label]!;
      const was = baseline[label];
      if (!was) return;
      for (const key of ['verdict', 'firstError', 'processed'] as const)
        assert.ok(
          now[key] + 1e-9 >= was[key],
          `${key}: ${(100 * now[key]).toFixed(2)} % < recorded ${(100 * was[key]).toFixed(2)} %`,
        );
    });
  }

  it('targets of issue 8 (reported, not yet reached)', (t) => {
    for (const caps of MODES)
      t.diagnostic(
        `random ${caps}${suffix}: verdicts ${(100 * measured[`random ${caps}${suffix}`]!.verdict).toFixed(1)} % (target 99 %)`,
      );
    t.diagnostic(
      `kernel-style${suffix}: verdicts ${(100 * agreement(style).verdict).toFixed(1)} % (target 95 %)`,
    );
    t.diagnostic(
      `first errors: ${(100 * agreement([...random.values()].flat()).firstError).toFixed(1)} % random, ${(100 * agreement(style).firstError).toFixed(1)} % kernel-style (target 90 %)`,
    );
  });

  it('every regression case agrees (verdict and first error)', () => {
    const bad = regressions.filter((r) => !r.verdictEqual || r.errorEqual === false);
    assert.deepEqual(bad.map(formatDisagreement), []);
  });
});
