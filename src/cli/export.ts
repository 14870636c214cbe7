/**
 * `tsbpf export CONFIG [--listen HOST:PORT] [--check]`: serve an object's maps as Prometheus
 * metrics (src/kernel/export/) until SIGINT or SIGTERM, then detach everything and exit 0.
 * `--check` only checks the configuration against its object (no root needed).
 */
import type { Command } from 'commander';
import { DEFAULT_EXPORT_LISTEN } from '../kernel/export/index.js';
import type { CliContext } from './io.js';

interface ExportOptions {
  listen?: string;
  check?: boolean;
}

/** Register `export`. `fail` reports an error and sets the exit status. */
export function registerExportCommands(
  program: Command,
  ctx: CliContext,
  fail: (error: unknown) => never,
): void {
  const { io } = ctx;
  program
    .command('export')
    .description("serve a BPF object's maps as Prometheus metrics on /metrics (like ebpf_exporter)")
    .argument('<config>', 'YAML or JSON configuration (see examples/export.yaml)')
    .option('--listen <host:port>', 'address to serve on', DEFAULT_EXPORT_LISTEN)
    .option('--check', 'check the configuration against its object and exit (no root needed)')
    .action(async (file: string, options: ExportOptions) => {
      try {
        const { checkExport, parseListen, readExportConfig, startExporter } = await import(
          '../kernel/export/exporter.js'
        );
        const { config, locate, baseDir } = readExportConfig(file);
        if (options.check) {
          const { plan, objectPath } = checkExport(config, { baseDir, locate });
          parseListen(options.listen ?? DEFAULT_EXPORT_LISTEN);
          io.stdout.write(
            `${file}: ok: ${plan.metrics.length} metrics (${plan.metrics.map((m) => `${m.name} ${m.kind}`).join(', ')}) ` +
              `from ${objectPath}, programs ${plan.programs.join(', ')}\n`,
          );
          return;
        }
        const exporter = await startExporter(config, {
          baseDir,
          locate,
          ...(options.listen ? { listen: options.listen } : {}),
        });
        io.stdout.write(
          `attached ${exporter.programs.join(', ')}; serving metrics on ${exporter.url} (Ctrl-C to stop)\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            // The command may run in-process (tests): leave no handlers behind.
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await exporter.close();
        io.stdout.write('detached; closed\n');
      } catch (error) {
        fail(error);
      }
    });
}
