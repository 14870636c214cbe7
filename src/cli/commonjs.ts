/**
 * The CommonJS packages of the CLI (commander, picocolors, cli-progress), in one place. The
 * `tsbpf` command runs the bundled CLI (scripts/bundle-cli.mjs), which bundles commander and
 * picocolors in, so their code is compiled once into its code cache with ours; tests and dist/cli/
 * import them as usual.
 */
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import pc from 'picocolors';

export { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** picocolors: terminal colours, off when the stream is not a TTY or NO_COLOR is set. */
export { pc };

/**
 * cli-progress: progress bars, loaded only when a bar is shown (a terminal and a large input):
 * loading it was about 15% of the CPU time of `run FILE.o --pcap` over a small capture.
 */
export const cliProgress = (): typeof CliProgress => createRequire(import.meta.url)('cli-progress');
