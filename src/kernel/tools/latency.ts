/**
 * The log2 latency tools: runqlat (run queue latency, `tools/runqlat.bpf.c`, tp_btf
 * sched_wakeup/sched_wakeup_new/sched_switch) and biolatency (block I/O latency,
 * `tools/biolatency.bpf.c`, tp_btf block_rq_insert/issue/complete). Both count into a hash of
 * `{id, slot}` → count (id groups per process, thread or disk) that user space prints and clears
 * every interval as bcc's `print_log2_hist` does.
 */
import { readFileSync } from 'node:fs';
import type { BtfValue } from '../../maps/btf-codec.js';
import { formatHistogram, histogramJson, log2Histogram } from '../../maps/histogram.js';
import type { BpfMap } from '../../maps/map.js';
import { clockTime, intervals, runTool, type ToolOutput, type ToolStop } from './session.js';

/** What both latency tools share. */
export interface LatencyOptions {
  /** Print every this many seconds (default: once, at the end). */
  readonly interval?: number;
  /** How many intervals before stopping. */
  readonly count?: number;
  /** `-T`: a time line above each histogram. */
  readonly timestamp?: boolean;
  /** `-m`: milliseconds instead of microseconds. */
  readonly millis?: boolean;
  readonly json?: boolean;
}

/** bcc's runqlat options. */
export interface RunqlatOptions extends LatencyOptions {
  /** `-p PID`: only this process. */
  readonly pid?: number;
  /** `-P`: a histogram per process. */
  readonly pids?: boolean;
  /** `-L`: a histogram per thread. */
  readonly tids?: boolean;
}

/** bcc's biolatency options. */
export interface BiolatencyOptions extends LatencyOptions {
  /** `-Q`: include the time queued in the OS (from insert, not issue). */
  readonly queued?: boolean;
  /** `-D`: a histogram per disk. */
  readonly disks?: boolean;
}

/** Slots in the BPF side's histograms (`MAX_SLOTS` in tools/histogram.h). */
const MAX_SLOTS = 27;

type Map_ = BpfMap<BtfValue | Uint8Array, BtfValue | Uint8Array | BtfValue[]>;

/** Read and clear the histograms: counts per slot, per group id. */
function drain(map: Map_): Map<number, bigint[]> {
  const groups = new Map<number, bigint[]>();
  const keys: Array<BtfValue | Uint8Array> = [];
  for (const [key, value] of map.entries()) {
    keys.push(key);
    const { id, slot } = key as { id: number; slot: number };
    if (slot >= MAX_SLOTS) continue;
    let counts = groups.get(id);
    if (!counts) {
      counts = new Array<bigint>(MAX_SLOTS).fill(0n);
      groups.set(id, counts);
    }
    counts[slot]! += BigInt(value as number | bigint);
  }
  map.deleteBatch(keys);
  return groups;
}

function printHistograms(
  map: Map_,
  options: LatencyOptions,
  out: ToolOutput,
  group: { field: string; label: (id: number) => string; value: (id: number) => string | number } | undefined,
): void {
  const unit = options.millis ? 'msecs' : 'usecs';
  const groups = drain(map);
  const time = clockTime();
  if (!options.json) {
    out.line('');
    if (options.timestamp) out.line(time);
  }
  for (const id of [...groups.keys()].sort((a, b) => a - b)) {
    const histogram = log2Histogram(groups.get(id)!, unit);
    if (options.json) {
      out.record({
        ...(options.timestamp || options.interval !== undefined ? { time } : {}),
        ...(group ? { [group.field]: group.value(id) } : {}),
        unit,
        buckets: histogramJson(histogram).buckets,
      });
      continue;
    }
    if (group) out.line(`\n${group.label(id)}`);
    out.line(formatHistogram(histogram));
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Run runqlat until stopped (or `count` intervals). */
export async function runqlat(options: RunqlatOptions, out: ToolOutput, stop: ToolStop): Promise<void> {
  await runTool(
    'runqlat',
    {
      rodata: {
        target_pid: options.pid ?? 0,
        millis: Boolean(options.millis),
        group_by: options.pids ? 1 : options.tids ? 2 : 0,
      },
    },
    stop,
    async (session, control) => {
      out.note('Tracing run queue latency... Hit Ctrl-C to end.');
      const field = options.pids ? 'pid' : 'tid';
      const group =
        options.pids || options.tids
          ? { field, label: (id: number) => `${field} = ${id} ${commOf(id)}`, value: (id: number) => id }
          : undefined;
      await intervals(control, options, () =>
        printHistograms(session.typedMap('hists'), options, out, group),
      );
    },
  );
}

/** A block device's name from its kernel device number (`MAJOR << 20 | MINOR`), via sysfs. */
export function diskName(dev: number): string {
  const major = dev >>> 20;
  const minor = dev & 0xfffff;
  try {
    const uevent = readFileSync(`/sys/dev/block/${major}:${minor}/uevent`, 'utf8');
    const name = /^DEVNAME=(.*)$/m.exec(uevent)?.[1];
    if (name) return name;
  } catch {
    // Gone, or no sysfs: fall back to the numbers.
  }
  return `${major}:${minor}`;
}

/** Run biolatency until stopped (or `count` intervals). */
export async function biolatency(options: BiolatencyOptions, out: ToolOutput, stop: ToolStop): Promise<void> {
  await runTool(
    'biolatency',
    {
      rodata: {
        millis: Boolean(options.millis),
        queued: Boolean(options.queued),
        per_disk: Boolean(options.disks),
      },
      // Only the hook that starts the clock is attached: insert with -Q, issue otherwise.
      attach: [options.queued ? 'biolatency_insert' : 'biolatency_issue', 'biolatency_complete'],
    },
    stop,
    async (session, control) => {
      out.note('Tracing block device I/O... Hit Ctrl-C to end.');
      const group = options.disks
        ? { field: 'disk', label: (id: number) => `disk = ${diskName(id)}`, value: diskName }
        : undefined;
      await intervals(control, options, () =>
        printHistograms(session.typedMap('hists'), options, out, group),
      );
    },
  );
}
