/**
 * The CommonJS packages of the CLI (commander, picocolors), loaded with `require`. Node can
 * `import` a CommonJS package only after scanning its source for the names it exports (with
 * cjs-module-lexer, itself loaded for the purpose): measured here, that cost `tsbpf asm` about 4%
 * of a bare `node -e 0` in start-up CPU time. Take their values from here, their types from the
 * packages (`import type { Command } from 'commander'`).
 */
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import type * as Commander from 'commander';
import type Picocolors from 'picocolors';

const require = createRequire(import.meta.url);

/** commander: the command-line parser. */
const commander: typeof Commander = require('commander');
export const { Command, CommanderError, InvalidArgumentError, Option } = commander;

/** picocolors: terminal colours, off when the stream is not a TTY or NO_COLOR is set. */
export const pc: typeof Picocolors = require('picocolors');

/**
 * cli-progress: progress bars, loaded only when a bar is shown (a terminal and a large input):
 * loading it was about 15% of the CPU time of `run FILE.o --pcap` over a small capture.
 */
export const cliProgress = (): typeof CliProgress => require('cli-progress');
