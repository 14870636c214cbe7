// bpf_printk output through trace_pipe: the line parser (no kernel needed) and, against the running
// kernel, hello.bpf.o's "Hello, World!" arriving in a private tracefs instance for a spawned process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { attachBySection } from '../attach/attach.js';
import { loadObject } from '../load/object.js';
import { tracefsUnavailable } from '../sys/availability.js';
import { openTracePipe, parseTraceLine, type TraceLine } from './trace-pipe.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

test('parseTraceLine: the formats trace_pipe prints', () => {
  const line = parseTraceLine(
    '            node-16030   [000] ...21  4081.044992: bpf_trace_printk: Hello, World!',
  );
  assert.deepEqual(
    { ...line, raw: undefined },
    {
      task: 'node',
      pid: 16030,
      cpu: 0,
      flags: '...21',
      timestamp: 4081.044992,
      event: 'bpf_trace_printk',
      message: 'Hello, World!',
      raw: undefined,
    },
  );
  // Task names with spaces and dashes; the tgid column (record-tgid); no irq-info flags.
  const odd = parseTraceLine(' kworker/u4:2-my-task-77 (   70) [001] 12.5: bpf_trace_printk: x: 1-2 [3]');
  assert.equal(odd?.task, 'kworker/u4:2-my-task');
  assert.equal(odd?.pid, 77);
  assert.equal(odd?.cpu, 1);
  assert.equal(odd?.flags, undefined);
  assert.equal(odd?.message, 'x: 1-2 [3]');
  // Old kernels (trace_printk) print no event name.
  const old = parseTraceLine('           <...>-1234  [003] d..3 99.000001: 0x00000001: Hello');
  assert.equal(old?.task, '<...>');
  assert.equal(old?.message, '0x00000001: Hello');
  assert.equal(parseTraceLine('# tracer: nop'), undefined);
  assert.equal(parseTraceLine(''), undefined);
});

const unavailable = tracefsUnavailable();

function kernelTest(name: string, fn: (t: TestContext) => Promise<void>): void {
  test(name, (t) => {
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    return fn(t);
  });
}

kernelTest("trace pipe: hello's bpf_printk line for a spawned process, in a private instance", async () => {
  const object = loadObject(join(EXAMPLES, 'hello.bpf.o'));
  const pipe = openTracePipe();
  const links = [];
  try {
    for (const loaded of object.programs.values()) {
      assert.ok(loaded.program, `${loaded.spec.name}: ${loaded.error?.message}`);
      links.push(attachBySection(loaded.program, loaded.spec));
    }
    assert.ok(pipe.instanceDir && existsSync(pipe.instanceDir));
    const child = execFile('/bin/true');
    const pid = child.pid;
    const deadline = Date.now() + 3000;
    let found: TraceLine | undefined;
    while (!found && Date.now() < deadline) {
      found = (await pipe.poll(500)).find((line) => line.pid === pid);
    }
    assert.ok(found, `no line from pid ${pid}`);
    assert.equal(found.message, 'Hello, World!');
    assert.equal(found.event, 'bpf_trace_printk');
    // Lines are filtered by pid when asked.
    const filtered = openTracePipe({ pid: process.pid });
    try {
      execFile('/bin/true');
      const lines = await filtered.poll(1000);
      assert.ok(lines.every((line) => line.pid === process.pid));
    } finally {
      filtered.close();
    }
  } finally {
    for (const link of links) link.close();
    pipe.close();
    object.close();
  }
  assert.ok(!existsSync(pipe.instanceDir ?? ''), 'the instance is removed on close');
});

kernelTest('trace pipe: close() ends a pending iteration', async () => {
  const pipe = openTracePipe({ marker: 'never printed by anyone: ' });
  const iteration = (async () => {
    let n = 0;
    for await (const _ of pipe) n++;
    return n;
  })();
  setTimeout(() => pipe.close(), 50);
  assert.equal(await iteration, 0);
});
