import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bench } from './bench.js';
import { repoRoot, tsbpf } from './test-harness.js';

describe('tsbpf bench', () => {
  test('both engines time the same program and count the same instructions', () => {
    const results = (['interpreter', 'jit'] as const).map((engine) =>
      bench(`${repoRoot}testdata/asm/sum.s`, {
        engine,
        mem: new Uint8Array([1, 2, 3, 4]),
        batches: 2,
        batchMs: 5,
      }),
    );
    assert.equal(results[0].insns, results[1].insns);
    assert.ok(results[0].insns > 0);
    assert.equal(results[0].compile_ms, null);
    assert.equal(typeof results[1].compile_ms, 'number');
    for (const r of results) {
      assert.ok(r.runs >= 1);
      assert.ok(r.ns_per_run > 0 && r.ns_per_run <= r.ns_per_run_median);
    }
  });

  test('--json prints the documented fields, one line per file; object programs need --data', async () => {
    const out = await tsbpf(
      'bench',
      'testdata/asm/sum.s',
      '--mem',
      '01 02 03 04',
      '--batches',
      '1',
      '--json',
    );
    assert.equal(out.status, 0, out.stderr);
    const line = JSON.parse(out.stdout.trim());
    for (const field of ['file', 'engine', 'insns', 'runs', 'ns_per_run', 'ns_per_insn'])
      assert.ok(field in line, field);
    assert.equal(line.engine, 'jit');
    const object = await tsbpf('bench', 'examples/xdp_count.bpf.o', '--batches', '1');
    assert.notEqual(object.status, 0);
    assert.match(object.stderr, /needs --data/);
  });

  test('run --engine interpreter gives the same r0 as the JIT', async () => {
    const jit = await tsbpf('run', 'testdata/asm/sum.s', '--mem', '01 02 03 04', '--engine', 'jit');
    const interpreter = await tsbpf(
      'run',
      'testdata/asm/sum.s',
      '--mem',
      '01 02 03 04',
      '--engine',
      'interpreter',
    );
    assert.equal(jit.status, 0, jit.stderr);
    assert.equal(jit.stdout, '0xa\n');
    assert.equal(interpreter.stdout, jit.stdout);
  });
});
