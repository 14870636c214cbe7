/**
 * Types for `parse-prometheus-text-format` (a dev dependency the exporter's tests parse its output
 * with; it ships none): prom2json's shape, every number as a string.
 */
declare module 'parse-prometheus-text-format' {
  /** One counter, gauge or untyped sample. */
  export interface ParsedSample {
    readonly value: string;
    readonly labels?: Readonly<Record<string, string>>;
  }
  /** One labelled histogram: cumulative counts by `le`. */
  export interface ParsedHistogram {
    readonly buckets: Readonly<Record<string, string>>;
    readonly count: string;
    readonly sum: string;
    readonly labels?: Readonly<Record<string, string>>;
  }
  /** One metric family. */
  export interface ParsedFamily {
    readonly name: string;
    readonly help: string;
    readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    readonly metrics: ReadonlyArray<ParsedSample & Partial<ParsedHistogram>>;
  }
  /** Parse Prometheus text exposition format; throws on a malformed line. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
