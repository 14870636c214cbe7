/**
 * The verifier against the kernel's recorded answers (testdata/verifier/unit/*.jsonl, recorded on
 * Linux 6.18 by scripts/record-verifier-cases.ts): verdict, error line and processed-insn count.
 * A live test re-checks the recordings against the running kernel when bpf() is available.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assemble } from '../isa/index.js';
import { kernelVerdict } from '../kernel/load/verifier-oracle.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { loadObjectSpec } from '../object/object.js';
import type { ProgTypeName } from '../uapi.js';
import { verify } from './index.js';
import { verifierInputOf } from './object.js';
import type { VerifierMap } from './types.js';

interface UnitCase {
  readonly name: string;
  readonly type: ProgTypeName;
  readonly asm: string;
  readonly maps?: VerifierMap[];
  readonly flags?: number;
  /** Known disagreement, with the reason; checked to still disagree so the list stays honest. */
  readonly known?: string;
  /** Runs to the 1,000,000-insn limit: only with TSBPF_VERIFIER_HEAVY=1 (slow on a shared machine). */
  readonly heavy?: boolean;
  readonly kernel: { accepted: boolean; error?: string; insns_processed?: number; errno?: string };
}

const dir = new URL('../../testdata/verifier/unit/', import.meta.url).pathname;
const cases: UnitCase[] = readdirSync(dir)
  .filter((f) => f.endsWith('.jsonl'))
  .flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as UnitCase),
  );

/** The kernel's error text with the trailing statistics some messages run into removed. */
const kernelError = (e: string | undefined) => e?.replace(/processed \d+ insns.*$/, '');

describe('verifier: recorded kernel verdicts', () => {
  for (const c of cases) {
    const skip =
      c.heavy && !process.env.TSBPF_VERIFIER_HEAVY
        ? 'explores ~1,000,000 insns; set TSBPF_VERIFIER_HEAVY=1'
        : false;
    it(c.name, { skip }, () => {
      const r = verify({ insns: assemble(c.asm), progType: c.type, maps: c.maps, progFlags: c.flags });
      const got = { accepted: r.accepted, error: r.error?.message, insns: r.insnsProcessed };
      const want = {
        accepted: c.kernel.accepted,
        error: kernelError(c.kernel.error),
        insns: c.kernel.insns_processed ?? 0,
      };
      if (c.known) {
        assert.notDeepEqual(got, want, `now agrees with the kernel; drop "known": ${c.known}`);
        return;
      }
      assert.deepEqual(got, want);
    });
  }
});

describe('verifier: never throws', () => {
  it('gives a verdict for an empty program', () => {
    const r = verify({ insns: [], progType: 'XDP' });
    assert.equal(r.accepted, false);
  });
});

describe('verifier: live kernel re-check', () => {
  const why = bpfUnavailable();
  it('recorded verdicts still match the running kernel', {
    skip: why ? `bpf() unavailable: ${why}` : false,
  }, () => {
    for (const c of cases) {
      if (c.heavy) continue;
      const v = kernelVerdict({ insns: assemble(c.asm), progType: c.type, maps: c.maps, progFlags: c.flags });
      assert.deepEqual(
        { accepted: v.accepted, error: v.error, insns: v.insnsProcessed },
        { accepted: c.kernel.accepted, error: c.kernel.error, insns: c.kernel.insns_processed },
        c.name,
      );
    }
  });
});

describe('verifier: LD_ABS in a bpf_loop callback (testdata/verifier/callbacks, measured on 6.18)', () => {
  const dir = new URL('../../testdata/verifier/callbacks/', import.meta.url).pathname;
  const spec = loadObjectSpec(new Uint8Array(readFileSync(`${dir}ld_abs.bpf.o`)));
  const run = (name: string) => {
    const program = spec.programs.find((p) => p.name === name);
    assert.ok(program);
    const input = verifierInputOf(spec, program);
    assert.ok(input);
    return verify(input);
  };
  it('rejects the load when nothing in the callback wrote r0 before it', () => {
    const r = run('ld_abs_in_callback');
    assert.equal(r.accepted, false);
    assert.equal(r.error?.message, 'verifier bug: callback unexpected regs 1');
  });
  it('accepts it after the callback wrote r0', () => {
    assert.equal(run('ld_abs_after_r0_in_callback').accepted, true);
  });
});
