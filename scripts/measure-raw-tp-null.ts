/**
 * Measures which tracepoint arguments the running kernel reads as nullable or as an ERR_PTR
 * scalar in `tp_btf` programs (its `raw_tp_null_args` list), for src/verifier/raw-tp-null.ts:
 * every struct-pointer argument of every `btf_trace_*` in /sys/kernel/btf/vmlinux is dereferenced
 * without a NULL check, and the refusal says which (`trusted_ptr_or_null_`: 0x1, `scalar`: 0x2,
 * in the argument's nibble). With `--check`, reports where our verifier's verdict differs instead.
 *
 *   sudo npx tsx scripts/measure-raw-tp-null.ts [--check]
 */
import { assemble } from '../src/isa/llvm-parse.js';
import { vmlinuxBtf } from '../src/kernel/load/object.js';
import { loadProgram } from '../src/kernel/load/program.js';
import { errorLineOf } from '../src/kernel/load/verifier-oracle.js';
import { VerifierError } from '../src/kernel/sys/errors.js';
import { verify } from '../src/verifier/index.js';

const check = process.argv.includes('--check');
const btf = vmlinuxBtf();
const rows: string[] = [];
let probed = 0;
let differ = 0;
for (const t of btf.types) {
  if (t.kind !== 'typedef' || !t.name.startsWith('btf_trace_')) continue;
  const name = t.name.slice('btf_trace_'.length);
  let proto = btf.resolve(t.typeId);
  if (proto.kind === 'ptr') proto = btf.resolve(proto.typeId);
  if (proto.kind !== 'func_proto') continue;
  let mask = 0;
  for (const [i, param] of proto.params.slice(1).entries()) {
    const p = btf.resolve(param.typeId);
    if (p.kind !== 'ptr') continue;
    const pointee = btf.resolve(p.typeId);
    if (pointee.kind !== 'struct' && pointee.kind !== 'union') continue;
    const insns = assemble(`r1 = *(u64 *)(r1 + ${8 * i})\nr0 = *(u8 *)(r1 + 0)\nr0 = 0\nexit`);
    probed++;
    let kernel = 'ok';
    try {
      loadProgram({
        type: 'TRACING',
        expectedAttachType: 'TRACE_RAW_TP',
        attachBtfId: t.id,
        insns,
        license: 'GPL',
        logLevel: 1,
      }).close();
    } catch (error) {
      kernel = error instanceof VerifierError ? errorLineOf(error.log) : String(error);
    }
    if (kernel === "R1 invalid mem access 'trusted_ptr_or_null_'") mask += 16 ** i;
    if (kernel === "R1 invalid mem access 'scalar'") mask += 2 * 16 ** i;
    if (check) {
      const r = verify({
        insns,
        progType: 'TRACING',
        expectedAttachType: 'TRACE_RAW_TP',
        attachTarget: name,
        kernelBtf: btf,
      });
      const ours = r.accepted ? 'ok' : (r.error?.message ?? '');
      if (ours !== kernel) {
        differ++;
        process.stdout.write(`${name} arg${i}: ours ${ours} | kernel ${kernel}\n`);
      }
    }
  }
  if (mask) rows.push(`  ${name}: 0x${mask.toString(16)},`);
}
if (check) process.stdout.write(`${probed} arguments, ${differ} verdicts differ\n`);
else process.stdout.write(`${rows.join('\n')}\n`);
