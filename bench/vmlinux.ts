/**
 * The kernel's BTF (/sys/kernel/btf/vmlinux, ~6 MB): parsing it and dumping it as C (vmlinux.h),
 * which `tsbpf build` does once per kernel. Targets: parse 1.5 s, C dump 2 s.
 */
import { readFileSync } from 'node:fs';
import { parseBtf } from '../src/object/btf.js';
import { dumpBtfC } from '../src/object/btf-c.js';
import type { Bench } from './bench.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const TARGETS = { parse: 1500, dump: 2000 };

function readable(): boolean {
  try {
    readFileSync(VMLINUX, { flag: 'r' }).subarray(0, 1);
    return true;
  } catch {
    return false;
  }
}

/** The median of `runs` timings of `fn`, in ms. */
function time(runs: number, fn: () => unknown): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    ms.push(performance.now() - start);
  }
  return ms.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

export const bench: Bench = {
  description: `parse and C-dump ${VMLINUX} (targets: parse ${TARGETS.parse} ms, dump ${TARGETS.dump} ms)`,
  unavailable: () => (readable() ? undefined : `${VMLINUX} is not readable`),
  async run({ seconds }) {
    const bytes = new Uint8Array(readFileSync(VMLINUX));
    const runs = Math.max(3, Math.round(3 * seconds));
    const btf = parseBtf(bytes);
    const parse = time(runs, () => parseBtf(bytes));
    const dump = time(runs, () => dumpBtfC(btf));
    const rows = [
      {
        step: 'parseBtf',
        ms: Math.round(parse),
        target: TARGETS.parse,
        ratio: `${(parse / TARGETS.parse).toFixed(2)}x`,
      },
      {
        step: 'dumpBtfC',
        ms: Math.round(dump),
        target: TARGETS.dump,
        ratio: `${(dump / TARGETS.dump).toFixed(2)}x`,
      },
    ];
    const worst = Math.max(parse / TARGETS.parse, dump / TARGETS.dump);
    return {
      rows,
      met: worst <= 1,
      summary: `${btf.types.length} types, ${bytes.length} bytes; worst ratio to target ${worst.toFixed(2)}x`,
    };
  },
};
