/**
 * A checked {@link ExportConfig} set against an object's BTF: for each metric, the map it reads,
 * how a label or value is picked out of a decoded key or value, and the histogram's bucket
 * bounds. Nothing here touches the kernel, so configurations are checked (and samples computed
 * from decoded entries) without root.
 */
import type { BtfValue } from '../../maps/btf-codec.js';
import { log2Histogram } from '../../maps/histogram.js';
import type { Btf, BtfType, BtfVoid } from '../../object/btf.js';
import type { ObjectMap, ObjectSpec } from '../../object/object.js';
import type { MapTypeName } from '../../uapi.js';
import {
  type ConfigPath,
  type ExportConfig,
  ExportConfigError,
  type LabelConfig,
  type Locate,
} from './config.js';

/** Labels of one sample, by label name. */
export type Labels = Record<string, string>;

/** One sample of a counter or gauge. */
export interface ValueSample {
  readonly labels: Labels;
  readonly value: number;
}

/** One labelled histogram: counts per bucket (not cumulative; the last is beyond the last bound). */
export interface HistogramSample {
  readonly labels: Labels;
  /** `counts[i]` values ≤ `bounds[i]` and above `bounds[i-1]`; `counts[bounds.length]` above all. */
  readonly counts: number[];
}

/** A map entry as {@link withBtf} decodes it (per-CPU values as arrays). */
export type DecodedEntry = readonly [BtfValue | Uint8Array, BtfValue | Uint8Array | readonly BtfValue[]];

interface CommonPlan {
  readonly name: string;
  readonly help: string;
  /** The map's object name. */
  readonly map: string;
  readonly labelNames: readonly string[];
  /** Where the metric is in the configuration. */
  readonly path: ConfigPath;
}

/** A counter or gauge, ready to sample. */
export interface ValueMetricPlan extends CommonPlan {
  readonly kind: 'counter' | 'gauge';
  samples(entries: Iterable<DecodedEntry>): ValueSample[];
}

/** A histogram, ready to sample. */
export interface HistogramMetricPlan extends CommonPlan {
  readonly kind: 'histogram';
  /** Upper bounds (`le`) of the finite buckets, ascending, in the metric's unit. */
  readonly bounds: readonly number[];
  samples(entries: Iterable<DecodedEntry>): HistogramSample[];
}

export type MetricPlan = ValueMetricPlan | HistogramMetricPlan;

/** The configuration checked against the object. */
export interface ExportPlan {
  readonly config: ExportConfig;
  /** Programs to load and attach (all of the object's when the configuration lists none). */
  readonly programs: readonly string[];
  readonly metrics: readonly MetricPlan[];
}

/** Map types whose entries can be listed and read: the rest (ring buffers, prog arrays…) cannot be metrics. */
const READABLE_MAPS: ReadonlySet<MapTypeName> = new Set<MapTypeName>([
  'HASH',
  'ARRAY',
  'PERCPU_HASH',
  'PERCPU_ARRAY',
  'LRU_HASH',
  'LRU_PERCPU_HASH',
  'LPM_TRIE',
]);

type Picker = (value: BtfValue) => BtfValue | undefined;

function describe(type: BtfType | BtfVoid): string {
  return type.kind === 'void' ? 'void' : `${type.kind}${type.name ? ` ${type.name}` : ''}`;
}

