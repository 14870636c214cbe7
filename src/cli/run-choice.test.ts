// `tsbpf run FILE.o`: which program runs when none is named, programs the VM cannot test-run
// refused before anything runs (with the alternative), and test-run input refused with --kernel.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { whyNotRunnable } from './packets.js';
import { tsbpf } from './test-harness.js';

// Ethernet + IPv4 (TCP) header: enough for the example XDP programs.
const packet = 'ffffffffffff0000000000000800450000140000000040060000c0a80001c0a80002';
const dir = mkdtempSync(join(tmpdir(), 'tsbpf-run-choice-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('run FILE.o without :PROGRAM', () => {
  test('several programs that could run: refused, the choices listed', async () => {
    const r = await tsbpf('run', 'examples/subprog.bpf.o', '--data', packet);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /2 programs that could run: xdp_pass_counted \(XDP\), xdp_drop_non_ip \(XDP\)/);
    assert.match(r.stderr, /choose one as examples\/subprog\.bpf\.o:xdp_pass_counted/);
  });

  test('a named program of several runs', async () => {
    const r = await tsbpf('run', 'examples/subprog.bpf.o:xdp_drop_non_ip', '--data', packet);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^xdp_drop_non_ip: retval 1 \(XDP_DROP\)/);
  });
});

describe('program types the VM cannot test-run', () => {
  test('a tracepoint program with --data: refused up front naming --kernel and --ctx', async () => {
    const r = await tsbpf('run', 'examples/execsnoop.bpf.o', '--data', packet);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /TRACEPOINT programs have no test run/);
    assert.match(r.stderr, /--kernel/);
    assert.match(r.stderr, /--ctx FILE/);
  });

  test('a tracepoint program over a capture: refused once, not once per packet', async () => {
    const r = await tsbpf('run', 'examples/execsnoop.bpf.o', '--pcap', 'testdata/pcap/sample.pcap');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /TRACEPOINT programs do not take packets/);
    assert.equal(r.stderr.match(/error/g)?.length, 1);
  });

  test('an object of tracepoint programs only: the programs and the reason', async () => {
    const r = await tsbpf('run', 'examples/hello.bpf.o', '--data', packet);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /none of its programs runs on the VM this way: hello_execve \(TRACEPOINT\), hello_clone/,
    );
  });

  test('a tracepoint program runs on the record given with --ctx', async () => {
    const record = join(dir, 'record.bin');
    writeFileSync(record, new Uint8Array(64));
    const r = await tsbpf('run', 'examples/hello.bpf.o:hello_execve', '--ctx', record, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { retval: 0, data_out: null, error: null });
    assert.match(r.stderr, /trace: Hello, World!/);
  });

  test('the rules by type and mode', () => {
    assert.equal(whyNotRunnable('XDP', 'pcap', false), undefined);
    assert.equal(whyNotRunnable('TRACEPOINT', 'once', true), undefined);
    assert.match(whyNotRunnable('TRACEPOINT', 'once', false) ?? '', /--kernel.*--ctx FILE/);
    assert.match(whyNotRunnable('RAW_TRACEPOINT', 'pcap', false) ?? '', /do not take packets/);
    assert.equal(whyNotRunnable('RAW_TRACEPOINT', 'once', true), undefined);
    assert.match(
      whyNotRunnable('SOCK_OPS', 'once', false) ?? '',
      /needs TCP socket events; run it with --kernel/,
    );
  });
});

test('run --kernel refuses test-run input before touching the kernel', async () => {
  const r = await tsbpf('run', 'examples/hello.bpf.o', '--kernel', '--data', packet);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /--data is for test runs on the VM; with --kernel/);
  const both = await tsbpf(
    'run',
    'examples/xdp_count.bpf.o',
    '--kernel',
    '--pcap',
    'x.pcap',
    '--repeat',
    '3',
  );
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--pcap, --repeat are for test runs on the VM/);
});
