/**
 * `npm run fuzz [-- options]`: mutation fuzzing of every parser and the VM (see fuzz/targets.ts).
 *
 *   --long            1,000,000 inputs per target (default 10,000)
 *   --count N         inputs per target
 *   --target X[,Y]    only these targets (repeatable)
 *   --seconds S       stop each target after S seconds
 *   --seed N          the run's seed (input i of a seed is always the same bytes)
 *   --parallel N      children at once (default 2)
 *   --timeout MS      CPU time per input before it counts as a hang (default 1000)
 *   --rss MB          resident memory limit per child (default 2048)
 *   --replay          replay testdata/fuzz/ instead of generating inputs
 *   --no-save         do not write new findings to testdata/fuzz/
 *
 * Exits 1 when a finding is not a known class (fuzz/known.ts).
 */
import { formatReport, runFuzz } from './harness.js';
import { TARGETS } from './targets.js';

const args = process.argv.slice(2);
const targets: string[] = [];
let count = 10_000;
let seconds: number | undefined;
let seed = Date.now() % 1_000_000;
let parallel = 2;
let timeoutMs = 1000;
let rss = 2048;
let replay = false;
let save = true;
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const value = () => {
    const v = args[++i];
    if (v === undefined) throw new Error(`${arg} needs a value`);
    return v;
  };
  if (arg === '--long') count = 1_000_000;
  else if (arg === '--count') count = Number(value());
  else if (arg === '--target') targets.push(...value().split(','));
  else if (arg === '--seconds') seconds = Number(value());
  else if (arg === '--seed') seed = Number(value());
  else if (arg === '--parallel') parallel = Number(value());
  else if (arg === '--timeout') timeoutMs = Number(value());
  else if (arg === '--rss') rss = Number(value());
  else if (arg === '--replay') replay = true;
  else if (arg === '--no-save') save = false;
  else if (arg === '--list') {
    for (const t of TARGETS) console.log(`${t.name.padEnd(16)} ${t.about}`);
    process.exit(0);
  } else {
    console.error(`unknown option ${arg} (see fuzz/run.ts)`);
    process.exit(2);
  }
}

console.log(`fuzz: seed ${seed}, ${replay ? 'replaying testdata/fuzz/' : `${count} inputs per target`}`);
const report = await runFuzz({
  targets,
  count,
  secondsPerTarget: seconds,
  seed,
  parallel,
  timeoutMs,
  rssLimitMb: rss,
  replay,
  save,
  log: (line) => console.log(line),
});
console.log(formatReport(report));
process.exit(report.unknown.length ? 1 : 0);
