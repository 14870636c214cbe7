/**
 * tsbpf against real eBPF objects nobody here wrote: every program of every `.o` under a folder,
 * verified by our verifier (CO-RE applied against /sys/kernel/btf/vmlinux, the section's expected
 * attach type) and loaded into the running kernel (the oracle, root), verdicts side by side.
 *
 *   sudo npx tsx scripts/realworld.ts DIR [--json] [--show N]
 *
 * Prints one row per program (ours, the kernel's, agreement, our first error or the kernel's),
 * then the agreement: verdicts, first errors where both reject, `insns_processed` where both
 * accept, and the misses grouped by class. Inputs are never committed: see README ("Real-world
 * check") for how to get them (Debian's libbpf-tools / xdp-tools / libxdp, bcc's sources).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { loadObject, vmlinuxBtf } from '../src/kernel/load/object.js';
import { errorLineOf } from '../src/kernel/load/verifier-oracle.js';
import { VerifierError } from '../src/kernel/sys/errors.js';
import { loadObjectSpec, type ObjectSpec } from '../src/object/object.js';
import { verify } from '../src/verifier/index.js';
import { programType, verifierInputOf } from '../src/verifier/object.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { json: { type: 'boolean', default: false }, show: { type: 'string', default: '1000' } },
});
const dir = positionals[0];
if (!dir) {
  process.stderr.write('usage: tsx scripts/realworld.ts DIR [--json]\n');
  process.exit(2);
}

/** One side's answer for one program. */
interface Verdict {
  readonly accepted: boolean;
  /** The first error line (kernel words), or why it never reached a verifier. */
  readonly error?: string;
  readonly insnsProcessed?: number;
  /** True when the program was refused before verification (relocation, object, syscall). */
  readonly beforeVerifier?: boolean;
}

interface Row {
  readonly file: string;
  readonly program: string;
  readonly type: string;
  readonly ours: Verdict;
  readonly kernel: Verdict;
}

function objectFiles(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root).sort()) {
    const path = join(root, entry);
    if (statSync(path).isDirectory()) out.push(...objectFiles(path));
    else if (entry.endsWith('.o')) out.push(path);
  }
  return out;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function kernelVerdicts(bytes: Uint8Array, file: string, spec: ObjectSpec): Map<string, Verdict> {
  const out = new Map<string, Verdict>();
  let object: ReturnType<typeof loadObject>;
  try {
    object = loadObject(bytes, { name: basename(file).split('.')[0] || 'obj' });
  } catch (error) {
    // The whole object failed (a map the kernel refused): every program shares the reason.
    for (const p of spec.programs)
      out.set(p.name, { accepted: false, error: message(error), beforeVerifier: true });
    return out;
  }
  try {
    for (const [name, p] of object.programs) {
      const verifier = p.error instanceof VerifierError;
      out.set(name, {
        accepted: p.program !== undefined,
        ...(p.error
          ? { error: verifier ? errorLineOf((p.error as VerifierError).log) : p.error.message }
          : {}),
        ...(p.insnsProcessed === undefined ? {} : { insnsProcessed: p.insnsProcessed }),
        ...(p.error && !verifier ? { beforeVerifier: true } : {}),
      });
    }
  } finally {
    object.close();
  }
  return out;
}

function ourVerdict(spec: ObjectSpec, program: ObjectSpec['programs'][number]): Verdict {
  try {
    const input = verifierInputOf(spec, program, { kernelBtf: vmlinuxBtf() });
    if (!input)
      return { accepted: false, error: program.sectionError ?? 'unknown section', beforeVerifier: true };
    const result = verify(input);
    return {
      accepted: result.accepted,
      ...(result.error ? { error: result.error.message } : {}),
      insnsProcessed: result.insnsProcessed,
    };
  } catch (error) {
    return { accepted: false, error: message(error), beforeVerifier: true };
  }
}

