import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { tracefsUnavailable } from '../kernel/sys/availability.js';
import { tsbpf } from './test-harness.js';

test('run FILE.o --kernel attaches, streams bpf_printk and cleans up', {
  skip: tracefsUnavailable() ?? false,
}, async () => {
  const running = tsbpf('run', 'examples/hello.bpf.o', '--kernel', '--duration', '4', '--json');
  // Give it time to attach, then exec something it must see.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await new Promise((resolve) => execFile('/bin/true', resolve));
  const { status, stdout, stderr } = await running;
  assert.equal(status, 0, stderr);
  const events = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    events
      .filter((e) => e.kind === 'attached')
      .map((e) => e.program)
      .sort(),
    ['hello_clone', 'hello_execve'],
  );
  assert.ok(
    events.some((e) => e.kind === 'printk' && e.message === 'Hello, World!'),
    stdout.slice(0, 500),
  );
});
