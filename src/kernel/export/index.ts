/**
 * The exporter as `tsbpf/kernel` exports it. prom-client and the YAML parser take a while to load,
 * so the functions here load them on first call: importing `tsbpf/kernel` stays as cheap as it was.
 */
import type { ExportConfig } from './config.js';
import type { Exporter, ExporterOptions } from './exporter.js';
import type { ExportPlan } from './plan.js';

export type {
  BucketsConfig,
  ExportConfig,
  HistogramMetricConfig,
  LabelConfig,
  ProgramConfig,
  ValueMetricConfig,
} from './config.js';
export { DEFAULT_EXPORT_LISTEN } from './defaults.js';
export * from './errors.js';
export type { Exporter, ExporterOptions } from './exporter.js';
export type { ExportPlan, HistogramSample, MetricPlan, ValueSample } from './plan.js';

/**
 * Load the configuration's object, attach its programs and serve its maps as Prometheus metrics
 * on `/metrics` (default {@link DEFAULT_EXPORT_LISTEN}); resolves once listening. Close the
 * returned {@link Exporter} to detach everything.
 *
 * ```ts
 * const { config, baseDir } = await readExportConfig('examples/export.yaml');
 * const exporter = await startExporter(config, { baseDir, listen: '127.0.0.1:9435' });
 * process.once('SIGINT', () => exporter.close());
 * ```
 */
export async function startExporter(config: ExportConfig, options: ExporterOptions = {}): Promise<Exporter> {
  return (await import('./exporter.js')).startExporter(config, options);
}

/** Read a YAML or JSON configuration file; its folder is where a relative `object` path starts. */
export async function readExportConfig(
  file: string,
): Promise<{ config: ExportConfig; baseDir: string; locate: ExporterOptions['locate'] }> {
  return (await import('./exporter.js')).readExportConfig(file);
}

/** Check a configuration against its object file without loading anything (no root needed). */
export async function checkExport(
  config: ExportConfig,
  options: Pick<ExporterOptions, 'baseDir' | 'locate'> = {},
): Promise<ExportPlan> {
  return (await import('./exporter.js')).checkExport(config, options).plan;
}
