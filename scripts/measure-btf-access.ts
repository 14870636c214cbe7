/**
 * Puts our reads through a BTF-typed pointer beside the running kernel's, offset by offset: a
 * `tp_btf` program takes argument ARG of tracepoint TP (a pointer to a kernel struct), reads 1, 2,
 * 4 and 8 bytes at every STEP-th offset of the struct (and a little past it), and dereferences
 * what it read, so the verdict shows the walk (scalar, pointer and its trust, the refusals).
 *
 *   sudo npx tsx scripts/measure-btf-access.ts TP ARG [STEP]     e.g. net_dev_xmit 2 1
 */
import { assemble } from '../src/isa/llvm-parse.js';
import { vmlinuxBtf } from '../src/kernel/load/object.js';
import { loadProgram } from '../src/kernel/load/program.js';
import { errorLineOf } from '../src/kernel/load/verifier-oracle.js';
import { VerifierError } from '../src/kernel/sys/errors.js';
import { btfCtxOf } from '../src/verifier/btf-ctx.js';
import { verify } from '../src/verifier/index.js';

const [tp, argText, stepText] = process.argv.slice(2);
if (!tp || argText === undefined) {
  process.stderr.write('usage: tsx scripts/measure-btf-access.ts TP ARG [STEP]\n');
  process.exit(2);
}
const arg = Number(argText);
const step = Number(stepText ?? 4);
const btf = vmlinuxBtf();
const slot = btfCtxOf(btf, 'TRACE_RAW_TP', tp)?.args[arg];
if (slot?.btfId === undefined) throw new Error(`tracepoint ${tp} has no struct pointer argument ${arg}`);
const struct = btf.typeById(slot.btfId);
if (struct.kind !== 'struct' && struct.kind !== 'union') throw new Error(`argument ${arg} is not a struct`);
const attachBtfId = btf.typesByName(`btf_trace_${tp}`)[0]!.id;
const width: Readonly<Record<number, string>> = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' };
let reads = 0;
let differ = 0;
for (let off = 0; off < struct.size + 16; off += step) {
  for (const size of [1, 2, 4, 8]) {
    const insns = assemble(
      `r6 = *(u64 *)(r1 + ${8 * arg})\nr1 = *(${width[size]} *)(r6 + ${off})\nr2 = *(u8 *)(r1 + 0)\nr0 = 0\nexit`,
    );
    reads++;
    let kernel = 'ok';
    try {
      loadProgram({
        type: 'TRACING',
        expectedAttachType: 'TRACE_RAW_TP',
        attachBtfId,
        insns,
        license: 'GPL',
      }).close();
    } catch (error) {
      kernel = error instanceof VerifierError ? errorLineOf(error.log) : String(error);
    }
    const r = verify({
      insns,
      progType: 'TRACING',
      expectedAttachType: 'TRACE_RAW_TP',
      attachTarget: tp,
      kernelBtf: btf,
    });
    const ours = r.accepted ? 'ok' : (r.error?.message ?? '');
    if (ours !== kernel) {
      differ++;
      process.stdout.write(`off ${off} size ${size}: ours ${ours} | kernel ${kernel}\n`);
    }
  }
}
process.stdout.write(`struct ${struct.name}: ${reads} reads, ${differ} verdicts differ\n`);
