/**
 * The fuzzing parent: runs targets in child processes (so a hang, a runaway allocation or a fatal
 * V8 error is counted, not fatal to the run), watches each child's CPU time per input and its
 * memory, restarts it after the input that killed it, and saves every new finding as a
 * regression file under testdata/fuzz/<target>/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildJob } from './child.js';
import { type FindingKind, knownClass } from './known.js';
import { inputSeed, Rng } from './mutate.js';
import { ROOT, TARGETS, targetByName } from './targets.js';

export const REGRESSION_DIR = join(ROOT, 'testdata', 'fuzz');
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const CLOCK_TICKS = 100;

export interface FuzzOptions {
  readonly targets?: readonly string[];
  /** Inputs per target. */
  readonly count: number;
  /** Stop each target after this many seconds (inputs reached are reported). */
  readonly secondsPerTarget?: number;
  readonly seed?: number;
  /** CPU time one input may take before it counts as a hang; default 1,000 ms. */
  readonly timeoutMs?: number;
  /** Resident memory a child may reach before it is killed (a death); default 2,048 MB. */
  readonly rssLimitMb?: number;
  /** Children running at once; default 2. */
  readonly parallel?: number;
  /** Save new findings under testdata/fuzz/ (default false). */
  readonly save?: boolean;
  /** Replay the regression files instead of generating inputs. */
  readonly replay?: boolean;
  /** Stop a target after this many known hangs or deaths (they cost a restart each); default ∞. */
  readonly maxKnown?: number;
  readonly minimise?: boolean;
  /** Progress lines (long runs). */
  readonly log?: (line: string) => void;
}

export interface Finding {
  readonly target: string;
  readonly kind: FindingKind;
  readonly signature: string;
  /** The known class's label, when it is known. */
  readonly known: string | undefined;
  count: number;
  /** Input (hex, first one seen; minimised for untyped exceptions), and the file it was saved to. */
  example: string;
  file: string | undefined;
  readonly detail: string;
}

export interface TargetStats {
  readonly target: string;
  inputs: number;
  ok: number;
  typed: number;
  untyped: number;
  hangs: number;
  deaths: number;
  /** Of untyped + hangs + deaths: how many are known classes. */
  known: number;
  peakRssMb: number;
  ms: number;
}

export interface FuzzReport {
  readonly stats: TargetStats[];
  readonly findings: Finding[];
  /** Findings not in a known class: these fail the CI-sized run. */
  readonly unknown: Finding[];
}

/** Per child: which input runs, and the watchdog's view of it. */
interface Running {
  job: number;
  index: number;
  phase: 'run' | 'minimise';
  wallStart: number;
  cpuAtStart: number | undefined;
}

