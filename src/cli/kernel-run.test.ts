import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bpfUnavailable } from '../kernel/availability.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function unavailable(): string | false {
  const reason = bpfUnavailable();
  if (reason) return reason;
  return spawnSync('sh', ['-c', 'test -d /sys/kernel/tracing/events']).status === 0
    ? false
    : 'tracefs is not mounted';
}

test('run FILE.o --kernel attaches, streams bpf_printk and cleans up', { skip: unavailable() }, async () => {
  const child = spawn(
    process.execPath,
    [join(root, 'bin/tsbpf.js'), 'run', 'examples/hello.bpf.o', '--kernel', '--duration', '4', '--json'],
    {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  // Give it time to attach, then exec something it must see.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  spawnSync('/bin/true');
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(status, 0);
  const events = out
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
    out.slice(0, 500),
  );
});
