/** `tsbpf verify`: our verdicts on the test objects, JSON shapes and exit status (no root needed). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

function tsbpf(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/tsbpf.js', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('verify FILE.o --json: the rejected program with the kernel message, source line and hint', () => {
  const r = tsbpf('verify', 'testdata/kernel/broken.bpf.o', '--json');
  assert.equal(r.status, 1, r.stderr);
  const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  assert.deepEqual(
    rows.map((x) => [x.program, x.accepted, x.error, x.insns_processed]),
    [
      ['xdp_ok', true, null, 13],
      ['xdp_unchecked', false, 'R1 offset is outside of the packet', 2],
    ],
  );
  assert.match(String(rows[1].line), /broken\.bpf\.c:27/);
  assert.match(String(rows[1].hint), /data_end/);
});

test('verify FILE.o: every program of an example accepted, exit 0', () => {
  const r = tsbpf('verify', 'examples/tail_call.bpf.o');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.match(/accepted/g)?.length, 5);
});

test('verify CASES.jsonl --json: one line per case and a total', () => {
  const r = tsbpf('verify', 'testdata/vectors/examples.jsonl', '--json');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines.at(-1) ?? '', /^5 accepted, 0 rejected$/);
  assert.deepEqual(Object.keys(JSON.parse(lines[0])), [
    'name',
    'accepted',
    'error',
    'insn',
    'insns_processed',
  ]);
});

test('verify: a missing file is bad input (exit 2)', () => {
  assert.equal(tsbpf('verify', 'no/such.o').status, 2);
});
