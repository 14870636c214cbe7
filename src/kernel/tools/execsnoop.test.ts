import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { repoRoot } from '../../cli/test-harness.js';
import { tsbpfProcessArgs } from '../../dist.fixture.js';
import { listPrograms } from '../inspect/info.js';
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

test('as its own process, Ctrl-C (SIGINT) ends execsnoop with status 0 and nothing left attached', {
  skip,
}, async () => {
  const child = spawn(process.execPath, tsbpfProcessArgs(['tools', 'execsnoop', '--json', '-n', '^true$']), {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let waited = 0; !stderr.includes('Hit Ctrl-C'); waited += 50) {
    assert.ok(waited < 60_000 && child.exitCode === null, `not tracing: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const during = listPrograms().filter((p) => p.info.name.startsWith('execsnoop_'));
  spawnSync('/bin/true', ['tsbpf-child-run']);
  for (let waited = 0; !stdout.includes('tsbpf-child-run') && waited < 10_000; waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50));
  child.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  assert.match(stdout, /"comm":"true".*"args":\["\/bin\/true","tsbpf-child-run"\]/);
  assert.equal(during.length, 2);
  const ids = new Set(during.map((p) => p.info.id));
  let left = listPrograms().filter((p) => ids.has(p.info.id));
  for (let waited = 0; left.length > 0 && waited < 5000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = listPrograms().filter((p) => ids.has(p.info.id));
  }
  assert.deepEqual(left, []);
});
