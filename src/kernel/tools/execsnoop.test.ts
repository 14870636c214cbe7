import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { runTool, toolsUnavailable } from './live.fixture.js';

const skip = toolsUnavailable();

test('execsnoop reports an exec with its arguments, parent and return value, then detaches', {
  skip,
}, async () => {
  const run = await runTool(['execsnoop', '--json'], {
    prefix: 'execsnoop_',
    trigger: () => {
      spawnSync('/bin/true', ['tsbpf-execsnoop-arg', 'two words']);
      spawnSync('/nonexistent/tsbpf-no-such-binary');
    },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.attached.sort(), ['execsnoop_enter', 'execsnoop_exit']);
  const ok = run.records.find((r) => (r.args as string[])[1] === 'tsbpf-execsnoop-arg');
  assert.ok(ok, `no record of /bin/true in ${run.stdout.slice(0, 2000)}`);
  assert.equal(ok.comm, 'true');
  assert.equal(ok.ret, 0);
  assert.deepEqual(ok.args, ['/bin/true', 'tsbpf-execsnoop-arg', 'two words']);
  assert.equal(ok.ppid, process.pid);
  assert.equal(typeof ok.pid, 'number');
  const failed = run.records.find((r) => (r.args as string[])[0] === '/nonexistent/tsbpf-no-such-binary');
  assert.ok(failed, 'the failed exec is reported');
  assert.equal(failed.ret, -2);
  assert.deepEqual(run.leftover, []);
  assert.equal(run.openLinks, 0);
});

test('execsnoop -x keeps failed execs only; -n filters by name; the table has bcc columns', {
  skip,
}, async () => {
  const run = await runTool(['execsnoop', '-x', '-T'], {
    prefix: 'execsnoop_',
    ready: (out) => out.includes('PCOMM'),
    trigger: () => {
      spawnSync('/bin/true', ['tsbpf-x-ok']);
      spawnSync('/nonexistent/tsbpf-x-failed');
    },
    signal: 'SIGTERM',
  });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.match(lines[0]!, /^TIME {4}PCOMM {12}PID {5}PPID {4}RET ARGS$/);
  assert.ok(!run.stdout.includes('tsbpf-x-ok'));
  assert.match(run.stdout, /^\d\d:\d\d:\d\d node +\d+ +\d+ +-2 \/nonexistent\/tsbpf-x-failed$/m);
  assert.deepEqual(run.leftover, []);

  const named = await runTool(['execsnoop', '--json', '-n', '^true$'], {
    prefix: 'execsnoop_',
    trigger: () => {
      spawnSync('/bin/true', ['tsbpf-n']);
      spawnSync('/bin/echo', ['tsbpf-n']);
    },
  });
  assert.ok(named.records.some((r) => r.comm === 'true'));
  assert.ok(named.records.every((r) => r.comm === 'true'));
});
