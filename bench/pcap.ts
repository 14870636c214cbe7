/**
 * `npm run bench -- pcap`: `tsbpf run examples/xdp_count.bpf.o --pcap FILE` over a generated
 * capture of 1,000,000 packets (`BENCH_PCAP_PACKETS`), the sample capture's packets repeated.
 * Measures packets per second in-process, through the function the CLI calls (`runCapture`: the
 * capture streamed, XDP through a prepared test runner), and once as a child `node bin/tsbpf.js`
 * under `/usr/bin/time` for its peak RSS. Target: at least 5 M packets/s end to end, the command's
 * start-up included (the child's wall time); the in-process rate is printed beside it.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCapture } from '../src/cli/packets.js';
import { readCapture, writeCapture } from '../src/pcap/pcap.js';
import { type Bench, ensureBuilt } from './bench.js';

const TARGET_PPS = 5e6;
/** In-process runs: the best, median and slowest are reported. */
const RUNS = 5;
const root = fileURLToPath(new URL('../', import.meta.url));
const PROGRAM = 'examples/xdp_count.bpf.o';

/** Write `count` packets (the sample's, repeated) as one pcap file, in batches. */
function generate(path: string, count: number): number {
  const sample = readCapture(readFileSync(join(root, 'testdata/pcap/sample.pcap'))).packets;
  const fd = openSync(path, 'w');
  let bytes = 0;
  try {
    const batch = 10_000;
    for (let done = 0; done < count; done += batch) {
      const n = Math.min(batch, count - done);
      const packets = Array.from({ length: n }, (_, i) => sample[(done + i) % sample.length]!);
      const chunk = writeCapture(packets);
      // The file header once; later batches add their records only.
      const part = done === 0 ? chunk : chunk.subarray(24);
      writeSync(fd, part);
      bytes += part.length;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/**
 * Run the CLI's capture path in this process: wall and CPU seconds (this process's user +
 * system time: unlike the wall time, not stretched by other processes on a busy machine) and the
 * packet count it reported.
 */
function inProcess(file: string): { seconds: number; cpu: number; packets: number } {
  let out = '';
  const sink = {
    write: (text: string) => {
      out += text;
      return true;
    },
    isTTY: false,
  };
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const status = runCapture(PROGRAM, { pcap: file, json: true }, { stdout: sink, stderr: sink });
  const cpuUsed = process.cpuUsage(cpuStart);
  const seconds = (performance.now() - start) / 1000;
  if (status !== 0) throw new Error(`run --pcap failed: ${out}`);
  return { seconds, cpu: (cpuUsed.user + cpuUsed.system) / 1e6, packets: JSON.parse(out).packets as number };
}

/**
 * The CLI as a child under /usr/bin/time: wall seconds, CPU seconds (user + system: on a busy
 * machine the wall time is mostly waiting for a core) and peak RSS in MiB.
 */
function child(file: string): { seconds: number; cpu: number; rssMiB: number } | string {
  if (!existsSync('/usr/bin/time')) return 'no /usr/bin/time';
  ensureBuilt(['dist/bundle/main.js']);
  const result = spawnSync(
    '/usr/bin/time',
    ['-v', process.execPath, 'bin/tsbpf.js', 'run', PROGRAM, '--pcap', file, '--json'],
    { cwd: root, encoding: 'utf8' },
  );
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1];
  const wall = /Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)/.exec(result.stderr);
  if (result.status !== 0 || !rss || !wall) return `child failed: ${result.stderr.slice(0, 200)}`;
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  const cpu = ['User', 'System']
    .map((kind) => Number(new RegExp(`${kind} time \\(seconds\\): ([\\d.]+)`).exec(result.stderr)?.[1] ?? 0))
    .reduce((a, b) => a + b);
  return { seconds, cpu, rssMiB: Number(rss) / 1024 };
}

/** Runs of the command per measurement; the median run (by wall time) is reported. */
const CHILD_RUNS = 3;

/** The median of {@link CHILD_RUNS} {@link child} runs by wall time, or why it could not run. */
function medianChild(file: string): ReturnType<typeof child> {
  const runs = Array.from({ length: CHILD_RUNS }, () => child(file));
  const failed = runs.find((run) => typeof run === 'string');
  if (failed !== undefined) return failed;
  const measured = runs as Array<Exclude<ReturnType<typeof child>, string>>;
  return measured.sort((a, b) => a.seconds - b.seconds)[CHILD_RUNS >> 1]!;
}

/** A table row for a {@link child} run over `packets` packets. */
function childRow(
  measurement: string,
  packets: number,
  run: ReturnType<typeof child>,
  captureMiB: number,
): Record<string, string | number> {
  if (typeof run === 'string') return { measurement, packets, 'M packets/s': run };
  return {
    measurement,
    packets,
    'capture MiB': captureMiB,
    'M packets/s': (packets / run.seconds / 1e6).toFixed(2),
    'wall s': run.seconds.toFixed(2),
    'CPU s': run.cpu.toFixed(2),
    'peak RSS MiB': run.rssMiB.toFixed(1),
  };
}

export const bench: Bench = {
  description: `tsbpf run ${PROGRAM} --pcap over a generated 1M-packet capture (target >= ${TARGET_PPS / 1e6} M packets/s)`,
  async run() {
    const count = Number(process.env.BENCH_PCAP_PACKETS ?? 1_000_000);
    const work = mkdtempSync(join(tmpdir(), 'tsbpf-bench-pcap-'));
    try {
      const file = join(work, 'capture.pcap');
      const bytes = generate(file, count);
      const runs = Array.from({ length: RUNS }, () => inProcess(file));
      const rates = runs.map((r) => r.packets / r.seconds).sort((a, b) => b - a);
      const cpuRates = runs.map((r) => r.packets / r.cpu).sort((a, b) => b - a);
      if (runs.some((r) => r.packets !== count))
        throw new Error(`read ${runs[0]!.packets} of ${count} packets`);
      // The command's median of CHILD_RUNS (a single run of 0.2 s swings on a shared machine).
      const spawned = medianChild(file);
      // The same command over the 22-packet sample: what start-up alone costs.
      const startup = medianChild(join(root, 'testdata/pcap/sample.pcap'));
      const mpps = (rate: number) => (rate / 1e6).toFixed(2);
      const spread = (list: number[]) =>
        `${mpps(list[0]!)} best, ${mpps(list[RUNS >> 1]!)} median, ${mpps(list[RUNS - 1]!)} min`;
      const inProcessRow = (clock: string, list: number[]) => ({
        measurement: `in-process (runCapture), ${RUNS} runs, ${clock}`,
        packets: count,
        'capture MiB': Math.round(bytes / 2 ** 20),
        'M packets/s': spread(list),
        'wall s': '-',
        'CPU s': '-',
        'peak RSS MiB': '-',
      });
      const rows: Array<Record<string, string | number>> = [
        inProcessRow('wall time', rates),
        inProcessRow('CPU time', cpuRates),
        childRow(
          `node bin/tsbpf.js (start-up included), median of ${CHILD_RUNS}`,
          count,
          spawned,
          Math.round(bytes / 2 ** 20),
        ),
        childRow(`node bin/tsbpf.js over the sample (start-up), median of ${CHILD_RUNS}`, 22, startup, 0),
      ];
      const median = rates[RUNS >> 1]!;
      const inProcessText = `in-process ${mpps(median)} M packets/s (median of ${RUNS}; ${mpps(cpuRates[RUNS >> 1]!)} per CPU second)`;
      // The target is the command's: start-up, loading, verifying and compiling included.
      if (typeof spawned === 'string')
        return { rows, met: false, summary: `end to end not measured (${spawned}); ${inProcessText}` };
      const endToEnd = count / spawned.seconds;
      return {
        rows,
        met: endToEnd >= TARGET_PPS,
        summary: `${mpps(endToEnd)} M packets/s end to end, node bin/tsbpf.js with start-up (target >= ${TARGET_PPS / 1e6} M); ${inProcessText}; peak RSS ${spawned.rssMiB.toFixed(0)} MiB for a ${Math.round(bytes / 2 ** 20)} MiB capture`,
      };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
