/**
 * `npm run bench:jit`: every program of ../shared/bench on the interpreter, the JIT and (for the
 * `*_kernel` variants and pkt_parse, when bpf() works) the kernel's JIT through our kernel backend
 * (`BPF_PROG_TEST_RUN` with repeat). Prints ns per instruction (min and median of 11 batches:
 * absolute times on a shared machine vary), the JIT / kernel ratio with its target, and the JIT's
 * compile time per 1,000 instructions (bench/jit-compile.ts, run as bundled JavaScript).
 *
 * The kernel runs each program as XDP behind a 8-instruction prolog (r1 = packet, r2 = its length
 * as a constant, after a bounds check), as bpf_conformance's libbpf plugin does.
 * `BENCH_JSON=1` prints one JSON line per row instead of a table.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { bench } from '../src/cli/bench.js';
import { parseDataFile } from '../src/isa/data-file.js';
import { encode, type Insn, makeInsn } from '../src/isa/instruction.js';
import { loadProgram } from '../src/kernel/load/program.js';
import { bpfUnavailable } from '../src/kernel/sys/availability.js';
import { Vm } from '../src/vm/vm.js';

const dir = fileURLToPath(new URL('../../shared/bench/', import.meta.url));
if (!existsSync(dir)) {
  console.log(`skipped: ${dir} not found (the shared benchmark programs are absent)`);
  process.exit(0);
}
const batches = Number(process.env.BENCH_BATCHES ?? 11);
const json = process.env.BENCH_JSON === '1';
const noKernel = bpfUnavailable();

/** Targets of issue 9: JIT / kernel per run. */
const TARGETS: Record<string, number> = {
  arith_loop_kernel: 1.2,
  fnv1a_mem_kernel: 1.2,
  collatz_branchy_kernel: 1.2,
  pkt_parse: 2,
};

const raw = (opcode: number, dst: number, src: number, off: number, imm: number, slot: number): Insn =>
  makeInsn({ opcode, dst, src, off, imm }, slot);

/** XDP prolog: r1 = data, r2 = `length` (a constant the verifier knows) once data + length ≤ data_end. */
function xdpProlog(length: number): Insn[] {
  return [
    raw(0x61, 2, 1, 4, 0, 0), // r2 = ctx->data_end
    raw(0x61, 1, 1, 0, 0, 1), // r1 = ctx->data
    raw(0xbf, 3, 1, 0, 0, 2), // r3 = r1
    raw(0x07, 3, 0, 0, length, 3), // r3 += length
    raw(0xbd, 3, 2, 2, 0, 4), // if r3 <= r2 goto +2
    raw(0xb7, 0, 0, 0, 0, 5), // r0 = 0
    raw(0x95, 0, 0, 0, 0, 6), // exit
    raw(0xb7, 2, 0, 0, length, 7), // r2 = length
  ];
}

interface Timing {
  min: number;
  median: number;
}

function kernelNsPerRun(program: Uint8Array, input: Uint8Array | undefined): Timing | string {
  const bytes = new Uint8Array([...encode(xdpProlog(input?.length ?? 0)), ...program]);
  // XDP test runs need at least an Ethernet header of packet, even for programs without input.
  const mem = input ?? new Uint8Array(64);
  let loaded: ReturnType<typeof loadProgram>;
  try {
    loaded = loadProgram({ type: 'XDP', insns: bytes, license: 'GPL', name: 'bench' });
  } catch (error) {
    return `kernel load failed: ${(error as Error).message.split('\n')[0]}`;
  }
  try {
    let repeat = 1;
    // Size the repeat so one test run takes about 20 ms, as the VM's batches.
    for (;;) {
      const ns = loaded.testRun({ data: mem, repeat }).durationNs * repeat;
      if (ns > 1e7 || repeat >= 1 << 24) break;
      repeat = Math.min(1 << 24, repeat * Math.max(2, Math.ceil(2e7 / Math.max(ns, 1))));
    }
    const runs: number[] = [];
    for (let b = 0; b < batches; b++) runs.push(loaded.testRun({ data: mem, repeat }).durationNs);
    runs.sort((a, b) => a - b);
    return { min: runs[0], median: runs[Math.floor(runs.length / 2)] };
  } finally {
    loaded.close();
  }
}

interface Times {
  first: number;
  min: number;
  median: number;
}
interface CompileTime {
  slots: number;
  bytes: number;
  compile: Times;
  generate: Times;
  module: Times;
  firstRun: Times;
}

/**
 * bench/jit-compile.ts as the JavaScript we ship runs it (tsx's transform slows the compiler about
 * twice): bundled by esbuild, in a fresh node process. A string says why it could not run.
 */
