import assert from 'node:assert/strict';
import { test } from 'node:test';
import { moveGlobalFlags } from './main.js';
import { tsbpf } from './test-harness.js';

test("moveGlobalFlags: bpftool's -j/-p/-jp before the command become the command's options", () => {
  assert.deepEqual(moveGlobalFlags(['-jp', 'map', 'dump', 'id', '5']), [
    'map',
    'dump',
    'id',
    '5',
    '--json',
    '--pretty',
  ]);
  assert.deepEqual(moveGlobalFlags(['-j', '-p', 'prog', 'show']), ['prog', 'show', '--json', '--pretty']);
  assert.deepEqual(moveGlobalFlags(['--json', 'run', 'x.o', '--', '-j']), [
    'run',
    'x.o',
    '--json',
    '--',
    '-j',
  ]);
  // After the command they are the command's own options already; nothing moves.
  const argv = ['map', 'show', '-j'];
  assert.equal(moveGlobalFlags(argv), argv);
});

test('-j before a file command reaches it: btf dump -j of an object file', async () => {
  const after = await tsbpf('btf', 'dump', 'examples/xdp_count.bpf.o', '--format', 'json');
  const before = await tsbpf('-j', 'btf', 'dump', 'examples/xdp_count.bpf.o');
  assert.equal(before.status, 0, before.stderr);
  assert.equal(before.stdout, after.stdout);
  const pretty = await tsbpf('-p', 'btf', 'dump', 'file', 'examples/xdp_count.bpf.o');
  assert.deepEqual(JSON.parse(pretty.stdout), JSON.parse(after.stdout));
  assert.match(pretty.stdout, /^\{\n {4}"types": \[\{\n {12}"id": 1,/);
  const bad = await tsbpf('btf', 'dump', 'id', 'x');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /btf dump id: expected a positive integer, got 'x'/);
});

test("bpftool's trailing `format c|raw` on btf dump equals --format", async () => {
  const spelled = await tsbpf('btf', 'dump', 'file', 'examples/xdp_count.bpf.o', 'format', 'c');
  const option = await tsbpf('btf', 'dump', 'examples/xdp_count.bpf.o', '--format', 'c');
  assert.equal(spelled.status, 0, spelled.stderr);
  assert.match(spelled.stdout, /struct /);
  assert.equal(spelled.stdout, option.stdout);
  const raw = await tsbpf('btf', 'dump', 'examples/xdp_count.bpf.o', 'format', 'raw');
  assert.equal(raw.stdout, (await tsbpf('btf', 'dump', 'examples/xdp_count.bpf.o')).stdout);
  const bad = await tsbpf('btf', 'dump', 'file', 'examples/xdp_count.bpf.o', 'format', 'yaml');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /format 'yaml': expected raw or c/);
});

test('a global output flag given to a command without JSON output says so (exit 2)', async () => {
  const result = await tsbpf('-jp', 'asm', 'no-such.s');
  assert.equal(result.status, 2);
  assert.equal(result.stderr, 'error: tsbpf asm has no --json or --pretty output (given as -jp)\n');
});
