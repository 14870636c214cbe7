// Kernel resources are cleaned up when the process ends by SIGINT, SIGTERM or SIGHUP (and the
// process still dies by that signal); tracefs instances of dead processes go at the next open.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { removeStaleInstances, tracefsRoot } from '../events/trace-pipe.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-cleanup-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Start `script` (TypeScript, through tsx) and wait for its first line; then send `signal`. */
function endBySignal(
  script: string,
  signal: NodeJS.Signals,
): Promise<{ line: string; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: here('../../../'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let line = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (!line && out.includes('\n')) {
        line = out.split('\n')[0] ?? '';
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (_code, ended) => resolve({ line, signal: ended, stderr }));
  });
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test(`a registered cleanup runs on ${signal}, and the process still dies by it`, async () => {
    const marker = join(dir, `cleaned-${signal}`);
    const script = `
      import { writeFileSync } from 'node:fs';
      import { onProcessEnd } from './src/kernel/sys/cleanup.ts';
      onProcessEnd(() => writeFileSync(${JSON.stringify(marker)}, 'done'));
      setInterval(() => {}, 1000);
      console.log('ready');`;
    const result = await endBySignal(script, signal);
    assert.equal(result.line, 'ready', result.stderr);
    assert.equal(result.signal, signal);
    assert.ok(existsSync(marker), 'the cleanup ran');
  });
}

test("instances of dead processes are removed, live ones' and others' kept", () => {
  const root = join(dir, 'tracefs');
  const names = [
    'tsbpf-999999-0',
    'tsbpf-999999-3',
    `tsbpf-${process.pid}-0`,
    'tsbpf-4242-1',
    'mine',
    'tsbpf-x-1',
  ];
  for (const name of names) mkdirSync(join(root, 'instances', name), { recursive: true });
  const removed = removeStaleInstances(root, (pid) => pid === 4242);
  assert.deepEqual(removed.sort(), ['tsbpf-999999-0', 'tsbpf-999999-3']);
  assert.deepEqual(
    readdirSync(join(root, 'instances')).sort(),
    [`tsbpf-${process.pid}-0`, 'mine', 'tsbpf-4242-1', 'tsbpf-x-1'].sort(),
  );
  assert.deepEqual(removeStaleInstances(join(dir, 'no-tracefs')), []);
});

const tracefs = tracefsRoot();
const instances = tracefs && existsSync(join(tracefs, 'events/bpf_trace/bpf_trace_printk/enable'));
test('a trace pipe’s tracefs instance is removed on SIGTERM and SIGHUP', {
  skip: instances ? false : 'tracefs with the bpf_trace_printk event is not available here',
}, async (t) => {
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    const script = `
      import { openTracePipe } from './src/kernel/events/trace-pipe.ts';
      const pipe = openTracePipe();
      setInterval(() => {}, 1000);
      console.log(pipe.instanceDir);`;
    const result = await endBySignal(script, signal);
    if (/EACCES|EPERM/.test(result.stderr)) {
      t.skip(`cannot create tracefs instances here: ${result.stderr.split('\n')[0]}`);
      return;
    }
    assert.match(result.line, /\/instances\/tsbpf-\d+-0$/, result.stderr);
    assert.equal(result.signal, signal);
    assert.ok(!existsSync(result.line), `${result.line} is left after ${signal}`);
  }
});
