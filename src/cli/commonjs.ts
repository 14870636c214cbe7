/**
 * The CommonJS packages of the CLI (commander, picocolors), in one place. The `tsbpf` command
 * runs the bundled CLI (scripts/bundle-cli.mjs), which bundles these two in, so their code is
 * compiled once into its code cache with ours; tests and dist/cli/ import them as usual.
 */
import pc from 'picocolors';

export { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** picocolors: terminal colours, off when the stream is not a TTY or NO_COLOR is set. */
export { pc };
