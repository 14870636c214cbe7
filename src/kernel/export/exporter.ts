/**
 * `startExporter`: load an object, attach its programs, and serve its maps as Prometheus metrics
 * on `/metrics` (prom-client writes the text format), reading every map on each scrape — the
 * ebpf_exporter model. Alongside the configured metrics it serves its own health:
 *
 * | metric | type | meaning |
 * |---|---|---|
 * | `tsbpf_exporter_up` | gauge | 1 while the programs are attached |
 * | `tsbpf_exporter_programs_attached` | gauge | programs attached |
 * | `tsbpf_exporter_scrape_duration_seconds` | gauge | time the last scrape took to read the maps |
 * | `tsbpf_exporter_scrapes_total` | counter | scrapes served |
 * | `tsbpf_exporter_map_read_errors_total{map}` | counter | map reads that failed |
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, isAbsolute, resolve } from 'node:path';
import { withBtf } from '../../maps/btf-codec.js';
import { loadObjectSpec, type ObjectSpec } from '../../object/object.js';
import { attachBySection } from '../attach/attach.js';
import type { Link } from '../attach/links.js';
import { type KernelObject, loadObject } from '../load/object.js';
import type { Sys } from '../sys/syscall.js';
import { checkExportConfig, type ExportConfig, parseExportConfig } from './config.js';
/** Where `tsbpf export` listens unless told (ebpf_exporter's port). */
import { DEFAULT_EXPORT_LISTEN as DEFAULT_LISTEN } from './defaults.js';
import { ExportConfigError, ExportLoadError, ListenError, type Locate } from './errors.js';
import { type DecodedEntry, type ExportPlan, planExport } from './plan.js';
import { metricsRegistry } from './registry.js';

/** Options of {@link startExporter}. */
export interface ExporterOptions {
  /** `HOST:PORT` (`[::1]:9435`, `:9435` for every address; port 0 picks a free one). Default {@link DEFAULT_LISTEN}. */
  readonly listen?: string;
  /** Directory a relative `object` path is relative to (the config file's); default the current one. */
  readonly baseDir?: string;
  /** Maps a configuration path back to `file:line:col` in error messages. */
  readonly locate?: Locate;
  readonly sys?: Sys;
}

/** A running exporter. */
export interface Exporter {
  /** `http://HOST:PORT/metrics`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Programs attached, by name. */
  readonly programs: readonly string[];
  /** Read every map now and render the text a scrape gets. */
  metrics(): Promise<string>;
  /** Stop serving, detach every program and close every fd. Idempotent. */
  close(): Promise<void>;
}

/** `HOST:PORT` → host and port (`[::1]:80`, `:80` = every address). */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535)
    throw new ListenError(
      `listen address '${listen}': expected HOST:PORT (127.0.0.1:9435, [::1]:9435, :9435)`,
    );
  return { host: match[1] ?? (match[2] || '::'), port };
}

/** Read and parse a configuration file; relative object paths are then relative to its folder. */
export function readExportConfig(file: string): { config: ExportConfig; locate: Locate; baseDir: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ExportConfigError([], `${file}: cannot read (${(error as NodeJS.ErrnoException).code})`);
  }
  return { ...parseExportConfig(text, file), baseDir: dirname(file) };
}

/** Check a configuration against its object file without loading anything (no root needed). */
export function checkExport(
  config: ExportConfig,
  options: Pick<ExporterOptions, 'baseDir' | 'locate'> = {},
): { plan: ExportPlan; spec: ObjectSpec; objectPath: string } {
  const checked = checkExportConfig(config, options.locate);
  const objectPath = isAbsolute(checked.object)
    ? checked.object
    : resolve(options.baseDir ?? '.', checked.object);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(objectPath));
  } catch (error) {
    throw new ExportConfigError(
      ['object'],
      `cannot read ${objectPath} (${(error as NodeJS.ErrnoException).code})`,
      options.locate,
    );
  }
  let spec: ObjectSpec;
  try {
    spec = loadObjectSpec(bytes);
  } catch (error) {
    throw new ExportConfigError(['object'], `${objectPath}: ${(error as Error).message}`, options.locate);
  }
  return { plan: planExport(checked, spec, options.locate), spec, objectPath };
}

