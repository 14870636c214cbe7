import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { distIsFresh } from '../src/dist.fixture.js';

/**
 * The contract of a benchmark section: `bench/run.ts` lists the sections, runs the ones asked for,
 * and prints each one's table and its verdict against its target. A new benchmark is a module
 * exporting `bench: Bench` plus one line in `SECTIONS` (bench/run.ts).
 */

/** What a section gets from the command line. */
export interface BenchOptions {
  /** The folder of benchmark programs (`.data` files), if one was given or the default exists. */
  readonly suite: string;
  /** Seconds to spend per measurement (`BENCH_SECONDS`, default 1). */
  readonly seconds: number;
}

/** What a section measured. */
export interface BenchResult {
  /** One row per measurement, printed as a table. */
  readonly rows: ReadonlyArray<Record<string, string | number>>;
  /** One line: the target and how the worst measurement compares to it. */
  readonly summary: string;
  /** Whether every measurement met its target. */
  readonly met: boolean;
}

/** A benchmark section. */
export interface Bench {
  readonly description: string;
  /** Why it cannot run here (missing root, programs, tools), or undefined when it can. */
  unavailable?(options: BenchOptions): string | undefined;
  run(options: BenchOptions): Promise<BenchResult>;
}

/** Thrown by a section for a problem the user must fix (a missing folder); run.ts exits non-zero. */
export class BenchSetupError extends Error {}

/**
 * Builds dist/ (`npm run build`) when these built files are missing or older than src/: sections
 * that time what users run (the bundled CLI, the compiled modules) call it first.
 */
export function ensureBuilt(files: readonly string[]): void {
  if (distIsFresh(files)) return;
  console.log('building dist/ (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], {
    cwd: fileURLToPath(new URL('../', import.meta.url)),
    stdio: 'inherit',
  });
}
