/**
 * Histograms from maps, printed the way bcc and libbpf-tools print them (`print_log2_hist`,
 * `print_linear_hist`): the bars eBPF users recognise from biolatency and runqlat.
 *
 * A log2 histogram has one bucket per power of two. Two slot conventions exist in the wild:
 * libbpf-tools' `log2l(v)` (slot i counts [2^i, 2^(i+1)), with 0 and 1 in slot 0) and bcc's
 * `bpf_log2l(v)` (one more: slot i counts [2^(i-1), 2^i), 0 alone in slot 0). Both print the same
 * way once buckets carry their bounds.
 */

/** One bucket: values in `[low, high]` were seen `count` times. */
export interface HistogramBucket {
  readonly low: bigint;
  readonly high: bigint;
  readonly count: bigint;
}

/** A histogram ready to print or serialise. */
export interface Histogram {
  readonly kind: 'log2' | 'linear';
  /** What the values are (`usecs`, `bytes`…): the header of the value column. */
  readonly label: string;
  readonly buckets: readonly HistogramBucket[];
}

/** Which slot convention a log2 map uses. */
export type Log2Slots = 'libbpf-tools' | 'bcc';

/** Counts per slot (index = slot) from map entries `[slot, count]`; out-of-range slots are ignored. */
export function slotCounts(
  entries: Iterable<readonly [number | bigint, number | bigint | readonly (number | bigint)[]]>,
  size: number,
): bigint[] {
  const counts = new Array<bigint>(size).fill(0n);
  for (const [key, value] of entries) {
    const slot = Number(key);
    if (!Number.isInteger(slot) || slot < 0 || slot >= size) continue;
    // Per-CPU maps give one count per CPU: their sum is the count.
    const values = Array.isArray(value) ? value : [value as number | bigint];
    for (const v of values) counts[slot] += BigInt(v);
  }
  return counts;
}

/** A log2 histogram from per-slot counts. Trailing empty slots are dropped. */
export function log2Histogram(
  counts: readonly bigint[],
  label = 'value',
  slots: Log2Slots = 'libbpf-tools',
): Histogram {
  let last = counts.length - 1;
  while (last >= 0 && counts[last] === 0n) last--;
  const buckets: HistogramBucket[] = [];
  for (let i = 0; i <= last; i++) {
    const shift = BigInt(slots === 'bcc' ? i : i + 1);
    let low = (1n << shift) >> 1n;
    const high = (1n << shift) - 1n;
    if (low === high && low > 0n) low -= 1n;
    buckets.push({ low, high, count: counts[i] });
  }
  return { kind: 'log2', label, buckets };
}

/** A linear histogram: slot i counts values in `[base + i·step, base + (i+1)·step)`. */
export function linearHistogram(
  counts: readonly bigint[],
  step: bigint,
  label = 'value',
  base = 0n,
): Histogram {
  let first = 0;
  while (first < counts.length && counts[first] === 0n) first++;
  let last = counts.length - 1;
  while (last >= first && counts[last] === 0n) last--;
  const buckets: HistogramBucket[] = [];
  for (let i = first; i <= last; i++) {
    const low = base + BigInt(i) * step;
    buckets.push({ low, high: low + step - 1n, count: counts[i] });
  }
  return { kind: 'linear', label, buckets };
}

function stars(count: bigint, max: bigint, width: number): string {
  if (max === 0n) return ' '.repeat(width);
  const n = Number(((count < max ? count : max) * BigInt(width)) / max);
  return '*'.repeat(n) + ' '.repeat(width - n) + (count > max ? '+' : '');
}

/** The text bcc and libbpf-tools print for a histogram (empty when every bucket is 0). */
export function formatHistogram(histogram: Histogram): string {
  const { buckets, label } = histogram;
  let max = 0n;
  for (const b of buckets) if (b.count > max) max = b.count;
  if (buckets.length === 0 || max === 0n) return '';
  const lines: string[] = [];
  if (histogram.kind === 'log2') {
    const wide = buckets.length > 33;
    const width = wide ? 20 : 10;
    const barWidth = wide ? 20 : 40;
    lines.push(`${' '.repeat(wide ? 15 : 5)}${label.padEnd(wide ? 29 : 19)} : count    distribution`);
    for (const b of buckets) {
      lines.push(
        `${String(b.low).padStart(width)} -> ${String(b.high).padEnd(width)} : ${String(b.count).padEnd(8)} |${stars(b.count, max, barWidth)}|`,
      );
    }
  } else {
    lines.push(`     ${label.padEnd(13)} : count     distribution`);
    for (const b of buckets) {
      lines.push(
        `        ${String(b.low).padEnd(10)} : ${String(b.count).padEnd(8)} |${stars(b.count, max, 40)}|`,
      );
    }
  }
  return lines.join('\n');
}

/** `--json` form: `{"kind","label","buckets":[{"low","high","count"}]}` with numbers. */
export function histogramJson(histogram: Histogram): {
  kind: string;
  label: string;
  buckets: Array<{ low: number; high: number; count: number }>;
} {
  return {
    kind: histogram.kind,
    label: histogram.label,
    buckets: histogram.buckets.map((b) => ({
      low: Number(b.low),
      high: Number(b.high),
      count: Number(b.count),
    })),
  };
}
