/**
 * Record the kernel's verdicts for the verifier's unit cases (testdata/verifier/unit/*.jsonl):
 * each line's `asm` (LLVM syntax), `type`, `maps` and `flags` are loaded into the running kernel
 * (root) and its answer is written back as `kernel: {accepted, error, insn, insns_processed}`.
 * The unit tests then compare `verify()` against these recorded answers without needing root.
 *
 *   node --import tsx scripts/record-verifier-cases.ts testdata/verifier/unit/basic.jsonl
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { assemble } from '../src/isa/index.js';
import { kernelVerdict } from '../src/kernel/load/verifier-oracle.js';
import { bpfUnavailable } from '../src/kernel/sys/availability.js';

const why = bpfUnavailable();
if (why) {
  console.error(`cannot record: ${why}`);
  process.exit(2);
}
for (const file of process.argv.slice(2)) {
  const out: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    const v = kernelVerdict({ insns: assemble(c.asm), progType: c.type, maps: c.maps, progFlags: c.flags });
    c.kernel = {
      accepted: v.accepted,
      ...(v.error !== undefined ? { error: v.error } : {}),
      ...(v.insn !== undefined ? { insn: v.insn } : {}),
      ...(v.insnsProcessed !== undefined ? { insns_processed: v.insnsProcessed } : {}),
      ...(v.errno ? { errno: v.errno } : {}),
    };
    out.push(JSON.stringify(c));
  }
  writeFileSync(file, `${out.join('\n')}\n`);
  console.log(`${file}: ${out.length} cases recorded`);
}
