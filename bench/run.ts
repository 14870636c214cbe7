/**
 * `npm run bench [-- [DIR] [SECTION...]]`: runs the benchmark sections (all, or those named) and
 * prints each one's measurements against its target. DIR is the folder of interpreter benchmark
 * programs (default ../shared/bench). `BENCH_SECONDS` scales the time spent per measurement.
 *
 * To add a benchmark, write `bench/NAME.ts` exporting `bench: Bench` (bench/bench.ts) and add
 * a line to SECTIONS.
 */
import { fileURLToPath } from 'node:url';
import type { Bench, BenchOptions } from './bench.js';
import { BenchSetupError } from './bench.js';

const SECTIONS: Record<string, () => Promise<{ bench: Bench }>> = {
  startup: () => import('./startup.js'),
  interpreter: () => import('./interpreter.js'),
  vmlinux: () => import('./vmlinux.js'),
  ringbuf: () => import('./ringbuf.js'),
  verifier: () => import('./verifier.js'),
  web: () => import('./web.js'),
  pcap: () => import('./pcap.js'),
};

const DEFAULT_SUITE = fileURLToPath(new URL('../../shared/bench/', import.meta.url));

const args = process.argv.slice(2);
const named = args.filter((arg) => Object.hasOwn(SECTIONS, arg));
const folders = args.filter((arg) => !Object.hasOwn(SECTIONS, arg));
if (folders.length > 1 || folders.some((arg) => arg.startsWith('-'))) {
  console.error(`usage: npm run bench -- [DIR] [${Object.keys(SECTIONS).join('|')}...]`);
  process.exit(2);
}
const options: BenchOptions = {
  suite: folders[0] ?? DEFAULT_SUITE,
  seconds: Number(process.env.BENCH_SECONDS ?? 1),
};

let status = 0;
let missed = 0;
for (const name of named.length > 0 ? named : Object.keys(SECTIONS)) {
  const { bench } = await SECTIONS[name]!();
  console.log(`\n== ${name}: ${bench.description}`);
  const unavailable = bench.unavailable?.(options);
  if (unavailable) {
    console.log(`skipped: ${unavailable}`);
    continue;
  }
  try {
    const result = await bench.run(options);
    console.table(result.rows);
    console.log(`${result.met ? 'met' : 'MISSED'}: ${result.summary}`);
    if (!result.met) missed++;
  } catch (error) {
    if (!(error instanceof BenchSetupError)) throw error;
    console.error(`error: ${error.message}`);
    status = 2;
  }
}
if (missed > 0) console.log(`\n${missed} section(s) missed their target`);
process.exitCode = status;