function measureCompileTime(): CompileTime | string {
  const out = mkdtempSync(join(tmpdir(), 'tsbpf-jit-compile-'));
  try {
    buildSync({
      entryPoints: [fileURLToPath(new URL('jit-compile.ts', import.meta.url))],
      outfile: join(out, 'jit-compile.mjs'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    const child = spawnSync(process.execPath, [join(out, 'jit-compile.mjs'), dir], { encoding: 'utf8' });
    if (child.status !== 0) return `failed: ${child.stderr.trim().split('\n')[0]}`;
    return JSON.parse(child.stdout) as CompileTime;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const fmt = (n: number | undefined, digits = 3) => (n === undefined ? '-' : n.toFixed(digits));
const rows: Array<Record<string, string | number>> = [];
let kernelPkt: Timing | string | undefined;
for (const name of readdirSync(dir)
  .filter((f) => f.endsWith('.data'))
  .sort()) {
  const parsed = parseDataFile(readFileSync(dir + name, 'utf8'), name);
  if (parsed.kind !== 'test') continue;
  const program = name.replace(/\.data$/, '');
  const file = dir + name;
  const interp = bench(file, { engine: 'interpreter', batches: Math.min(batches, 5) });
  const jit = bench(file, { engine: 'jit', batches });
  let kernel: Timing | string | undefined;
  if (program in TARGETS)
    kernel = noKernel ? `no bpf(): ${noKernel}` : kernelNsPerRun(parsed.program, parsed.mem);
  if (program === 'pkt_parse') kernelPkt = kernel;
  const k = typeof kernel === 'object' ? kernel : undefined;
  const ratio = k ? jit.ns_per_run / k.min : undefined;
  const row: Record<string, string | number> = {
    program,
    'insns/run': jit.insns,
    'interp ns/insn': `${fmt(interp.ns_per_insn, 2)} (med ${fmt(interp.ns_per_run_median / interp.insns, 2)})`,
    'jit ns/insn': `${fmt(jit.ns_per_insn)} (med ${fmt(jit.ns_per_run_median / jit.insns)})`,
    'jit ns/run': jit.ns_per_run,
    'kernel ns/insn': k
      ? `${fmt(k.min / jit.insns)} (med ${fmt(k.median / jit.insns)})`
      : typeof kernel === 'string'
        ? kernel
        : '-',
    'kernel ns/run': k ? k.min : '-',
    'jit/kernel': ratio === undefined ? '-' : `${ratio.toFixed(2)}x (target ≤ ${TARGETS[program]}x)`,
    'compile ms': jit.compile_ms ?? '-',
  };
  rows.push(row);
  if (json) console.log(JSON.stringify(row));
}

// pkt_parse as the kernel runs it: behind the XDP prolog, verified (its loads proven in bounds),
// timed by test runs with `repeat` (vm.testRun: one set-up, the runs repeated inside the JIT's code).
const pktParse = parseDataFile(readFileSync(`${dir}pkt_parse.data`, 'utf8'), 'pkt_parse.data');
if (pktParse.kind === 'test' && pktParse.mem) {
  const data = pktParse.mem;
  const vm = new Vm({ engine: 'jit', budget: 1e9 });
  const program = vm.loadProgram({
    type: 'XDP',
    insns: new Uint8Array([...encode(xdpProlog(data.length)), ...pktParse.program]),
    name: 'pkt_parse',
  });
  const insns = vm.testRun(program, { data }).insnsExecuted;
  const timed = (repeat: number) => vm.testRun(program, { data, repeat }).durationNs;
  let repeat = 1;
  while (timed(repeat) * repeat < 2e7 && repeat < 1 << 24) repeat *= 2;
  const runs = Array.from({ length: batches }, () => timed(repeat)).sort((a, b) => a - b);
  const k = typeof kernelPkt === 'object' ? kernelPkt : undefined;
  const row: Record<string, string | number> = {
    program: `pkt_parse (XDP, ${program.verified ? 'verified' : 'unverified'})`,
    'insns/run': insns,
    'interp ns/insn': '-',
    'jit ns/insn': `${fmt(runs[0]! / insns)} (med ${fmt(runs[Math.floor(runs.length / 2)]! / insns)})`,
    'jit ns/run': runs[0]!,
    'kernel ns/insn': k ? `${fmt(k.min / insns)} (med ${fmt(k.median / insns)})` : '-',
    'kernel ns/run': k ? k.min : '-',
    'jit/kernel': k ? `${(runs[0]! / k.min).toFixed(2)}x (target ≤ 2x)` : '-',
    'compile ms': '-',
  };
  rows.push(row);
  if (json) console.log(JSON.stringify(row));
}

// Compile time on a large program (bench/jit-compile.ts), bundled and run in a child process.
const compileTime = measureCompileTime();
if (json) console.log(JSON.stringify(compileTime));
else {
  console.table(rows);
  if (typeof compileTime === 'string') console.log(`compile time: ${compileTime}`);
  else {
    const perK = (ms: number) => ((ms / compileTime.slots) * 1000).toFixed(3);
    const { compile, generate, module, firstRun } = compileTime;
    console.log(
      `compile time (${compileTime.slots} instructions, ${compileTime.bytes} bytes of WebAssembly; CPU ms per 1,000 instructions, median (min) of 14 after the first; target ≤ 1 ms):\n` +
        `  our compile (code generation, module bytes, new WebAssembly.Module, instance): ${perK(compile.median)} (${perK(compile.min)}), first ${perK(compile.first)}\n` +
        `    of which code generation ${perK(generate.median)} (${perK(generate.min)}), new WebAssembly.Module (V8 decodes and validates; it compiles lazily) ${perK(module.median)} (${perK(module.min)})\n` +
        `  V8's lazy compile of the code a run calls, at the first run (not in the above): ${perK(firstRun.median)} (${perK(firstRun.min)}), first ${perK(firstRun.first)}`,
    );
  }
}
if (noKernel && !json) console.log(`kernel column skipped: ${noKernel}`);
