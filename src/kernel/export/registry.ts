/**
 * The Prometheus side of the exporter: a prom-client registry holding the configured metrics and
 * the exporter's health, filled from the maps on every scrape. The maps are read through a
 * function, so this runs (and is tested) without a kernel.
 */
import {
  Counter,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricType,
  type MetricValueWithName,
  Registry,
} from 'prom-client';
import type { DecodedEntry, ExportPlan, HistogramSample } from './plan.js';

type PromValues = MetricObjectWithValues<MetricValueWithName<string>>;

/**
 * A histogram whose buckets come ready-counted from a map. prom-client's `Histogram` only counts
 * observations one at a time, so this one keeps prom-client's name checks and text rendering but
 * hands the registry the buckets of the last read.
 */
class MapHistogram extends Histogram<string> {
  #samples: readonly HistogramSample[] = [];
  readonly #bounds: readonly number[];
  readonly #metric: { name: string; help: string };

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
    registry: Registry,
  ) {
    super({ name, help, labelNames: [...labelNames], buckets: [...bounds], registers: [registry] });
    this.#bounds = bounds;
    this.#metric = { name, help };
  }

  set(samples: readonly HistogramSample[]): void {
    this.#samples = samples;
  }

  /** What prom-client's registry renders (it asks for this before `get`). */
  async getForPromString(): Promise<PromValues> {
    const { name, help } = this.#metric;
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, counts } of this.#samples) {
      let cumulative = 0;
      let sum = 0;
      for (const [i, le] of this.#bounds.entries()) {
        cumulative += counts[i]!;
        // log2 maps keep no sum: estimate it from each bucket's midpoint.
        sum += (counts[i]! * ((this.#bounds[i - 1] ?? 0) + le)) / 2;
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
      }
      const above = counts[this.#bounds.length]!;
      cumulative += above;
      sum += above * (this.#bounds.at(-1) ?? 0);
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${name}_sum`, labels, value: sum });
      values.push({ metricName: `${name}_count`, labels, value: cumulative });
    }
    // prom-client declares `type` as an enum its JavaScript never defines; at run time it is the
    // Prometheus type name.
    const type = 'histogram' as unknown as MetricType;
    return { name, help, type, aggregator: 'sum', values, collect: () => undefined };
  }

  override async get(): Promise<PromValues> {
    return this.getForPromString();
  }
}

/** A registry that reads the maps when scraped. */
export interface MetricsRegistry {
  /** The `content-type` of {@link scrape}'s text. */
  readonly contentType: string;
  /** Read every map and render the Prometheus text format. Scrapes run one at a time. */
  scrape(): Promise<string>;
  /** Set `tsbpf_exporter_up` (0 while shutting down). */
  setUp(value: 0 | 1): void;
  /** Resolves once no scrape is running. */
  idle(): Promise<void>;
}

/**
 * The registry for `plan`: `read(map)` lists a map's entries decoded through BTF (it may throw:
 * the scrape then counts a read error for that map and shows none of its samples).
 */
export function metricsRegistry(
  plan: ExportPlan,
  read: (map: string) => Iterable<DecodedEntry>,
  programsAttached: number,
): MetricsRegistry {
  const registry = new Registry();
  const up = new Gauge({
    name: 'tsbpf_exporter_up',
    help: '1 while the exporter has its programs attached',
    registers: [registry],
  });
  const attached = new Gauge({
    name: 'tsbpf_exporter_programs_attached',
    help: 'Programs attached by the exporter',
    registers: [registry],
  });
  const duration = new Gauge({
    name: 'tsbpf_exporter_scrape_duration_seconds',
    help: 'Time the last scrape took to read the maps',
    registers: [registry],
  });
  const scrapes = new Counter({
    name: 'tsbpf_exporter_scrapes_total',
    help: 'Scrapes served',
    registers: [registry],
  });
  const readErrors = new Counter({
    name: 'tsbpf_exporter_map_read_errors_total',
    help: 'Map reads that failed, by map',
    labelNames: ['map'],
    registers: [registry],
  });
  up.set(1);
  attached.set(programsAttached);
  const collectors = plan.metrics.map((metric) => {
    const help = metric.help;
    if (metric.kind === 'histogram') {
      const histogram = new MapHistogram(metric.name, help, metric.labelNames, metric.bounds, registry);
      return { metric, update: (entries: DecodedEntry[]) => histogram.set(metric.samples(entries)) };
    }
    const labelNames = [...metric.labelNames];
    if (metric.kind === 'counter') {
      const counter = new Counter({ name: metric.name, help, labelNames, registers: [registry] });
      return {
        metric,
        update(entries: DecodedEntry[]) {
          counter.reset();
          for (const { labels, value } of metric.samples(entries)) if (value >= 0) counter.inc(labels, value);
        },
      };
    }
    const gauge = new Gauge({ name: metric.name, help, labelNames, registers: [registry] });
    return {
      metric,
      update(entries: DecodedEntry[]) {
        gauge.reset();
        for (const { labels, value } of metric.samples(entries))
          if (!Number.isNaN(value)) gauge.set(labels, value);
      },
    };
  });
  for (const { metric } of collectors) readErrors.inc({ map: metric.map }, 0);

  // Scrapes are served one at a time: two at once would read the maps twice for one answer.
  let queue: Promise<unknown> = Promise.resolve();
  const scrape = (): Promise<string> => {
    const run = queue.then(async () => {
      const started = process.hrtime.bigint();
      const seen = new Map<string, DecodedEntry[] | undefined>();
      for (const { metric, update } of collectors) {
        if (!seen.has(metric.map)) {
          try {
            seen.set(metric.map, [...read(metric.map)]);
          } catch {
            seen.set(metric.map, undefined);
            readErrors.inc({ map: metric.map });
          }
        }
        const entries = seen.get(metric.map);
        // A map that could not be read shows no samples rather than stale ones.
        update(entries ?? []);
      }
      duration.set(Number(process.hrtime.bigint() - started) / 1e9);
      scrapes.inc();
      return registry.metrics();
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    contentType: registry.contentType,
    scrape,
    setUp: (value) => up.set(value),
    idle: () => queue.then(() => undefined),
  };
}