const rows: Row[] = [];
const fileErrors: Array<{ file: string; error: string }> = [];
for (const path of objectFiles(dir)) {
  const file = relative(dir, path);
  const bytes = new Uint8Array(readFileSync(path));
  let spec: ObjectSpec;
  try {
    spec = loadObjectSpec(bytes);
  } catch (error) {
    fileErrors.push({ file, error: message(error) });
    continue;
  }
  const kernel = kernelVerdicts(bytes, file, spec);
  for (const program of spec.programs) {
    rows.push({
      file,
      program: program.name,
      type: programType(program) ?? '?',
      ours: ourVerdict(spec, program),
      kernel: kernel.get(program.name) ?? { accepted: false, error: 'not loaded', beforeVerifier: true },
    });
  }
}

/** Numbers in kernel messages (ids, offsets, register numbers) differ for harmless reasons. */
const shape = (text: string | undefined): string => (text ?? '').replace(/\d+/g, 'N');

/** The class of a miss: which side refused, and the error's shape with numbers masked. */
function missClass(row: Row): string {
  if (row.ours.accepted) return `we accept, kernel: ${shape(row.kernel.error).slice(0, 70)}`;
  return `we reject: ${shape(row.ours.error).slice(0, 70)}`;
}

const agree = rows.filter((r) => r.ours.accepted === r.kernel.accepted);
const bothReject = rows.filter((r) => !r.ours.accepted && !r.kernel.accepted);
const sameError = bothReject.filter((r) => shape(r.ours.error) === shape(r.kernel.error));
const bothAccept = rows.filter((r) => r.ours.accepted && r.kernel.accepted);
const sameInsns = bothAccept.filter((r) => r.ours.insnsProcessed === r.kernel.insnsProcessed);
const pct = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);
const classes = new Map<string, number>();
for (const r of rows)
  if (r.ours.accepted !== r.kernel.accepted) classes.set(missClass(r), (classes.get(missClass(r)) ?? 0) + 1);

if (values.json) {
  for (const r of rows)
    process.stdout.write(`${JSON.stringify({ ...r, agree: r.ours.accepted === r.kernel.accepted })}\n`);
} else {
  const verdict = (v: Verdict): string => (v.accepted ? `ok ${v.insnsProcessed ?? '?'}` : 'REJECT');
  const show = Number(values.show);
  let shown = 0;
  for (const r of rows) {
    const same = r.ours.accepted === r.kernel.accepted;
    if (shown++ >= show) break;
    const why = same
      ? r.kernel.accepted
        ? ''
        : (r.kernel.error ?? '')
      : `ours: ${r.ours.error ?? '-'} | kernel: ${r.kernel.error ?? '-'}`;
    process.stdout.write(
      `${same ? ' ' : '≠'} ${`${r.file}:${r.program}`.padEnd(52)} ${r.type.padEnd(14)} ${verdict(r.ours).padEnd(10)} ${verdict(r.kernel).padEnd(10)} ${why.slice(0, 160)}\n`,
    );
  }
  for (const f of fileErrors) process.stdout.write(`! ${f.file}: ${f.error}\n`);
}
const summary = [
  `objects: ${new Set(rows.map((r) => r.file)).size} (+${fileErrors.length} we could not parse), programs: ${rows.length}`,
  `verdicts equal: ${agree.length}/${rows.length} (${pct(agree.length, rows.length)}); kernel accepts ${rows.filter((r) => r.kernel.accepted).length}`,
  `first error equal (numbers aside) where both reject: ${sameError.length}/${bothReject.length} (${pct(sameError.length, bothReject.length)})`,
  `insns_processed equal where both accept: ${sameInsns.length}/${bothAccept.length} (${pct(sameInsns.length, bothAccept.length)})`,
  'misses by class:',
  ...[...classes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `  ${String(n).padStart(4)}  ${c}`),
];
process.stdout.write(`${summary.join('\n')}\n`);
