/**
 * Records real kernel level-2 verifier logs for the playground's log parser tests
 * (web/src/log-parse.test.ts): `sudo npx tsx scripts/record-web-logs.ts` writes
 * testdata/web/verifier-logs/*.txt (kernel version on the first line of each, as a `#` comment).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { assemble, loadObjectSpec, verifierInputOf } from '../src/index.js';
import { loadObject, VerifierError } from '../src/kernel/index.js';
import { kernelVerdict } from '../src/kernel/load/verifier-oracle.js';

const out = new URL('../testdata/web/verifier-logs/', import.meta.url);

function save(name: string, log: string, what: string): void {
  writeFileSync(new URL(`${name}.txt`, out), `# ${what}; Linux ${release()}, log_level 2\n${log}`);
  console.log(`${name}.txt: ${log.split('\n').length} lines`);
}

for (const [example, program] of [
  ['xdp_count', undefined],
  ['loop', undefined],
  ['subprog', undefined],
] as const) {
  const spec = loadObjectSpec(
    new Uint8Array(readFileSync(new URL(`../examples/${example}.bpf.o`, import.meta.url))),
  );
  const prog = spec.programs.find((p) => p.name === program) ?? spec.programs[0];
  const input = verifierInputOf(spec, prog, { logLevel: 2 });
  if (!input) throw new Error(`${example}: no verifier input`);
  const verdict = kernelVerdict({ ...input, logLevel: 2, license: spec.license || 'GPL' });
  save(
    `${example}`,
    verdict.log,
    `examples/${example}.bpf.o program ${prog.name}: ${verdict.accepted ? 'accepted' : `rejected: ${verdict.error}`}`,
  );
}

// xdp_count without its first bounds check: the object's bytes with insn 5 (`if r1 > r6 goto
// pc+21`, the `eth + 1 > data_end` test) turned into `r1 = r1`, loaded with its BTF so the log
// carries the C source lines.
{
  const bytes = new Uint8Array(readFileSync(new URL('../examples/xdp_count.bpf.o', import.meta.url)));
  const check = Buffer.from([0x2d, 0x61, 0x15, 0, 0, 0, 0, 0]);
  const at = Buffer.from(bytes).indexOf(check);
  if (at < 0 || Buffer.from(bytes).indexOf(check, at + 1) >= 0)
    throw new Error('xdp_count: bounds check not found once');
  bytes.set([0xbf, 0x11, 0, 0, 0, 0, 0, 0], at);
  const object = loadObject(bytes, { name: 'xdp_count', logLevel: 2 });
  try {
    for (const [name, p] of object.programs) {
      if (!(p.error instanceof VerifierError))
        throw new Error(`${name}: expected a rejection, got ${p.error ?? 'accepted'}`);
      save(
        'xdp_count_unchecked',
        p.error.log,
        `examples/xdp_count.bpf.o with its first bounds check removed: rejected: ${p.error.summary}`,
      );
    }
  } finally {
    object.close();
  }
}

// A small program with a branch on an unknown scalar and a stack spill, assembled here.
{
  const insns = assemble(`
	r2 = *(u32 *)(r1 + 0)
	*(u64 *)(r10 - 8) = r2
	r0 = 0
	if r2 > 10 goto L1
	r0 = *(u64 *)(r10 - 8)
	r0 += 1
L1:
	exit
`);
  const verdict = kernelVerdict({ insns, progType: 'SOCKET_FILTER', logLevel: 2 });
  save(
    'branch_spill',
    verdict.log,
    `assembled socket filter: ${verdict.accepted ? 'accepted' : `rejected: ${verdict.error}`}`,
  );
}
// Uninitialised register read: rejected early.
{
  const insns = assemble(`
	if r1 == 0 goto L1
	r0 = r3
	exit
L1:
	r0 = 0
	exit
`);
  const verdict = kernelVerdict({ insns, progType: 'SOCKET_FILTER', logLevel: 2 });
  save(
    'uninit',
    verdict.log,
    `assembled socket filter: ${verdict.accepted ? 'accepted' : `rejected: ${verdict.error}`}`,
  );
}
