/**
 * The interpreter: runs each benchmark program (`.data` files, bpf_conformance format) and
 * reports the time per run, the time per executed instruction, and the ratio to the target of
 * 12 ns per instruction (3× uBPF's C interpreter, which measures 3.9–4.5 ns/insn on these
 * programs on a 2-core x86-64 machine). Each program is warmed up, then timed over repeated runs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDataFile } from '../src/isa/data-file.js';
import { Vm } from '../src/vm/vm.js';
import { type Bench, BenchSetupError } from './bench.js';

const TARGET_NS_PER_INSN = 12;

export const bench: Bench = {
  description: `interpreter ns per executed instruction (target ${TARGET_NS_PER_INSN})`,
  async run({ suite, seconds }) {
    if (!existsSync(suite))
      throw new BenchSetupError(
        `benchmark programs not found at ${suite}. Pass a folder of bpf_conformance-format .data ` +
          'files (e.g. the tests/ folder of https://github.com/Alan-Jowett/bpf_conformance): ' +
          'npm run bench -- DIR',
      );
    const rows: Array<Record<string, string | number>> = [];
    let worst = 0;
    for (const name of readdirSync(suite)
      .filter((f) => f.endsWith('.data'))
      .sort()) {
      const parsed = parseDataFile(readFileSync(join(suite, name), 'utf8'), name);
      if (parsed.kind !== 'test') continue;
      const vm = new Vm({ budget: 1e9 });
      const program = vm.load(parsed.program);
      const first = vm.run(program, { mem: parsed.mem, readMem: false });
      if (first.r0 !== parsed.result) throw new Error(`${name}: wrong result 0x${first.r0.toString(16)}`);
      // Warm up until the JIT has settled, then time whole runs.
      const warm = performance.now();
      while (performance.now() - warm < 200 * seconds) vm.run(program, { mem: parsed.mem, readMem: false });
      let runs = 0;
      const start = performance.now();
      let elapsed = 0;
      do {
        vm.run(program, { mem: parsed.mem, readMem: false });
        runs++;
        elapsed = performance.now() - start;
      } while (elapsed < 1000 * seconds);
      const nsPerRun = (elapsed * 1e6) / runs;
      const nsPerInsn = nsPerRun / first.insnsExecuted;
      worst = Math.max(worst, nsPerInsn / TARGET_NS_PER_INSN);
      rows.push({
        program: name.replace(/\.data$/, ''),
        'insns/run': first.insnsExecuted,
        runs,
        'ns/run': Math.round(nsPerRun),
        'ns/insn': Number(nsPerInsn.toFixed(2)),
        'vs target': `${(nsPerInsn / TARGET_NS_PER_INSN).toFixed(2)}x`,
      });
    }
    if (rows.length === 0) throw new BenchSetupError(`no runnable .data programs in ${suite}`);
    return {
      rows,
      met: worst <= 1,
      summary: `target ${TARGET_NS_PER_INSN} ns/insn; worst ratio ${worst.toFixed(2)}x (<= 1.00 meets it)`,
    };
  },
};