function readProc(pid: number): { cpuMs: number; rssKb: number; hwmKb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { cpuMs, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** The regression files of a target. */
export function regressionFiles(target: string): string[] {
  const dir = join(REGRESSION_DIR, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && !f.endsWith('.md'))
    .sort()
    .map((f) => join(dir, f));
}

/** Run the fuzzers; resolves with per-target numbers and every finding. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const names = options.targets?.length ? options.targets : TARGETS.map((t) => t.name);
  for (const name of names) if (!targetByName(name)) throw new Error(`no fuzz target '${name}'`);
  const seed = options.seed ?? 1;
  const timeoutMs = options.timeoutMs ?? 1000;
  const rssLimitKb = (options.rssLimitMb ?? 2048) * 1024;
  const parallel = options.parallel ?? 2;
  const log = options.log ?? (() => {});
  const stats = new Map<string, TargetStats>();
  const findings = new Map<string, Finding>();
  const seedCache = new Map<string, readonly Uint8Array[]>();

  const inputOf = (job: ChildJob, index: number): Uint8Array => {
    if (job.files) return new Uint8Array(readFileSync(job.files[index]));
    const target = targetByName(job.target)!;
    let seeds = seedCache.get(job.target);
    if (!seeds) {
      seeds = target.seeds();
      seedCache.set(job.target, seeds);
    }
    return target.generate(seeds, new Rng(inputSeed(job.seed, index)));
  };

  const record = (
    job: ChildJob,
    kind: FindingKind,
    signature: string,
    input: Uint8Array | string,
    detail: string,
    fileHint?: string,
  ): Finding => {
    const s = stats.get(job.target)!;
    if (kind === 'untyped') s.untyped++;
    else if (kind === 'hang') s.hangs++;
    else s.deaths++;
    const known = knownClass(job.target, kind, signature)?.label;
    if (known) s.known++;
    const hex = typeof input === 'string' ? input : Buffer.from(input).toString('hex');
    // Hangs and deaths have no stack: one finding per input (capped when saving).
    const key = `${job.target}\0${kind}\0${kind === 'untyped' ? signature : hash(hex)}`;
    let finding = findings.get(key);
    if (!finding) {
      finding = {
        target: job.target,
        kind,
        signature,
        known,
        count: 0,
        example: hex,
        file: fileHint,
        detail,
      };
      findings.set(key, finding);
      if (options.save && !job.files) save(finding);
    }
    finding.count++;
    return finding;
  };

  const save = (finding: Finding) => {
    const target = targetByName(finding.target)!;
    const dir = join(REGRESSION_DIR, finding.target);
    // Hangs and deaths have no signature to tell them apart, and each costs a restart when
    // replayed: keep a few per target.
    const sameKind = existsSync(dir)
      ? readdirSync(dir).filter((f) => f.startsWith(`${finding.kind}-`)).length
      : 0;
    if (finding.kind !== 'untyped' && sameKind >= 3) return;
    mkdirSync(dir, { recursive: true });
    const file = join(
      dir,
      `${finding.kind}-${hash(finding.kind === 'untyped' ? finding.signature : finding.example)}.${target.ext}`,
    );
    if (existsSync(file)) return;
    writeFileSync(file, Buffer.from(finding.example, 'hex'));
    finding.file = file;
  };

  /** Run one list of jobs to the end in one child at a time (restarting after hangs and deaths). */
  const runJobs = async (jobs: ChildJob[]): Promise<void> => {
    let remaining = jobs;
    while (remaining.length) remaining = await runChild(remaining);
  };

  const runChild = (jobs: ChildJob[]): Promise<ChildJob[]> =>
    new Promise((resolve, reject) => {
      const child: ChildProcess = spawn(
        process.execPath,
        ['--import', 'tsx', '--max-old-space-size=1024', CHILD, JSON.stringify(jobs)],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
      );
      const pid = child.pid!;
      let running: Running | undefined;
      let finished = -1; // last job index that ended
      let killedFor: { kind: FindingKind; detail: string } | undefined;
      let lastUntyped: Finding | undefined;
      let stderr = '';
      let buffered = '';
      let jobStart = Date.now();
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      const onLine = (line: string) => {
        const code = line[0];
        if (code === 'S') {
          const [, job, index] = line.split(' ');
          const jobIndex = Number(job);
          if (!running || running.job !== jobIndex) {
            jobStart = Date.now();
            try {
              // Reset the peak RSS so each target's peak is its own.
              writeFileSync(`/proc/${pid}/clear_refs`, '5');
            } catch {}
          }
          running = {
            job: jobIndex,
            index: Number(index),
            phase: 'run',
            wallStart: Date.now(),
            cpuAtStart: undefined,
          };
          stats.get(jobs[jobIndex].target)!.inputs++;
        } else if (code === '.' || code === 't') {
          const s = stats.get(jobs[running!.job].target)!;
          if (code === '.') s.ok++;
          else s.typed++;
        } else if (code === 'U') {
          const report = JSON.parse(line.slice(2)) as {
            signature: string;
            message: string;
            stack: string;
            input: string;
          };
          const job = jobs[running!.job];
          lastUntyped = record(
            job,
            'untyped',
            report.signature,
            report.input,
            report.stack,
            job.files?.[running!.index],
          );
          if (!lastUntyped.known && lastUntyped.count === 1)
            log(`  ${job.target}: untyped ${report.signature}`);
        } else if (code === 'm') {
          running!.phase = 'minimise';
          running!.wallStart = Date.now();
        } else if (code === 'M') {
          const report = JSON.parse(line.slice(2)) as { signature: string; input: string };
          if (
            lastUntyped &&
            lastUntyped.signature === report.signature &&
            report.input.length < lastUntyped.example.length
          ) {
            lastUntyped.example = report.input;
            if (lastUntyped.file && options.save)
              writeFileSync(lastUntyped.file, Buffer.from(report.input, 'hex'));
          }
          if (running) running.phase = 'run';
        } else if (code === 'E') {
          const [, job] = line.split(' ');
          finished = Number(job);
          const s = stats.get(jobs[finished].target)!;
          s.ms += Date.now() - jobStart;
          const proc = readProc(pid);
          if (proc) s.peakRssMb = Math.max(s.peakRssMb, Math.round(proc.hwmKb / 1024));
          running = undefined;
          log(summary(s));
        }
      };
      child.stdio[3]!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) onLine(line);
      });
      const tick = setInterval(() => {
        // Without /proc (not Linux): wall-clock time stands in for CPU time, no memory limit.
        const proc = readProc(pid) ?? { cpuMs: Date.now(), rssKb: 0, hwmKb: 0 };
        if (!running || killedFor) return;
        const s = stats.get(jobs[running.job].target)!;
        s.peakRssMb = Math.max(s.peakRssMb, Math.round(proc.hwmKb / 1024));
        running.cpuAtStart ??= proc.cpuMs;
        const wall = Date.now() - running.wallStart;
        if (proc.rssKb > rssLimitKb) {
          killedFor = {
            kind: 'death',
            detail: `resident memory ${Math.round(proc.rssKb / 1024)} MB over the limit`,
          };
        } else if (
          running.phase === 'minimise'
            ? wall > 30_000
            : proc.cpuMs - running.cpuAtStart > timeoutMs || wall > 20 * timeoutMs
        ) {
          killedFor = {
            kind: running.phase === 'minimise' ? 'untyped' : 'hang',
            detail:
              running.phase === 'minimise' ? 'minimising did not finish' : `over ${timeoutMs} ms of CPU time`,
          };
        }
        if (killedFor) child.kill('SIGKILL');
      }, 100);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearInterval(tick);
        if (buffered) onLine(buffered);
        if (finished === jobs.length - 1 && code === 0) return resolve([]);
        if (!running) {
          return reject(
            new Error(`fuzz child exited (code ${code}, signal ${signal}) outside an input:\n${stderr}`),
          );
        }
        const job = jobs[running.job];
        const s = stats.get(job.target)!;
        s.ms += Date.now() - jobStart;
        if (killedFor?.kind === 'untyped') {
          // Minimising a finding hung: the finding stands, unminimised; go on after it.
        } else {
          const kind = killedFor?.kind ?? 'death';
          const detail =
            killedFor?.detail ??
            `exit code ${code}, signal ${signal}: ${stderr.trim().split('\n').slice(0, 3).join(' | ')}`;
          const finding = record(
            job,
            kind,
            kind === 'hang' ? 'hang' : `death: ${detail.slice(0, 120)}`,
            inputOf(job, running.index),
            detail,
            job.files?.[running.index],
          );
          if (!finding.known || finding.count === 1)
            log(`  ${job.target}: ${kind} at input ${running.index}: ${detail.slice(0, 200)}`);
        }
        const knownCount = s.known;
        const rest: ChildJob[] = [];
        const stopJob = options.maxKnown !== undefined && knownCount >= options.maxKnown;
        const seconds = (options.secondsPerTarget ?? 1e9) - s.ms / 1000;
        if (!stopJob && running.index + 1 < job.to && seconds > 0)
          rest.push({ ...job, from: running.index + 1, seconds });
        else log(summary(s));
        rest.push(...jobs.slice(running.job + 1));
        resolve(rest);
      });
    });

  const jobsFor = (name: string): ChildJob[] => {
    const seconds = options.secondsPerTarget ?? 1e9;
    if (options.replay) {
      // A known hang or death costs a second and a restart to see again: replayed once the
      // class is unmarked in known.ts (its fix merged), skipped until then.
      const files = regressionFiles(name).filter((file) => {
        const kind = /(?:^|\/)(hang|death)-[^/]*$/.exec(file)?.[1] as FindingKind | undefined;
        return !(kind && knownClass(name, kind, kind));
      });
      return files.length
        ? [{ target: name, seed, from: 0, to: files.length, seconds, files, minimise: false }]
        : [];
    }
    return [{ target: name, seed, from: 0, to: options.count, seconds, minimise: options.minimise ?? true }];
  };

  for (const name of names)
    stats.set(name, {
      target: name,
      inputs: 0,
      ok: 0,
      typed: 0,
      untyped: 0,
      hangs: 0,
      deaths: 0,
      known: 0,
      peakRssMb: 0,
      ms: 0,
    });
  // Each of `parallel` children takes every `parallel`-th target (one start-up per child, not
  // per target); a hang or death restarts it after the input that caused it.
  const lanes = Array.from({ length: Math.min(parallel, names.length) }, (_, lane) =>
    runJobs(names.filter((_, i) => i % parallel === lane).flatMap(jobsFor)),
  );
  await Promise.all(lanes);
  const all = [...findings.values()];
  return { stats: names.map((n) => stats.get(n)!), findings: all, unknown: all.filter((f) => !f.known) };
}

