import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { tsbpf } from './test-harness.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-vectors-'));
after(() => rmSync(work, { recursive: true, force: true }));

const kernelUnavailable = (): string | false => bpfUnavailable() ?? false;

test('tsbpf test runs the committed vectors on the VM', async () => {
  const result = await tsbpf('test', 'testdata/vectors/examples.jsonl');
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^5 passed, 0 failed$/m);
});

test('tsbpf test --kernel gives the same verdicts through BPF_PROG_TEST_RUN', {
  skip: kernelUnavailable(),
}, async () => {
  const vm = await tsbpf('test', 'testdata/vectors/examples.jsonl', '--json');
  const kernel = await tsbpf('test', 'testdata/vectors/examples.jsonl', '--kernel', '--json');
  assert.equal(kernel.status, 0, kernel.stdout + kernel.stderr);
  const lines = (text: string) =>
    text
      .trim()
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line));
  assert.deepEqual(lines(kernel.stdout), lines(vm.stdout));
});

test('a failing case is reported with what differed, and exits 1', async () => {
  const file = join(work, 'fail.jsonl');
  writeFileSync(
    file,
    `${JSON.stringify({ name: 'wrong retval', insns_hex: 'b7000000010000009500000000000000', type: 'xdp', data: '00'.repeat(14), expect: { retval: 2 } })}\n`,
  );
  const result = await tsbpf('test', file);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /FAIL wrong retval: retval 1, expected 2/);
  assert.match(result.stdout, /^0 passed, 1 failed$/m);
});

test('a malformed vectors file is bad input (exit 2) naming the line', async () => {
  const file = join(work, 'bad.jsonl');
  writeFileSync(file, '\n{"name": "x"}\n');
  const result = await tsbpf('test', file);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /line 2: a case needs "program" or "insns_hex"/);
});
