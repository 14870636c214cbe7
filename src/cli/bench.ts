/**
 * `tsbpf bench FILE…`: time programs on the VM the way `bpftool prog run … repeat N` times them
 * in the kernel: N runs back to back, the time per run. After a warm-up, several batches are
 * timed and the minimum (and median) reported, since absolute times on a shared machine vary.
 *
 * Programs: `.data` vectors and assembly (run with their input memory, r1/r2 as in
 * bpf_conformance), or `FILE.o[:PROGRAM]` with `--data` (a BPF_PROG_TEST_RUN-style test run).
 */
import type { Command } from 'commander';
import { compileJit } from '../jit/runtime.js';
import type { CompiledProgram } from '../vm/interpreter.js';
import { Vm } from '../vm/vm.js';
import type { CliContext } from './io.js';
import { engineOption, noVerifyOption, parseHex, positiveInt } from './options.js';
import { load as loadPacketProgram } from './packets.js';
import { readProgram, type Syntax } from './programs.js';

export type Engine = 'jit' | 'interpreter';

export interface BenchOptions {
  readonly engine?: Engine;
  /** Packet for `FILE.o[:PROGRAM]` test runs. */
  readonly data?: Uint8Array;
  /** Input memory for raw programs (default: the file's own). */
  readonly mem?: Uint8Array;
  /** Timed batches after the warm-up (default 11). */
  readonly batches?: number;
  /**
   * Target length of one batch in milliseconds (default 20: short batches let the minimum dodge
   * preemption on a busy machine).
   */
  readonly batchMs?: number;
  readonly budget?: number;
  readonly syntax?: Syntax;
  /** Verify `FILE.o` programs before timing them (default true): the JIT uses what it proved. */
  readonly verify?: boolean;
}

/** One line of `tsbpf bench --json`. */
export interface BenchResult {
  readonly file: string;
  readonly engine: Engine;
  /** Instructions executed per run. */
  readonly insns: number;
  /** Runs per timed batch. */
  readonly runs: number;
  /** Minimum over the batches. */
  readonly ns_per_run: number;
  readonly ns_per_insn: number;
  /** Median over the batches: the noise next to the minimum. */
  readonly ns_per_run_median: number;
  /** Program slots, and (JIT) the time to compile them to a WebAssembly instance. */
  readonly slots: number;
  readonly compile_ms: number | null;
}

const now = () => performance.now();
/**
 * The process's CPU time in milliseconds: raw programs' batches are timed with it, since on a
 * shared machine wall-clock batches include the time other processes ran (the kernel's test-run
 * duration, which bench:jit sets beside ours, is hardly ever preempted).
 */
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Time one program file on one engine. */
export function bench(file: string, options: BenchOptions = {}): BenchResult {
  const engine = options.engine ?? 'jit';
  const vm = new Vm({ engine, budget: options.budget ?? 1e9, verify: options.verify });
  let runBatch: (runs: number) => number;
  let compiled: CompiledProgram;
  let insns: number;
  const isObject = /\.o(:[^/]*)?$/.test(file);
  if (isObject) {
    if (!options.data) throw new Error(`${file}: an object program needs --data (the packet)`);
    const data = options.data;
    const { program } = loadPacketProgram(vm, file, {});
    compiled = program.compiled;
    insns = vm.testRun(program, { data }).insnsExecuted;
    // The test run's own duration: per run, excluding the packet and context set-up, as the kernel's.
    runBatch = (runs) => vm.testRun(program, { data, repeat: runs }).durationNs * runs;
  } else {
    const loaded = readProgram(file, options.syntax);
    if (loaded.skipped) throw new Error(`${file}: skipped: ${loaded.skipped}`);
    const program = vm.load(loaded.insns);
    compiled = program;
    const mem = options.mem ?? loaded.mem;
    insns = vm.run(program, { mem, readMem: false }).insnsExecuted;
    // A prepared runner, the input copied in once and the runs repeated inside the JIT's code:
    // the kernel's `repeat` (the same packet each run).
    const runner = vm.prepare(program);
    runner.run(mem);
    runBatch = (runs) => {
      const start = cpuNow();
      runner.repeat(runs);
      return (cpuNow() - start) * 1e6;
    };
  }
  const compileMs = engine === 'jit' ? compileTime(compiled) : null;
  // Warm up (lets V8 tier the code up), then size batches to about batchMs each.
  const batchMs = options.batchMs ?? 20;
  let runs = 1;
  const warmUntil = now() + batchMs * 2;
  while (now() < warmUntil) {
    const ns = runBatch(runs);
    if (ns < batchMs * 1e5) runs *= 2;
  }
  runs = Math.max(1, Math.round((runs * batchMs * 1e6) / Math.max(1, runBatch(runs))));
  const perRun: number[] = [];
  for (let b = 0; b < (options.batches ?? 11); b++) perRun.push(runBatch(runs) / runs);
  perRun.sort((a, b) => a - b);
  const min = perRun[0];
  const median = perRun[Math.floor(perRun.length / 2)];
  return {
    file,
    engine,
    insns,
    runs,
    ns_per_run: round(min),
    ns_per_insn: round(min / Math.max(1, insns), 3),
    ns_per_run_median: round(median),
    slots: compiled.slots,
    compile_ms: compileMs === null ? null : round(compileMs, 3),
  };
}

/** Median time of generating and instantiating the program's module (a fresh VM memory each time). */
function compileTime(program: CompiledProgram): number {
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const vm = new Vm({ engine: 'jit' });
    const start = now();
    compileJit(program, vm.memory);
    times.push(now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Add `bench` to the CLI. */
export function registerBenchCommands(
  program: Command,
  { io }: CliContext,
  fail: (error: unknown) => never,
): void {
  program
    .command('bench')
    .description('time programs on the VM (runs back to back, like bpftool prog run … repeat N)')
    .argument('<files...>', '.data vectors, assembly, or FILE.o[:PROGRAM] with --data')
    .addOption(engineOption().default('jit'))
    .option('--data <hex>', 'packet for FILE.o[:PROGRAM] test runs')
    .option('--mem <hex>', 'input memory for raw programs')
    .option('--batches <n>', 'timed batches (min and median reported)', positiveInt, 11)
    .option('--json', 'one JSON line per file')
    .addOption(noVerifyOption())
    .action(
      (
        files: string[],
        options: {
          engine: Engine;
          data?: string;
          mem?: string;
          batches: number;
          json?: boolean;
          verify: boolean;
        },
      ) => {
        try {
          const data = options.data === undefined ? undefined : parseHex(options.data, '--data');
          const mem = options.mem === undefined ? undefined : parseHex(options.mem, '--mem');
          for (const file of files) {
            const result = bench(file, {
              engine: options.engine,
              data,
              mem,
              batches: options.batches,
              verify: options.verify,
            });
            if (options.json) io.stdout.write(`${JSON.stringify(result)}\n`);
            else
              io.stdout.write(
                `${file} [${result.engine}]: ${result.ns_per_insn} ns/insn, ${result.ns_per_run} ns/run (median ${result.ns_per_run_median}), ${result.insns} insns/run${result.compile_ms === null ? '' : `, compile ${result.compile_ms} ms`}\n`,
              );
          }
        } catch (error) {
          fail(error);
        }
      },
    );
}