/** A member by name, looking through anonymous struct/union members (the codec flattens those). */
function findMember(btf: Btf, type: BtfType | BtfVoid, name: string): number | undefined {
  if (type.kind !== 'struct' && type.kind !== 'union') return undefined;
  for (const member of type.members) {
    if (member.name === name) return member.typeId;
    if (!member.name) {
      const inner = findMember(btf, btf.resolve(member.typeId), name);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

function memberNames(type: BtfType | BtfVoid): string {
  return type.kind === 'struct' || type.kind === 'union'
    ? type.members.map((m) => m.name || '(anonymous)').join(', ')
    : '';
}

type Want = 'label' | 'number';

/** Is this resolved type usable as a label (integers, enums, `char[]`) or a number (integers, enums)? */
function usable(btf: Btf, type: BtfType | BtfVoid, want: Want): boolean {
  if (type.kind === 'int' || type.kind === 'enum' || type.kind === 'enum64') return true;
  if (want === 'number' || type.kind !== 'array') return false;
  const element = btf.resolve(type.typeId);
  return element.kind === 'int' && element.size === 1;
}

/**
 * How to pick `field` (a dotted member path, or the whole value when undefined) out of values of
 * BTF type `typeId`, checked against the BTF now so a scrape never meets a missing member.
 */
function picker(
  btf: Btf,
  typeId: number,
  field: string | undefined,
  want: Want,
  what: string,
  path: ConfigPath,
  locate: Locate | undefined,
): Picker {
  let type = btf.resolve(typeId);
  const steps = field ? field.split('.') : [];
  for (const [i, step] of steps.entries()) {
    const member = findMember(btf, type, step);
    if (member === undefined) {
      const where = i === 0 ? what : `${what} member '${steps.slice(0, i).join('.')}'`;
      throw new ExportConfigError(
        path,
        type.kind === 'struct' || type.kind === 'union'
          ? `no member '${step}' in the ${where} (${describe(type)}: ${memberNames(type)})`
          : `the ${where} is ${describe(type)}, not a struct: it has no member '${step}'`,
        locate,
      );
    }
    type = btf.resolve(member);
  }
  if (!usable(btf, type, want)) {
    const hint =
      type.kind === 'struct' || type.kind === 'union'
        ? `: name one of its members (${memberNames(type)}) with 'field'/'value'`
        : '';
    throw new ExportConfigError(
      path,
      `the ${what}${field ? ` member '${field}'` : ''} is ${describe(type)}; ${
        want === 'label' ? 'a label needs an integer, an enum or a char array' : 'a value needs an integer'
      }${hint}`,
      locate,
    );
  }
  return (value) => {
    let v: BtfValue | undefined = value;
    for (const step of steps) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
      v = v[step];
    }
    return v;
  };
}

function asNumber(value: BtfValue | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return Number.NaN;
}

function asLabel(value: BtfValue | undefined, names: Readonly<Record<string, string>> | undefined): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : String(value);
  return names && Object.hasOwn(names, text) ? names[text]! : text;
}

/** Sum of a value over CPUs (a per-CPU map gives one value a CPU). */
function total(value: DecodedEntry[1], pick: Picker): number {
  if (value instanceof Uint8Array) return Number.NaN;
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + asNumber(pick(v)), 0);
  return asNumber(pick(value as BtfValue));
}

function mapOf(spec: ObjectSpec, name: string, path: ConfigPath, locate: Locate | undefined): ObjectMap {
  const map = spec.maps.find((m) => m.name === name);
  if (!map) {
    const names = spec.maps.filter((m) => READABLE_MAPS.has(m.type)).map((m) => m.name);
    throw new ExportConfigError(
      path,
      `no map '${name}' in the object (maps: ${names.join(', ') || 'none'})`,
      locate,
    );
  }
  if (!READABLE_MAPS.has(map.type))
    throw new ExportConfigError(
      path,
      `map '${name}' is a ${map.type} map: only hash, array and LPM trie maps (per-CPU too) can be read as metrics`,
      locate,
    );
  if (!spec.btf || !map.btfKeyTypeId || !map.btfValueTypeId)
    throw new ExportConfigError(
      path,
      `map '${name}' has no BTF key and value types (build the object with -g)`,
      locate,
    );
  return map;
}

/** Label pickers for a metric's labels, checked against the key type. */
function labelPickers(
  btf: Btf,
  keyType: number,
  labels: readonly LabelConfig[],
  path: ConfigPath,
  locate: Locate | undefined,
): Array<(key: BtfValue) => string> {
  return labels.map((label, i) => {
    const pick = picker(
      btf,
      keyType,
      label.field,
      'label',
      'key',
      [...path, 'labels', i, label.field ? 'field' : 'name'],
      locate,
    );
    return (key) => asLabel(pick(key), label.values);
  });
}

/** The finite bucket bounds of a log2 histogram with `count` slots: each slot's exclusive upper end. */
export function log2Bounds(count: number, slots: 'libbpf-tools' | 'bcc', scale = 1): number[] {
  const { buckets } = log2Histogram(new Array<bigint>(count).fill(1n), 'value', slots);
  return buckets.map((b) => Number(b.high + 1n) * scale);
}

/**
 * Check `config` against the object it names (given as its spec) and return the plan a scrape
 * follows. Throws {@link ExportConfigError} naming the field for a missing map, program or member,
 * or a member that cannot be a label or value.
 */