const summary = (s: TargetStats) =>
  `${s.target}: ${s.inputs} inputs, ${s.typed} typed errors, ${s.untyped} untyped, ${s.hangs} hangs, ${s.deaths} deaths (${s.known} known), peak RSS ${s.peakRssMb} MB, ${(s.ms / 1000).toFixed(1)} s`;

/** The per-target table of a report. */
export function formatReport(report: FuzzReport): string {
  const header = [
    'target',
    'inputs',
    'ok',
    'typed',
    'untyped',
    'hangs',
    'deaths',
    'known',
    'peak RSS',
    'inputs/s',
  ];
  const rows = report.stats.map((s) => [
    s.target,
    String(s.inputs),
    String(s.ok),
    String(s.typed),
    String(s.untyped),
    String(s.hangs),
    String(s.deaths),
    String(s.known),
    `${s.peakRssMb} MB`,
    s.ms ? String(Math.round((s.inputs * 1000) / s.ms)) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const out = [line(header), ...rows.map(line)];
  for (const f of report.findings) {
    out.push(
      `${f.known ? 'known' : 'NEW'} ${f.target} ${f.kind} ×${f.count}: ${f.signature}${f.known ? ` [${f.known}]` : ''}${f.file ? ` → ${f.file.slice(ROOT.length)}` : ''}`,
    );
  }
  return out.join('\n');
}
