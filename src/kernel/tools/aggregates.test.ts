import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../cli/test-harness.js';
import { runTool, toolsUnavailable } from './live.fixture.js';
import { syscallName } from './syscount.js';

const skip = toolsUnavailable();

test('syscount -L -p counts our own system calls with their total time, sorted by it', { skip }, async () => {
  const run = await runTool(['syscount', '--json', '-L', '-p', String(process.pid)], {
    prefix: 'syscount_',
    ready: (_out, err) => err.includes('Ctrl+C'),
    trigger: () => {
      for (let i = 0; i < 50; i++) spawnSync('/bin/true');
    },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.attached.sort(), ['syscount_enter', 'syscount_exit']);
  // Spawning children is at least a clone/fork and a wait per child, in this process.
  const names = run.records.map((r) => r.syscall);
  assert.ok(run.records.length > 0 && run.records.length <= 10, run.stdout);
  assert.ok(
    names.some((n) => /^(clone|clone3|vfork|fork|wait4|waitid)$/.test(String(n))),
    JSON.stringify(names),
  );
  for (const r of run.records) {
    assert.ok((r.count as number) > 0);
    assert.equal(typeof r.total_us, 'number');
  }
  // Sorted by time with -L.
  const times = run.records.map((r) => r.total_us as number);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
  );
  assert.deepEqual(run.leftover, []);
  assert.equal(run.openLinks, 0);
  if (process.arch === 'x64') {
    assert.equal(syscallName(0), 'read');
    assert.equal(syscallName(59), 'execve');
  }
  assert.equal(syscallName(100_000), '[unknown: 100000]');
});

test("syscount prints bcc's table per interval", { skip }, async () => {
  const run = await runTool(['syscount', '-i', '0.2', '-T', '3'], {
    prefix: 'syscount_',
    ready: (out) => out.includes('Ctrl+C'),
    trigger: () => new Promise((resolve) => setTimeout(resolve, 500)),
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^\[\d\d:\d\d:\d\d\]\nSYSCALL {19}COUNT\n(\S+ +\d+\n){1,3}\n/m);
});

test('runqlat prints a log2 histogram of run queue latency and detaches', { skip }, async () => {
  const run = await runTool(['runqlat', '--json'], {
    prefix: 'runqlat_',
    trigger: () => {
      for (let i = 0; i < 20; i++) spawnSync('/bin/true');
    },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.attached.sort(), ['runqlat_switch', 'runqlat_wakeup', 'runqlat_wakeup_'].sort());
  assert.equal(run.records.length, 1, run.stdout);
  const [hist] = run.records as Array<{
    unit: string;
    buckets: Array<{ low: number; high: number; count: number }>;
  }>;
  assert.equal(hist!.unit, 'usecs');
  assert.ok(hist!.buckets.reduce((sum, b) => sum + b.count, 0) > 0);
  assert.deepEqual(hist!.buckets[0], { ...hist!.buckets[0], low: 0, high: 1 });
  for (const [i, b] of hist!.buckets.entries()) {
    if (i === 0) continue;
    assert.equal(b.low, hist!.buckets[i - 1]!.high + 1);
    assert.equal(b.high, 2 * b.low - 1);
  }
  assert.deepEqual(run.leftover, []);
  assert.equal(run.openLinks, 0);

  // `interval count`: it ends by itself after one interval.
  const text = await runTool(['runqlat', '-m', '0.5', '1'], {
    prefix: 'runqlat_',
    ready: (out) => out.includes('Hit Ctrl-C'),
    trigger: () => {},
    signal: 'none',
  });
  assert.equal(text.status, 0, text.stderr);
  assert.deepEqual(text.leftover, []);
  assert.match(text.stdout, /^ {5}msecs {15}: count +distribution$/m);
});

test('biolatency measures direct writes to the disk this repository is on', { skip }, async (t) => {
  const dir = mkdtempSync(join(repoRoot, '.biolatency-'));
  try {
    const run = await runTool(['biolatency', '--json', '-D'], {
      prefix: 'biolatency_',
      trigger: () => {
        const fd = openSync(join(dir, 'data'), 'w');
        for (let i = 0; i < 16; i++) {
          writeSync(fd, Buffer.alloc(64 * 1024, i));
          fsyncSync(fd);
        }
        closeSync(fd);
      },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.attached.sort(), ['biolatency_comp', 'biolatency_issu']);
    assert.deepEqual(run.leftover, []);
    if (run.records.length === 0) {
      t.skip('no block I/O reached a disk (the repository is on tmpfs or an overlay without one)');
      return;
    }
    const disks = run.records.map((r) => r.disk);
    assert.ok(
      disks.every((d) => typeof d === 'string' && d.length > 0),
      JSON.stringify(disks),
    );
    assert.ok(run.records.some((r) => (r.buckets as Array<{ count: number }>).some((b) => b.count > 0)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
