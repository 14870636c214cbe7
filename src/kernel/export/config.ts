/**
 * The `tsbpf export` configuration: which object to load, which of its programs to attach, and
 * which maps become which Prometheus metrics (ebpf_exporter's idea, in a smaller document).
 *
 * ```yaml
 * object: export.bpf.o            # relative to the config file
 * programs:                       # optional; default: every program, attached by its section
 *   - name: count_exec
 *   - { name: xdp_count_protocols, iface: eth0 }
 * metrics:
 *   counters:
 *     - name: execs_total
 *       help: Execs by command name
 *       map: execs
 *       labels: [{ name: comm, field: comm }]
 *   histograms:
 *     - name: syscall_latency_seconds
 *       map: syscall_latency
 *       buckets: { type: log2, slots: libbpf-tools, scale: 0.000001 }
 * ```
 *
 * Parsing checks the document's shape; {@link planExport} (plan.ts) then checks it against the
 * object's BTF. Both throw {@link ExportConfigError} naming the field by its path in the document
 * (`metrics.counters[0].labels[1].field`) and, for YAML and JSON text, its line and column.
 */
import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import { type ConfigPath, ExportConfigError, formatPath, type Locate } from './errors.js';

export { type ConfigPath, ExportConfigError, formatPath, type Locate } from './errors.js';

/** One label of a metric: a field of the map's key (or the whole key when it is a scalar). */
export interface LabelConfig {
  /** The Prometheus label name. */
  readonly name: string;
  /** Dotted path of a member of the key struct (`comm`, `addr.port`); omit for a scalar key. */
  readonly field?: string;
  /** Names for raw values (`{ "6": "tcp", "17": "udp" }`); other values print as they are. */
  readonly values?: Readonly<Record<string, string>>;
}

/** A counter or gauge: one sample per map entry. */
export interface ValueMetricConfig {
  readonly name: string;
  readonly help?: string;
  /** The map's name in the object. */
  readonly map: string;
  readonly labels?: readonly LabelConfig[];
  /** Dotted path of a member of the value struct; omit when the value is an integer. */
  readonly value?: string;
  /** Multiply each value by this (e.g. 1e-9: nanoseconds → seconds). Default 1. */
  readonly scale?: number;
}

/** Log2 buckets in a map: one count per slot. */
export interface BucketsConfig {
  readonly type: 'log2';
  /** `libbpf-tools` (slot i counts [2^i, 2^(i+1)); default) or `bcc` (slot i counts [2^(i-1), 2^i)). */
  readonly slots?: 'libbpf-tools' | 'bcc';
  /** Key member holding the slot; omit when the key is the slot. */
  readonly field?: string;
  /** How many slots to expose (default: the map's max_entries, at most 64). */
  readonly count?: number;
  /** Unit of a slot bound in the metric's unit (1e-6: microseconds → seconds). Default 1. */
  readonly scale?: number;
}

/** A histogram: log2 slot counts in a map, exposed with cumulative `le` buckets. */
export interface HistogramMetricConfig {
  readonly name: string;
  readonly help?: string;
  readonly map: string;
  readonly labels?: readonly LabelConfig[];
  readonly buckets: BucketsConfig;
  /** Dotted path of the count in the value struct; omit when the value is an integer. */
  readonly value?: string;
}

/** A program to attach, with what its section does not say. */
export interface ProgramConfig {
  readonly name: string;
  /** Interface for XDP and tc programs. */
  readonly iface?: string;
  readonly xdp_mode?: 'native' | 'generic' | 'offload';
  /** cgroup v2 directory for cgroup programs (default: the v2 root). */
  readonly cgroup?: string;
  /** Binary for uprobes whose section names none. */
  readonly binary?: string;
  /** Only this process (uprobes, perf events). */
  readonly pid?: number;
}

/** A whole `tsbpf export` configuration. */
export interface ExportConfig {
  /** The BPF object file; a relative path is relative to the config file. */
  readonly object: string;
  /** Programs to load and attach; default every program of the object, by its section. */
  readonly programs?: readonly ProgramConfig[];
  readonly metrics: {
    readonly counters?: readonly ValueMetricConfig[];
    readonly gauges?: readonly ValueMetricConfig[];
    readonly histograms?: readonly HistogramMetricConfig[];
  };
}

/** A parsed configuration and a way back from its paths to the source text. */
export interface ParsedExportConfig {
  readonly config: ExportConfig;
  readonly locate: Locate;
}

/**
 * Parse a configuration from YAML or JSON text (JSON is YAML) and check its shape. `file` names
 * the source in error messages.
 */
export function parseExportConfig(text: string, file = 'config'): ParsedExportConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const [problem] = doc.errors;
  if (problem) throw new ExportConfigError([], problem.message.split('\n')[0]!, () => at(problem.pos[0]));
  const locate: Locate = (path) => {
    // A mapping key is reported where the key is written; a missing one where its parent is.
    const last = path.at(-1);
    const parent = doc.getIn(path.slice(0, -1), true);
    if (typeof last === 'string' && isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
      if (isScalar(pair?.key) && pair.key.range) return at(pair.key.range[0]);
    }
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return at(node.range[0]);
    }
    return undefined;
  };
  return { config: checkExportConfig(doc.toJS({ maxAliasCount: 100 }), locate), locate };
}

// --- Shape checks -----------------------------------------------------------------------------

type Json = unknown;
type Check<T> = (value: Json, path: ConfigPath, locate?: Locate) => T;

