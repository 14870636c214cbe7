// `tsbpf export --check` in-process: no root needed; the live command is tested in
// src/kernel/export/exporter.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, tsbpf } from './test-harness.js';

test('tsbpf export --check accepts the example', async () => {
  const result = await tsbpf('export', 'examples/export.yaml', '--check');
  assert.equal(result.status, 0, result.stderr);
  assert.match(
    result.stdout,
    /^examples\/export\.yaml: ok: 2 metrics \(tsbpf_execs_total counter, tsbpf_syscall_latency_seconds histogram\) from .*examples\/export\.bpf\.o, programs count_exec, syscall_enter, syscall_exit\n$/,
  );
});

test('tsbpf export: a bad configuration, file or listen address is bad input (exit 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-export-cli-'));
  try {
    const config = join(dir, 'bad.yaml');
    writeFileSync(
      config,
      `object: ${join(repoRoot, 'examples/export.bpf.o')}\nmetrics:\n  counters:\n    - name: x\n      map: execs\n      labels: [{ name: comm, field: com }]\n`,
    );
    const bad = await tsbpf('export', config, '--check');
    assert.equal(bad.status, 2);
    assert.match(
      bad.stderr,
      /bad\.yaml:6:\d+: metrics\.counters\[0\]\.labels\[0\]\.field: no member 'com' in the key/,
    );

    const missing = await tsbpf('export', join(dir, 'none.yaml'), '--check');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /none\.yaml: cannot read \(ENOENT\)/);

    const listen = await tsbpf('export', 'examples/export.yaml', '--check', '--listen', 'nowhere');
    assert.equal(listen.status, 2);
    assert.match(listen.stderr, /listen address 'nowhere': expected HOST:PORT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
