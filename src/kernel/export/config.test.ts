// The exporter's configuration without a kernel: shape errors and BTF errors name the field by
// its path and its line in the file, and a plan turns decoded map entries into samples.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadObjectSpec } from '../../object/object.js';
import { type ExportConfig, ExportConfigError, parseExportConfig } from './config.js';
import { checkExport, parseListen } from './exporter.js';
import {
  type DecodedEntry,
  type HistogramMetricPlan,
  log2Bounds,
  planExport,
  type ValueMetricPlan,
} from './plan.js';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
const exportSpec = loadObjectSpec(new Uint8Array(readFileSync(`${examples}export.bpf.o`)));

/** The error `fn` throws, checked to be an {@link ExportConfigError}. */
function configError(fn: () => unknown): ExportConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ExportConfigError, `expected ExportConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an ExportConfigError');
}

const counter = (extra: string) => `object: export.bpf.o
metrics:
  counters:
    - name: execs_total
      map: execs
${extra}`;

test('the example configuration parses and plans against its object', () => {
  const { config, locate } = parseExportConfig(readFileSync(`${examples}export.yaml`, 'utf8'), 'export.yaml');
  const { plan } = checkExport(config, { baseDir: examples, locate });
  assert.deepEqual(plan.programs, ['count_exec', 'syscall_enter', 'syscall_exit']);
  assert.deepEqual(
    plan.metrics.map((m) => [m.name, m.kind, m.labelNames]),
    [
      ['tsbpf_execs_total', 'counter', ['comm']],
      ['tsbpf_syscall_latency_seconds', 'histogram', []],
    ],
  );
});

test('JSON is accepted as it is', () => {
  const { config } = parseExportConfig(
    JSON.stringify({
      object: 'export.bpf.o',
      metrics: { gauges: [{ name: 'g', map: 'execs', labels: [{ name: 'comm', field: 'comm' }] }] },
    }),
    'c.json',
  );
  assert.equal(config.metrics.gauges?.[0]?.map, 'execs');
});

const SHAPE_ERRORS: ReadonlyArray<readonly [string, string, RegExp]> = [
  [
    'unknown field',
    counter('      lables: []\n'),
    /^c\.yaml:6:7: metrics\.counters\[0\]\.lables: unknown field \(expected name, help, map/,
  ],
  [
    'missing map',
    'object: x.o\nmetrics:\n  gauges:\n    - name: g\n',
    /^c\.yaml:4:7: metrics\.gauges\[0\]\.map: missing$/,
  ],
  [
    'bad metric name',
    counter('').replace('execs_total', '1execs'),
    /metrics\.counters\[0\]\.name: '1execs' is not a Prometheus metric name/,
  ],
  [
    'bad label name',
    counter('      labels: [{ name: "co-mm", field: comm }]\n'),
    /labels\[0\]\.name: 'co-mm' is not a Prometheus label name/,
  ],
  [
    'label twice',
    counter('      labels: [{ name: a, field: comm }, { name: a, field: comm }]\n'),
    /labels\[1\]\.name: label 'a' is given twice/,
  ],
  ['no metrics', 'object: x.o\nmetrics: {}\n', /^c\.yaml:2:\d+: metrics: no metrics/],
  ['missing object', 'metrics:\n  counters: []\n', /object: missing/],
  [
    'metric twice',
    `${counter('')}  gauges:\n    - { name: execs_total, map: execs }\n`,
    /metrics\.gauges\[0\]\.name: metric 'execs_total' is already defined at metrics\.counters\[0\]\.name/,
  ],
  [
    'le label on a histogram',
    'object: x.o\nmetrics:\n  histograms:\n    - { name: h, map: m, labels: [{ name: le }], buckets: { type: log2 } }\n',
    /labels\[0\]\.name: 'le' is the bucket label/,
  ],
  [
    'unknown bucket type',
    'object: x.o\nmetrics:\n  histograms:\n    - { name: h, map: m, buckets: { type: linear } }\n',
    /buckets\.type: expected one of 'log2', got string "linear"/,
  ],
  [
    'too many slots',
    'object: x.o\nmetrics:\n  histograms:\n    - { name: h, map: m, buckets: { type: log2, count: 65 } }\n',
    /buckets\.count: 65 is out of range \(1 to 64\)/,
  ],
  [
    'wrong type',
    'object: [a]\nmetrics: {}\n',
    /^c\.yaml:1:1: object: expected a non-empty string, got a list/,
  ],
  [
    'program twice',
    `programs: [{ name: a }, { name: a }]\n${counter('')}`,
    /programs\[1\]\.name: program 'a' is listed twice/,
  ],
  ['YAML syntax', 'object: x.o\nmetrics:\n  counters: [\n', /^c\.yaml:\d+:\d+: /],
  ['duplicate key', 'object: x.o\nobject: y.o\nmetrics: {}\n', /^c\.yaml:2:1: .*[Mm]ap keys must be unique/],
];

for (const [what, text, message] of SHAPE_ERRORS) {
  test(`configuration shape: ${what}`, () => {
    const error = configError(() => parseExportConfig(text, 'c.yaml'));
    assert.match(error.message, message);
  });
}

const BTF_ERRORS: ReadonlyArray<readonly [string, ExportConfig, string, RegExp]> = [
  [
    'no such map',
    { object: 'export.bpf.o', metrics: { counters: [{ name: 'c', map: 'exec' }] } },
    'metrics.counters[0].map',
    /no map 'exec' in the object \(maps: execs, syscall_start, syscall_latency\)/,
  ],
  [
    'no such member',
    {
      object: 'export.bpf.o',
      metrics: { counters: [{ name: 'c', map: 'execs', labels: [{ name: 'c', field: 'com' }] }] },
    },
    'metrics.counters[0].labels[0].field',
    /no member 'com' in the key \(struct comm_key: comm\)/,
  ],
  [
    'a member of a scalar',
    { object: 'export.bpf.o', metrics: { gauges: [{ name: 'g', map: 'execs', value: 'count' }] } },
    'metrics.gauges[0].value',
    /the value is int .*, not a struct: it has no member 'count'/,
  ],
  [
    'a struct as a label',
    { object: 'export.bpf.o', metrics: { counters: [{ name: 'c', map: 'execs', labels: [{ name: 'k' }] }] } },
    'metrics.counters[0].labels[0].name',
    /the key is struct comm_key; a label needs an integer, an enum or a char array: name one of its members \(comm\)/,
  ],
  [
    'a string as a histogram slot',
    {
      object: 'export.bpf.o',
      metrics: { histograms: [{ name: 'h', map: 'execs', buckets: { type: 'log2', field: 'comm' } }] },
    },
    'metrics.histograms[0].buckets.field',
    /the key member 'comm' is array; a value needs an integer/,
  ],
  [
    'no such program',
    {
      object: 'export.bpf.o',
      programs: [{ name: 'count' }],
      metrics: { counters: [{ name: 'c', map: 'execs', labels: [{ name: 'comm', field: 'comm' }] }] },
    },
    'programs[0].name',
    /no program 'count' in the object \(programs: count_exec, syscall_enter, syscall_exit\)/,
  ],
];

for (const [what, config, path, message] of BTF_ERRORS) {
  test(`configuration against BTF: ${what}`, () => {
    const error = configError(() => planExport(config, exportSpec));
    assert.equal(error.path, path);
    assert.match(error.message, message);
  });
}

test('a ring buffer cannot be a metric, and a missing object is named', () => {
  const spec = loadObjectSpec(new Uint8Array(readFileSync(`${examples}execsnoop.bpf.o`)));
  const error = configError(() =>
    planExport({ object: 'x', metrics: { gauges: [{ name: 'g', map: 'events' }] } }, spec),
  );
  assert.match(error.message, /map 'events' is a RINGBUF map: only hash, array and LPM trie maps/);
  const missing = configError(() =>
    checkExport(
      { object: 'nope.bpf.o', metrics: { gauges: [{ name: 'g', map: 'm' }] } },
      { baseDir: examples },
    ),
  );
  assert.equal(missing.path, 'object');
  assert.match(missing.message, /cannot read .*nope\.bpf\.o \(ENOENT\)/);
});

test('counters: labels from a char[] key, per-CPU values summed, names for values, scale', () => {
  const plan = planExport(
    {
      object: 'export.bpf.o',
      metrics: {
        counters: [
          {
            name: 'c',
            map: 'execs',
            labels: [{ name: 'comm', field: 'comm', values: { sh: 'shell' } }],
            scale: 2,
          },
        ],
        gauges: [{ name: 'slots', map: 'syscall_latency', labels: [{ name: 'slot' }] }],
      },
    },
    exportSpec,
  );
  const [execs, slots] = plan.metrics as ValueMetricPlan[];
  const entries: DecodedEntry[] = [
    [{ comm: 'sh' }, 3n],
    [{ comm: 'true' }, 5n],
  ];
  assert.deepEqual(execs!.samples(entries), [
    { labels: { comm: 'shell' }, value: 6 },
    { labels: { comm: 'true' }, value: 10 },
  ]);
  assert.deepEqual(slots!.samples([[4, [1n, 2n, 3n]]]), [{ labels: { slot: '4' }, value: 6 }]);
});

test('histograms: log2 bounds in both slot conventions, counts per slot, slots past the last go above it', () => {
  assert.deepEqual(log2Bounds(4, 'libbpf-tools'), [2, 4, 8, 16]);
  assert.deepEqual(log2Bounds(4, 'bcc'), [1, 2, 4, 8]);
  assert.deepEqual(log2Bounds(2, 'libbpf-tools', 0.5), [1, 2]);
  const plan = planExport(
    {
      object: 'x',
      metrics: { histograms: [{ name: 'h', map: 'syscall_latency', buckets: { type: 'log2', count: 3 } }] },
    },
    exportSpec,
  );
  const histogram = plan.metrics[0] as HistogramMetricPlan;
  assert.deepEqual(histogram.bounds, [2, 4, 8]);
  const samples = histogram.samples([
    [0, [1n, 1n]],
    [2, [0n, 4n]],
    [7, [3n, 0n]],
  ]);
  assert.deepEqual(samples, [{ labels: {}, counts: [2, 0, 4, 3] }]);
});

test('listen addresses', () => {
  assert.deepEqual(parseListen('127.0.0.1:9435'), { host: '127.0.0.1', port: 9435 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen(':80'), { host: '::', port: 80 });
  for (const bad of ['9435', 'localhost', 'host:99999', '::1:80'])
    assert.throws(() => parseListen(bad), /expected HOST:PORT/, bad);
});
