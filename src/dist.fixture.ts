/**
 * For tests and benchmarks: whether dist/ (the build `npm ci` and `npm pack` make) is current with the sources,
 * so that a test may use the compiled output instead of compiling or type-checking src/ again.
 * Not part of the package (excluded from the build).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

/** The newest modification time of the built sources under a folder, in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    // Tests and their helpers are not built.
    if (entry.isFile() && !/\.test\.ts$|\.fixture\.ts$|test-harness\.ts$/.test(entry.name))
      latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** True when these built files (default dist/index.js and .d.ts) are as new as every built source. */
export function distIsFresh(files: readonly string[] = ['dist/index.js', 'dist/index.d.ts']): boolean {
  const sources = newest(join(root, 'src'));
  return files.every((file) => existsSync(join(root, file)) && statSync(join(root, file)).mtimeMs >= sources);
}

/**
 * The node arguments that run `tsbpf ...args` as its own process, from the repository root: the
 * bundled CLI (bin/tsbpf.js) when the build is current, as users run it, else the sources through
 * tsx (compiling the CLI in the child costs about a second of CPU more).
 */
export function tsbpfProcessArgs(args: readonly string[]): string[] {
  return distIsFresh(['dist/bundle/main.js'])
    ? ['bin/tsbpf.js', ...args]
    : [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(process.argv.slice(1));",
        ...args,
      ];
}
