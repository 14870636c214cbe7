import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exitCodeText } from './exitsnoop.js';
import { runTool, toolsUnavailable } from './live.fixture.js';
import { addressText } from './tcpconnect.js';

const skip = toolsUnavailable();

test('exit codes and addresses print as bcc prints them', () => {
  assert.equal(exitCodeText(3 << 8), 'code 3');
  assert.equal(exitCodeText(9), 'signal 9 (KILL)');
  assert.equal(exitCodeText(0x80 | 11), 'signal 11 (SEGV), core dumped');
  assert.equal(exitCodeText(0), '0');
  assert.equal(addressText(new Uint8Array([127, 0, 0, 1, ...new Array(12).fill(0)]), 2), '127.0.0.1');
  assert.equal(addressText(new Uint8Array([0xfe, 0x80, ...new Array(13).fill(0), 1]), 10), 'fe80::1');
  assert.equal(
    addressText(
      new Uint8Array(16).map((_, i) => (i === 15 ? 1 : 0)),
      10,
    ),
    '::1',
  );
  assert.equal(
    addressText(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), 10),
    '2001:db8:0:1::1',
  );
});

test('opensnoop reports our opens (fd, or -1 and the errno) with the path, then detaches', {
  skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-opensnoop-'));
  const file = join(dir, 'present');
  try {
    closeSync(openSync(file, 'w'));
    const run = await runTool(['opensnoop', '--json', '-p', String(process.pid)], {
      prefix: 'opensnoop_',
      trigger: () => {
        closeSync(openSync(file, 'r'));
        try {
          openSync(join(dir, 'missing'), 'r');
        } catch {
          // ENOENT is the event we want
        }
      },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.attached.includes('opensnoop_opena'), run.attached.join(','));
    const ok = run.records.find((r) => r.path === file);
    assert.ok(ok, `no record for ${file}: ${run.stdout.slice(0, 1500)}`);
    assert.equal(ok.pid, process.pid);
    assert.ok((ok.fd as number) >= 0);
    assert.equal(ok.err, 0);
    assert.equal(ok.comm, 'node');
    const missing = run.records.find((r) => r.path === join(dir, 'missing'));
    assert.ok(missing);
    assert.equal(missing.fd, -1);
    assert.equal(missing.err, 2);
    // -p: nobody else's opens.
    assert.ok(run.records.every((r) => r.pid === process.pid));
    assert.deepEqual(run.leftover, []);
    assert.equal(run.openLinks, 0);

    const failed = await runTool(['opensnoop', '-x', '-p', String(process.pid)], {
      prefix: 'opensnoop_',
      ready: (out) => out.includes('PATH'),
      trigger: () => {
        closeSync(openSync(file, 'r'));
        try {
          openSync(join(dir, 'missing'), 'r');
        } catch {}
      },
    });
    assert.match(failed.stdout, /^PID +COMM +FD ERR PATH$/m);

    // -c: exactly that many records, and it ends by itself.
    const counted = await runTool(['opensnoop', '--json', '-p', String(process.pid), '-c', '2'], {
      prefix: 'opensnoop_',
      trigger: () => {
        for (let i = 0; i < 5; i++) closeSync(openSync(file, 'r'));
      },
      signal: 'none',
    });
    assert.equal(counted.status, 0);
    assert.equal(counted.records.length, 2, counted.stdout);
    assert.deepEqual(counted.leftover, []);
    assert.match(failed.stdout, new RegExp(`^${process.pid} +node +-1 +2 ${join(dir, 'missing')}$`, 'm'));
    assert.ok(!failed.stdout.includes(`${file}\n`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exitsnoop reports exit codes and signals with bcc text', { skip }, async () => {
  const run = await runTool(['exitsnoop', '--json'], {
    prefix: 'exitsnoop_',
    trigger: () => {
      spawnSync('/bin/sh', ['-c', 'exit 3']);
      spawnSync('/bin/sh', ['-c', 'kill -9 $$']);
      spawnSync('/bin/true');
    },
  });
  assert.equal(run.status, 0, run.stderr);
  const children = run.records.filter((r) => r.ppid === process.pid);
  assert.ok(
    children.some((r) => r.comm === 'sh' && r.exit_code === 3 && r.sig === 0),
    JSON.stringify(children),
  );
  assert.ok(children.some((r) => r.comm === 'sh' && r.sig === 9));
  assert.ok(children.some((r) => r.comm === 'true' && r.exit_code === 0 && r.sig === 0));
  for (const r of children) assert.ok((r.age as number) >= 0 && (r.age as number) < 60);
  assert.deepEqual(run.leftover, []);
});

test('tcpconnect reports a connect() to a local port with addresses and ports', { skip }, async () => {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const run = await runTool(['tcpconnect', '--json', '-P', String(port)], {
      prefix: 'tcpconnect_',
      trigger: () =>
        new Promise<void>((resolve, reject) => {
          const client = connect(port, '127.0.0.1', () => {
            client.end();
            resolve();
          });
          client.on('error', reject);
        }),
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.records.length, 1, run.stdout);
    const [r] = run.records;
    assert.equal(r!.pid, process.pid);
    assert.equal(r!.ip, 4);
    assert.equal(r!.daddr, '127.0.0.1');
    assert.equal(r!.saddr, '127.0.0.1');
    assert.equal(r!.dport, port);
    assert.deepEqual(run.leftover, []);
  } finally {
    server.close();
  }
});