const PROM_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PROM_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function typeName(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

const string =
  (pattern?: RegExp, what?: string): Check<string> =>
  (value, path, locate) => {
    if (typeof value !== 'string' || value === '')
      throw new ExportConfigError(path, `expected a non-empty string, got ${typeName(value)}`, locate);
    if (pattern && !pattern.test(value))
      throw new ExportConfigError(path, `'${value}' is not ${what}`, locate);
    return value;
  };

const oneOf =
  <T extends string>(choices: readonly T[]): Check<T> =>
  (value, path, locate) => {
    if (typeof value !== 'string' || !choices.includes(value as T))
      throw new ExportConfigError(
        path,
        `expected one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${typeName(value)}`,
        locate,
      );
    return value as T;
  };

const number =
  (min: number, max: number, integer = false): Check<number> =>
  (value, path, locate) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value)))
      throw new ExportConfigError(
        path,
        `expected ${integer ? 'an integer' : 'a number'}, got ${typeName(value)}`,
        locate,
      );
    if (value < min || value > max)
      throw new ExportConfigError(path, `${value} is out of range (${min} to ${max})`, locate);
    return value;
  };

const list =
  <T>(item: Check<T>): Check<T[]> =>
  (value, path, locate) => {
    if (!Array.isArray(value))
      throw new ExportConfigError(path, `expected a list, got ${typeName(value)}`, locate);
    return value.map((v, i) => item(v, [...path, i], locate));
  };

const stringMap: Check<Record<string, string>> = (value, path, locate) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ExportConfigError(path, `expected a mapping, got ${typeName(value)}`, locate);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new ExportConfigError([...path, k], `expected a string, got ${typeName(v)}`, locate);
    out[k] = String(v);
  }
  return out;
};

/** A mapping with these fields (`true`: required); unknown keys are errors, so typos are caught. */
function record<T>(fields: Record<string, readonly [Check<unknown>, boolean]>): Check<T> {
  return (value, path, locate) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new ExportConfigError(path, `expected a mapping, got ${typeName(value)}`, locate);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(fields, key))
        throw new ExportConfigError(
          [...path, key],
          `unknown field (expected ${Object.keys(fields).join(', ')})`,
          locate,
        );
    }
    for (const [key, [check, required]] of Object.entries(fields)) {
      const field = (value as Record<string, unknown>)[key];
      if (field === undefined || field === null) {
        if (required) throw new ExportConfigError([...path, key], 'missing', locate);
        continue;
      }
      out[key] = check(field, [...path, key], locate);
    }
    return out as T;
  };
}

const metricName = string(PROM_NAME, 'a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)');
const fieldPath = string(FIELD_PATH, "a member path ('comm', 'key.port')");

const label = record<LabelConfig>({
  name: [string(PROM_LABEL, 'a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)'), true],
  field: [fieldPath, false],
  values: [stringMap, false],
});

const valueMetric = record<ValueMetricConfig>({
  name: [metricName, true],
  help: [string(), false],
  map: [string(), true],
  labels: [list(label), false],
  value: [fieldPath, false],
  scale: [number(-Number.MAX_VALUE, Number.MAX_VALUE), false],
});

const histogramMetric = record<HistogramMetricConfig>({
  name: [metricName, true],
  help: [string(), false],
  map: [string(), true],
  labels: [list(label), false],
  value: [fieldPath, false],
  buckets: [
    record<BucketsConfig>({
      type: [oneOf(['log2'] as const), true],
      slots: [oneOf(['libbpf-tools', 'bcc'] as const), false],
      field: [fieldPath, false],
      count: [number(1, 64, true), false],
      scale: [number(Number.MIN_VALUE, Number.MAX_VALUE), false],
    }),
    true,
  ],
});

const program = record<ProgramConfig>({
  name: [string(), true],
  iface: [string(), false],
  xdp_mode: [oneOf(['native', 'generic', 'offload'] as const), false],
  cgroup: [string(), false],
  binary: [string(), false],
  pid: [number(1, 2 ** 22, true), false],
});

const document = record<ExportConfig>({
  object: [string(), true],
  programs: [list(program), false],
  metrics: [
    record({
      counters: [list(valueMetric), false],
      gauges: [list(valueMetric), false],
      histograms: [list(histogramMetric), false],
    }),
    true,
  ],
});

/**
 * Check that a value (a parsed document, or an object built in code) is an {@link ExportConfig}:
 * its shape, names Prometheus accepts, no metric or label defined twice, at least one metric.
 */
export function checkExportConfig(value: unknown, locate?: Locate): ExportConfig {
  const config = document(value, [], locate);
  const seen = new Map<string, ConfigPath>();
  let metrics = 0;
  for (const kind of ['counters', 'gauges', 'histograms'] as const) {
    for (const [i, metric] of (config.metrics[kind] ?? []).entries()) {
      metrics++;
      const path = ['metrics', kind, i, 'name'];
      const before = seen.get(metric.name);
      if (before)
        throw new ExportConfigError(
          path,
          `metric '${metric.name}' is already defined at ${formatPath(before)}`,
          locate,
        );
      seen.set(metric.name, path);
      const names = new Set<string>();
      for (const [j, { name }] of (metric.labels ?? []).entries()) {
        const at = ['metrics', kind, i, 'labels', j, 'name'];
        if (names.has(name)) throw new ExportConfigError(at, `label '${name}' is given twice`, locate);
        if (name.startsWith('__'))
          throw new ExportConfigError(at, 'names starting with __ are reserved', locate);
        if (kind === 'histograms' && name === 'le')
          throw new ExportConfigError(at, "'le' is the bucket label of a histogram", locate);
        names.add(name);
      }
    }
  }
  if (metrics === 0)
    throw new ExportConfigError(['metrics'], 'no metrics: give counters, gauges or histograms', locate);
  const programs = new Set<string>();
  for (const [i, { name }] of (config.programs ?? []).entries()) {
    if (programs.has(name))
      throw new ExportConfigError(['programs', i, 'name'], `program '${name}' is listed twice`, locate);
    programs.add(name);
  }
  return config;
}
