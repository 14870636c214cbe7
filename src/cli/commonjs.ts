/**
 * The CommonJS packages of the CLI (commander, picocolors, cli-progress), in one place. The
 * `tsbpf` command runs the bundled CLI (scripts/bundle-cli.mjs), which bundles commander in, so
 * its code is compiled once into the code cache with ours; picocolors and cli-progress are
 * required when first used.
 */
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import type Picocolors from 'picocolors';
import { mayBeTerminal } from './io.js';

export { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/**
 * A package's CommonJS exports. In the bundled CLI (CommonJS chunks, scripts/bundle-cli.mjs) the
 * chunk's own `require`; from the ES module sources (tests, dist/cli/) `createRequire`, which
 * the bundle avoids: it starts Node's ESM loader (about 5 ms).
 */
const load = (name: string): unknown =>
  // (`module` tells a CommonJS chunk from an ES module bundle, where esbuild shims `require`)
  typeof module === 'object' && typeof require === 'function'
    ? require(name)
    : createRequire(import.meta.url)(name);
let colors: typeof Picocolors | undefined;

/**
 * Whether picocolors, loaded now, would colour: false when it certainly would not (NO_COLOR,
 * `--no-color`, or nothing that turns colours on while stdout is no terminal), undefined when
 * only picocolors itself can say.
 */
function coloursOn(): false | undefined {
  const { env, argv } = process;
  if (env.NO_COLOR || argv.includes('--no-color')) return false;
  if (env.FORCE_COLOR || argv.includes('--color') || process.platform === 'win32' || env.CI) return undefined;
  return mayBeTerminal(1) ? undefined : false;
}

/**
 * picocolors' formatters with colours off, without loading it: each returns its input as a
 * string, as picocolors' own do then.
 */
const plain = new Proxy({} as typeof Picocolors, {
  get: (_, name) =>
    name === 'isColorSupported'
      ? false
      : name === 'createColors'
        ? (load('picocolors') as typeof Picocolors).createColors
        : String,
});

/**
 * picocolors: terminal colours, off when stdout is not a TTY or NO_COLOR is set. Loaded on first
 * use, and only when it may colour: it reads `process.stdout.isTTY` as it loads, and opening that
 * stream (with the modules behind it), and finding and compiling the package, were a few ms of
 * every short command, which may not colour anything.
 */
export const pc: typeof Picocolors = new Proxy({} as typeof Picocolors, {
  get: (_, name) => {
    colors ??= coloursOn() === false ? plain : (load('picocolors') as typeof Picocolors);
    return colors[name as keyof typeof Picocolors];
  },
});

/**
 * cli-progress: progress bars, loaded only when a bar is shown (a terminal and a large input):
 * loading it was about 15% of the CPU time of `run FILE.o --pcap` over a small capture.
 */
export const cliProgress = (): typeof CliProgress => load('cli-progress') as typeof CliProgress;
