import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatHistogram, log2Histogram } from '../maps/histogram.js';
import { readCapture } from '../pcap/pcap.js';
import { tsbpf } from './test-harness.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-packets-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('run FILE.o --pcap counts verdicts and shows maps by their BTF types', async () => {
  const out = join(work, 'passed.pcap');
  const result = await tsbpf(
    'run',
    'examples/xdp_count.bpf.o',
    '--pcap',
    'testdata/pcap/sample.pcap',
    '--write',
    out,
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /XDP_PASS\s+22/);
  assert.match(result.stdout, /key: 6 +value: \{ packets: 16, bytes: 1306 \}/);
  assert.match(result.stdout, /key: 17 +value: \{ packets: 3, bytes: 179 \}/);
  assert.equal(readCapture(new Uint8Array(readFileSync(out))).packets.length, 22);
});

test('run FILE.o:PROGRAM --pcap --json for scripts', async () => {
  const result = await tsbpf(
    'run',
    'examples/socket_filter.bpf.o:keep_tcp',
    '--pcap',
    'testdata/pcap/sample.pcap',
    '--json',
  );
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.program, 'keep_tcp');
  assert.equal(report.packets, 22);
  assert.equal(report.verdicts.drop, 6);
  assert.deepEqual(report.maps.filter_stats[0], ['00000000', '1600000000000000']);
});

test('run --pcap gives the same report and written packets through the JIT’s record loop as packet by packet', async () => {
  // The interpreter runs a capture packet by packet; the JIT (default) runs a classic pcap under
  // a verified XDP program in its record loop (src/vm/capture-run.ts).
  const runs = [];
  for (const engine of ['interpreter', 'jit']) {
    const out = join(work, `passed-${engine}.pcap`);
    const result = await tsbpf(
      'run',
      'examples/xdp_count.bpf.o',
      '--pcap',
      'testdata/pcap/sample.pcap',
      '--write',
      out,
      '--json',
      '--engine',
      engine,
    );
    assert.equal(result.status, 0, result.stderr);
    runs.push({ report: JSON.parse(result.stdout), written: readFileSync(out) });
  }
  assert.equal(runs[0]!.report.verdicts.XDP_PASS, 22);
  assert.deepEqual(runs[1], runs[0]);
});

test('run FILE.o --data prints retval and data_out as JSON', async () => {
  const frame = '000000000000000000000000' + '0800' + '45000014000000004011000000000000' + '00000000';
  const result = await tsbpf('run', 'examples/xdp_count.bpf.o', '--data', frame, '--json');
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { retval: 2, data_out: frame, error: null });
});

test('a raw program runs with --type', async () => {
  const file = join(work, 'drop.bin');
  writeFileSync(file, Buffer.from('b7000000010000009500000000000000', 'hex'));
  const result = await tsbpf('run', file, '--type', 'xdp', '--data', '00'.repeat(14), '--json');
  assert.deepEqual(JSON.parse(result.stdout), { retval: 1, data_out: '00'.repeat(14), error: null });
  const bad = await tsbpf('run', file, '--type', 'nonsense', '--data', '00');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /not a program type/);
});

test('histogram-shaped maps print as bcc log2 histograms (bcc slots)', () => {
  const slots = new Array<bigint>(64).fill(0n);
  slots[1] = 2n;
  slots[3] = 8n;
  const text = formatHistogram(log2Histogram(slots, 'usecs', 'bcc'));
  const lines = text.split('\n');
  assert.match(lines[0], /usecs +: count +distribution/);
  // bcc's print_log2_hist: slot 1 (low = high = 1) prints as `0 -> 1`.
  assert.match(lines[2], /^ +0 -> 1 +: 2 +\|\*{10} +\|$/);
  assert.match(lines[4], /^ +4 -> 7 +: 8 +\|\*{40}\|$/);
});
