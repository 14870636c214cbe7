// The exporter's Prometheus side without a kernel: a plan for examples/export.bpf.o, maps read
// from entries made here, the text read back with a Prometheus text-format parser.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { loadObjectSpec } from '../../object/object.js';
import { type DecodedEntry, planExport } from './plan.js';
import { metricsRegistry } from './registry.js';

const spec = loadObjectSpec(
  new Uint8Array(readFileSync(fileURLToPath(new URL('../../../examples/export.bpf.o', import.meta.url)))),
);

const plan = planExport(
  {
    object: 'export.bpf.o',
    metrics: {
      counters: [
        { name: 'execs_total', help: 'Execs', map: 'execs', labels: [{ name: 'comm', field: 'comm' }] },
      ],
      gauges: [{ name: 'pending_syscalls', map: 'syscall_start', labels: [{ name: 'tid' }] }],
      histograms: [
        {
          name: 'latency_seconds',
          map: 'syscall_latency',
          buckets: { type: 'log2', slots: 'bcc', count: 4, scale: 0.001 },
        },
        {
          name: 'latency_by_slot',
          map: 'syscall_latency',
          labels: [{ name: 'slot', values: { '0': 'zero' } }],
          buckets: { type: 'log2', count: 2 },
        },
      ],
    },
  },
  spec,
);

test('metrics from map entries: counters, gauges, histograms with cumulative buckets, health', async () => {
  const maps: Record<string, DecodedEntry[]> = {
    execs: [
      [{ comm: 'bash' }, 4n],
      [{ comm: 'a "quoted"\\name' }, 1n],
    ],
    syscall_start: [[1234, 99n]],
    // slot → per-CPU counts
    syscall_latency: [
      [0, [1n, 0n]],
      [1, [2n, 1n]],
      [3, [0n, 5n]],
      [9, [2n, 0n]],
    ],
  };
  const registry = metricsRegistry(plan, (map) => maps[map] ?? [], 2);
  const text = await registry.scrape();
  assert.match(registry.contentType, /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(text);
  const family = (name: string) => {
    const found = families.find((f) => f.name === name);
    assert.ok(found, name);
    return found;
  };
  assert.deepEqual(
    family('execs_total').metrics.map((m) => [m.labels?.comm, m.value]),
    [
      ['bash', '4'],
      ['a "quoted"\\name', '1'],
    ],
  );
  assert.equal(family('execs_total').help, 'Execs');
  assert.deepEqual(family('pending_syscalls').metrics, [{ value: '99', labels: { tid: '1234' } }]);
  assert.equal(family('pending_syscalls').type, 'GAUGE');

  // bcc slots 0..3 end at 1, 2, 4, 8 (× 1 ms); slot 9 is past them: +Inf only.
  const histogram = family('latency_seconds');
  assert.equal(histogram.type, 'HISTOGRAM');
  assert.deepEqual(histogram.metrics[0]?.buckets, {
    '0.001': '1',
    '0.002': '4',
    '0.004': '4',
    '0.008': '9',
    '+Inf': '11',
  });
  assert.equal(histogram.metrics[0]?.count, '11');
  // The midpoint estimate: 1×0.5 + 3×1.5 + 0×3 + 5×6 ms, and 2 at the last bound, 8 ms.
  assert.ok(Math.abs(Number(histogram.metrics[0]?.sum) - 0.051) < 1e-9);

  // A labelled histogram (the parser drops labels on histograms: read those lines directly).
  const lines = text.split('\n').filter((line) => line.startsWith('latency_by_slot'));
  assert.deepEqual(lines.slice(0, 5), [
    'latency_by_slot_bucket{slot="zero",le="2"} 1',
    'latency_by_slot_bucket{slot="zero",le="4"} 1',
    'latency_by_slot_bucket{slot="zero",le="+Inf"} 1',
    'latency_by_slot_sum{slot="zero"} 1',
    'latency_by_slot_count{slot="zero"} 1',
  ]);
  assert.ok(lines.includes('latency_by_slot_bucket{slot="9",le="+Inf"} 2'));

  const value = (name: string) => family(name).metrics[0]?.value;
  assert.equal(value('tsbpf_exporter_up'), '1');
  assert.equal(value('tsbpf_exporter_programs_attached'), '2');
  assert.equal(value('tsbpf_exporter_scrapes_total'), '1');
});

test('a map that cannot be read counts an error and shows no stale samples', async () => {
  let fail = false;
  const registry = metricsRegistry(
    plan,
    (map) => {
      if (fail && map === 'execs') throw new Error('EBADF');
      return map === 'execs' ? [[{ comm: 'sh' }, 1n]] : [];
    },
    0,
  );
  const first = parsePrometheusTextFormat(await registry.scrape());
  assert.deepEqual(first.find((f) => f.name === 'execs_total')?.metrics, [
    { value: '1', labels: { comm: 'sh' } },
  ]);
  fail = true;
  const second = parsePrometheusTextFormat(await registry.scrape());
  assert.deepEqual(second.find((f) => f.name === 'execs_total')?.metrics, []);
  const errors = second.find((f) => f.name === 'tsbpf_exporter_map_read_errors_total')?.metrics;
  assert.deepEqual(
    errors?.map((m) => [m.labels?.map, m.value]),
    [
      ['execs', '1'],
      ['syscall_start', '0'],
      ['syscall_latency', '0'],
    ],
  );
  registry.setUp(0);
  const third = parsePrometheusTextFormat(await registry.scrape());
  assert.equal(third.find((f) => f.name === 'tsbpf_exporter_up')?.metrics[0]?.value, '0');
  await registry.idle();
});
