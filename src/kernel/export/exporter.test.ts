// The exporter live: examples/export.yaml served on an ephemeral port, scraped over HTTP, its text
// read back with a Prometheus text-format parser; a counter moves when processes are executed.
// Skips, with the reason printed, without bpf() or tracefs.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { tsbpfProcessArgs } from '../../dist.fixture.js';
import { openLinkCount } from '../attach/links.js';
import { tracefsUnavailable } from '../sys/availability.js';
import { ExportLoadError, ListenError, readExportConfig, startExporter } from './exporter.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const skip = tracefsUnavailable();

async function scrape(url: string): Promise<ParsedFamily[]> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusTextFormat(await response.text());
}

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `no metric family ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
}

/** The counter's value for one comm (0 when the map has no entry for it yet). */
function execsOf(families: ParsedFamily[], comm: string): number {
  const sample = family(families, 'tsbpf_execs_total').metrics.find((m) => m.labels?.comm === comm);
  return sample ? Number(sample.value) : 0;
}

test('export: the example serves execs by comm and a syscall latency histogram', { skip }, async () => {
  const links = openLinkCount();
  const { config, locate, baseDir } = readExportConfig(join(repo, 'examples/export.yaml'));
  const exporter = await startExporter(config, { listen: '127.0.0.1:0', baseDir, locate });
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-export-'));
  try {
    assert.match(exporter.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.deepEqual(exporter.programs, ['count_exec', 'syscall_enter', 'syscall_exit']);
    assert.equal(openLinkCount(), links + 3);

    // A command name no other process on the machine has: a copy of true(1) under our own name.
    const comm = `tsbpfexp${process.pid % 100000}`;
    const binary = join(dir, comm);
    copyFileSync('/bin/true', binary);
    const before = await scrape(exporter.url);
    const runs = 3;
    for (let i = 0; i < runs; i++) execFileSync(binary);
    const after = await scrape(exporter.url);
    assert.equal(execsOf(after, comm) - execsOf(before, comm), runs);
    assert.equal(family(after, 'tsbpf_execs_total').type, 'COUNTER');

    // The histogram: cumulative buckets ending in +Inf = count, power-of-two bounds in seconds.
    const latency = family(after, 'tsbpf_syscall_latency_seconds');
    assert.equal(latency.type, 'HISTOGRAM');
    const [histogram] = latency.metrics;
    assert.ok(histogram?.buckets);
    const bounds = Object.keys(histogram.buckets);
    assert.equal(bounds.length, 28); // 27 slots and +Inf
    assert.equal(bounds.at(-1), '+Inf');
    assert.equal(Number(bounds[0]), 2e-6);
    const counts = bounds.map((le) => Number(histogram.buckets?.[le]));
    for (let i = 1; i < counts.length; i++)
      assert.ok(counts[i]! >= counts[i - 1]!, `bucket ${bounds[i]} decreases`);
    assert.equal(counts.at(-1), Number(histogram.count));
    // Every scrape makes system calls, so the second scrape saw some.
    assert.ok(Number(histogram.count) > 0);

    // The exporter's own health.
    const value = (name: string) => Number(family(after, name).metrics[0]?.value);
    assert.equal(value('tsbpf_exporter_up'), 1);
    assert.equal(value('tsbpf_exporter_programs_attached'), 3);
    assert.equal(value('tsbpf_exporter_scrapes_total'), 2);
    assert.ok(value('tsbpf_exporter_scrape_duration_seconds') > 0);
    const errors = family(after, 'tsbpf_exporter_map_read_errors_total').metrics;
    assert.deepEqual(
      errors.map((m) => [m.labels?.map, m.value]),
      [
        ['execs', '0'],
        ['syscall_latency', '0'],
      ],
    );

    const other = await fetch(exporter.url.replace('/metrics', '/nothing'));
    assert.equal(other.status, 404);
    await other.text();

    // A second exporter on the same port fails to listen and leaves nothing attached.
    const port = new URL(exporter.url).port;
    await assert.rejects(
      startExporter(config, { listen: `127.0.0.1:${port}`, baseDir }),
      (error: unknown) => {
        assert.ok(error instanceof ListenError);
        assert.match(error.message, /EADDRINUSE/);
        return true;
      },
    );
    assert.equal(openLinkCount(), links + 3);
  } finally {
    await exporter.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(openLinkCount(), links);
  await assert.rejects(fetch(exporter.url));
});

test('export: an XDP program without an interface fails naming its place in the config', {
  skip,
}, async () => {
  const links = openLinkCount();
  const config = {
    object: 'xdp_count.bpf.o',
    programs: [{ name: 'xdp_count_protocols' }],
    metrics: {
      counters: [{ name: 'packets', map: 'proto_stats', labels: [{ name: 'proto' }], value: 'packets' }],
    },
  };
  await assert.rejects(
    startExporter(config, { listen: '127.0.0.1:0', baseDir: join(repo, 'examples') }),
    (error: unknown) => {
      assert.ok(error instanceof ExportLoadError);
      assert.equal(error.path, 'programs[0].name');
      assert.match(error.message, /could not be attached: .*XDP programs need an interface/);
      return true;
    },
  );
  assert.equal(openLinkCount(), links);
});

test('tsbpf export: serves until SIGTERM, then detaches and exits 0', { skip }, async () => {
  const child = spawn(
    process.execPath,
    tsbpfProcessArgs(['export', 'examples/export.yaml', '--listen', '127.0.0.1:0']),
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      const match = /serving metrics on (\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    exited.then(() => reject(new Error(`exited before serving: ${stdout}${stderr}`)));
  });
  const families = await scrape(url);
  assert.equal(Number(family(families, 'tsbpf_exporter_up').metrics[0]?.value), 1);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.match(stdout, /detached; closed/);
});