export function planExport(config: ExportConfig, spec: ObjectSpec, locate?: Locate): ExportPlan {
  const known = spec.programs.map((p) => p.name);
  for (const [i, program] of (config.programs ?? []).entries()) {
    if (!known.includes(program.name))
      throw new ExportConfigError(
        ['programs', i, 'name'],
        `no program '${program.name}' in the object (programs: ${known.join(', ')})`,
        locate,
      );
  }
  const metrics: MetricPlan[] = [];
  const btf = spec.btf;
  for (const kind of ['counters', 'gauges'] as const) {
    for (const [i, metric] of (config.metrics[kind] ?? []).entries()) {
      const path = ['metrics', kind, i];
      const map = mapOf(spec, metric.map, [...path, 'map'], locate);
      if (!btf) continue; // mapOf has thrown already
      const labels = labelPickers(btf, map.btfKeyTypeId!, metric.labels ?? [], path, locate);
      const pick = picker(
        btf,
        map.btfValueTypeId!,
        metric.value,
        'number',
        'value',
        [...path, metric.value ? 'value' : 'map'],
        locate,
      );
      const names = (metric.labels ?? []).map((l) => l.name);
      const scale = metric.scale ?? 1;
      metrics.push({
        kind: kind === 'counters' ? 'counter' : 'gauge',
        name: metric.name,
        help: metric.help ?? `map ${metric.map}`,
        map: metric.map,
        labelNames: names,
        path,
        samples(entries) {
          // Entries that share labels (a label left out of a struct key) add up.
          const byLabels = new Map<string, ValueSample>();
          for (const [key, value] of entries) {
            if (key instanceof Uint8Array) continue;
            const values = labels.map((label) => label(key));
            const id = JSON.stringify(values);
            const sum = (byLabels.get(id)?.value ?? 0) + total(value, pick) * scale;
            byLabels.set(id, {
              labels: Object.fromEntries(names.map((n, j) => [n, values[j]!])),
              value: sum,
            });
          }
          return [...byLabels.values()];
        },
      });
    }
  }
  for (const [i, metric] of (config.metrics.histograms ?? []).entries()) {
    const path = ['metrics', 'histograms', i];
    const map = mapOf(spec, metric.map, [...path, 'map'], locate);
    if (!btf) continue;
    const labels = labelPickers(btf, map.btfKeyTypeId!, metric.labels ?? [], path, locate);
    const slotOf = picker(
      btf,
      map.btfKeyTypeId!,
      metric.buckets.field,
      'number',
      'key',
      [...path, 'buckets', metric.buckets.field ? 'field' : 'type'],
      locate,
    );
    const countOf = picker(
      btf,
      map.btfValueTypeId!,
      metric.value,
      'number',
      'value',
      [...path, metric.value ? 'value' : 'map'],
      locate,
    );
    const slots = metric.buckets.count ?? Math.min(map.maxEntries, 64);
    const bounds = log2Bounds(slots, metric.buckets.slots ?? 'libbpf-tools', metric.buckets.scale ?? 1);
    const names = (metric.labels ?? []).map((l) => l.name);
    metrics.push({
      kind: 'histogram',
      name: metric.name,
      help: metric.help ?? `map ${metric.map}`,
      map: metric.map,
      labelNames: names,
      path,
      bounds,
      samples(entries) {
        const byLabels = new Map<string, HistogramSample>();
        for (const [key, value] of entries) {
          if (key instanceof Uint8Array) continue;
          const values = labels.map((label) => label(key));
          const id = JSON.stringify(values);
          let sample = byLabels.get(id);
          if (!sample) {
            sample = {
              labels: Object.fromEntries(names.map((n, j) => [n, values[j]!])),
              counts: new Array<number>(bounds.length + 1).fill(0),
            };
            byLabels.set(id, sample);
          }
          const slot = asNumber(slotOf(key));
          const count = total(value, countOf);
          if (!Number.isInteger(slot) || slot < 0 || !Number.isFinite(count)) continue;
          // A slot past the exposed ones holds values above the last bound: +Inf only.
          sample.counts[Math.min(slot, bounds.length)]! += count;
        }
        return [...byLabels.values()];
      },
    });
  }
  const programs = config.programs?.map((p) => p.name) ?? known;
  return { config, programs, metrics };
}
