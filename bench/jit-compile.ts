/**
 * The JIT's compile time on a large program: pkt_parse repeated 100 times (each copy's exits
 * jumping on to the next), unverified, so every packet load is a checked access. `bench/jit.ts`
 * runs this file bundled by esbuild in a child process of its own: under tsx the compiler runs
 * about twice as slow as the JavaScript we ship, and a fresh process gives the cold (first)
 * compile too. Prints one JSON line.
 *
 * Each compile is of a different program (a first `r0 = n` differs), since V8 reuses the module
 * compiled from bytes it has seen. Timed in milliseconds of the process's CPU time (all its
 * threads: on a machine shared with other work, wall-clock times here vary several times over):
 * - `compile`: `compileJit` (through `jitFor`, which keeps the instance for the runs), our compile: CFG, code generation, the module's bytes,
 *   `new WebAssembly.Module` and the instance. V8 compiles WebAssembly lazily (each function on its
 *   first call), so the module step is V8's decoding and validation only;
 * - `generate` and `module`: the code generation and `new WebAssembly.Module` alone;
 * - `firstRun`: V8's compile of the functions a run calls (the fast copy of the main function),
 *   the first run's time less the second's.
 *
 * Usage: `node jit-compile.mjs DIR` with DIR the shared benchmark programs.
 */
import { readFileSync } from 'node:fs';
import { parseDataFile } from '../src/isa/data-file.js';
import { decode, type Insn, makeInsn } from '../src/isa/instruction.js';
import { generate } from '../src/jit/codegen.js';
import { jitFor } from '../src/jit/runtime.js';
import type { CompiledProgram } from '../src/vm/interpreter.js';
import { Vm } from '../src/vm/vm.js';

const dir = process.argv[2];
const pkt = parseDataFile(readFileSync(`${dir}/pkt_parse.data`, 'utf8'), 'pkt_parse.data');
if (pkt.kind !== 'test') throw new Error('pkt_parse.data: not a test vector');
const body = decode(pkt.program);
const width = body.reduce((n, insn) => n + (insn.kind === 'lddw' ? 2 : 1), 0);
const copies = 100;

/** The large program, its first instruction `r0 = salt` (pkt_parse sets r0 before it reads it). */
function program(vm: Vm, salt: number): CompiledProgram {
  const big: Insn[] = [makeInsn({ opcode: 0xb7, dst: 0, src: 0, off: 0, imm: salt }, 0)];
  for (let c = 0; c < copies; c++) {
    for (const insn of body) {
      const slot = 1 + c * width + insn.slot;
      if (insn.kind === 'exit' && c < copies - 1)
        big.push(makeInsn({ opcode: 0x05, dst: 0, src: 0, off: (c + 1) * width - slot, imm: 0 }, slot));
      else big.push({ ...insn, slot } as Insn);
    }
  }
  return vm.load(big);
}

/** CPU time of the process so far, in milliseconds. */
function now(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const iterations = 15;
const compile: number[] = [];
const gen: number[] = [];
const mod: number[] = [];
const firstRun: number[] = [];
let bytes = 0;
// Every program and VM built before the timing starts (their garbage is not the compiler's).
const vms = Array.from({ length: iterations }, () => new Vm({ engine: 'jit' }));
const programs = vms.map((vm, i) => [program(vm, 2 * i), program(vm, 2 * i + 1)]);
const slots = programs[0][0].slots;
for (let i = 0; i < iterations; i++) {
  const vm = vms[i];
  const [p, q] = programs[i];
  let start = now();
  jitFor(p, vm.memory);
  compile.push(now() - start);
  // V8's lazy compile: the first run less the second (both of the same instance).
  start = now();
  const r0 = vm.run(p, { mem: pkt.mem }).r0;
  const first = now() - start;
  start = now();
  vm.run(p, { mem: pkt.mem });
  firstRun.push(first - (now() - start));
  if (r0 !== pkt.result) throw new Error(`the large program returned ${r0}, expected ${pkt.result}`);
  // Generation and V8's module step alone, on another program.
  start = now();
  const generated = generate(q, {});
  gen.push(now() - start);
  bytes = generated.bytes.length;
  start = now();
  new WebAssembly.Module(generated.bytes as Uint8Array<ArrayBuffer>);
  mod.push(now() - start);
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
/** The cold (first) compile, and the minimum and median of the others. */
function stats(times: number[]) {
  const warm = times.slice(1).sort((a, b) => a - b);
  return { first: round(times[0]), min: round(warm[0]), median: round(warm[warm.length >> 1]) };
}
console.log(
  JSON.stringify({
    slots,
    bytes,
    compile: stats(compile),
    generate: stats(gen),
    module: stats(mod),
    firstRun: stats(firstRun),
  }),
);