/**
 * Load the configuration's object, attach its programs and serve its maps as Prometheus metrics.
 * Resolves once listening; any failure (configuration, load, attach, listen) rejects after
 * releasing whatever was set up.
 */
export async function startExporter(config: ExportConfig, options: ExporterOptions = {}): Promise<Exporter> {
  const { plan, spec } = checkExport(config, options);
  const { host, port } = parseListen(options.listen ?? DEFAULT_LISTEN);
  const links: Link[] = [];
  let object: KernelObject | undefined;
  let server: Server | undefined;
  try {
    object = loadObject(spec, { programs: plan.programs, ...(options.sys ? { sys: options.sys } : {}) });
    const programConfigs = new Map((config.programs ?? []).map((p, i) => [p.name, { p, i }]));
    for (const name of plan.programs) {
      const loaded = object.programs.get(name)!;
      const entry = programConfigs.get(name);
      const path = entry ? ['programs', entry.i, 'name'] : ['object'];
      if (!loaded.program)
        throw new ExportLoadError(
          path,
          `program '${name}' was not loaded: ${loaded.error?.message}`,
          options.locate,
          { cause: loaded.error },
        );
      const p = entry?.p;
      try {
        links.push(
          attachBySection(loaded.program, loaded.spec, {
            ...(p?.iface !== undefined ? { iface: p.iface } : {}),
            ...(p?.xdp_mode !== undefined ? { xdpMode: p.xdp_mode } : {}),
            ...(p?.cgroup !== undefined ? { cgroup: p.cgroup } : {}),
            ...(p?.binary !== undefined ? { binary: p.binary } : {}),
            ...(p?.pid !== undefined ? { pid: p.pid } : {}),
            ...(options.sys ? { sys: options.sys } : {}),
          }),
        );
      } catch (error) {
        throw new ExportLoadError(
          path,
          `program '${name}' could not be attached: ${(error as Error).message}`,
          options.locate,
          { cause: error },
        );
      }
    }

    const loadedObject = object;
    const btf = spec.btf!;
    const metrics = metricsRegistry(
      plan,
      (map) => withBtf(loadedObject.map(map), btf).entries() as Iterable<DecodedEntry>,
      links.length,
    );
    const { scrape } = metrics;

    const httpServer = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        scrape().then(
          (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
          (error: unknown) =>
            response
              .writeHead(500, { 'content-type': 'text/plain' })
              .end(`scrape failed: ${(error as Error).message}\n`),
        );
        return;
      }
      if (path === '/') {
        response
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(
            '<html><head><title>tsbpf exporter</title></head><body><a href="/metrics">Metrics</a></body></html>\n',
          );
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
    });
    server = httpServer;
    await new Promise<void>((resolveListen, rejectListen) => {
      httpServer.once('error', (error: NodeJS.ErrnoException) =>
        rejectListen(
          new ListenError(`listen on ${host}:${port}: ${error.code ?? error.message}`, { cause: error }),
        ),
      );
      httpServer.listen(port, host, () => resolveListen());
    });
    const address = httpServer.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${urlHost}:${boundPort}/metrics`,
      host,
      port: boundPort,
      programs: plan.programs,
      metrics: scrape,
      close() {
        closing ??= (async () => {
          metrics.setUp(0);
          httpServer.closeAllConnections();
          await new Promise<void>((done) => httpServer.close(() => done()));
          await metrics.idle();
          for (const link of links.splice(0)) link.close();
          loadedObject.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    server?.close();
    for (const link of links) link.close();
    object?.close();
    throw error;
  }
}

export { ExportLoadError, ListenError } from './errors.js';
