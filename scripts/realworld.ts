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
import { loadObject, vmlinuxBtf, withKernelKconfig } from '../src/kernel/load/object.js';
import type { KernelProgram } from '../src/kernel/load/program.js';
import { errorLineOf } from '../src/kernel/load/verifier-oracle.js';
import { VerifierError } from '../src/kernel/sys/errors.js';
import { loadObjectSpec, type ObjectSpec } from '../src/object/object.js';
import { verify } from '../src/verifier/index.js';
import { programType, verifierInputOf } from '../src/verifier/object.js';
import { loadVmObject, type VmObject } from '../src/vm/object.js';
import { testRun } from '../src/vm/test-run.js';
import { verifierGap } from '../src/vm/verify.js';
import { Vm } from '../src/vm/vm.js';

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
  /** Ours: the refusal is a gap of our verifier (no verdict; the VM loads such programs unverified). */
  readonly gap?: string;
}

/** Test runs of one packet program: how many packets gave the kernel's retval and bytes. */
interface Runs {
  readonly same: number;
  readonly total: number;
  readonly first?: string;
}

interface Row {
  runs?: Runs;
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

const hex = (text: string): Uint8Array =>
  new Uint8Array(text.match(/../g)!.map((b) => Number.parseInt(b, 16)));
const ETH = '020000000001020000000002';
/** Packets every packet program gets, in the kernel and in the VM: TCP, UDP, IPv6, ARP, a runt. */
const PACKETS: ReadonlyArray<readonly [string, Uint8Array]> = [
  [
    'ipv4-tcp-syn',
    hex(`${ETH}0800450000280001000040067cc90a0000010a000002303900500000000000000000500272100000000000000000`),
  ],
  [
    'ipv4-udp-53',
    hex(`${ETH}08004500002400010000401166c90a0000010a000002303900350010000061626364656667680000`),
  ],
  [
    'ipv6-tcp',
    hex(
      `${ETH}86dd6000000000140640${'00'.repeat(15)}01${'00'.repeat(15)}02303900500000000000000000500272100000000000`,
    ),
  ],
  [
    'arp',
    hex(`${ETH}0806000108000604000102000000000${'1'}0a000001000000000000` + '0a000002' + '00'.repeat(18)),
  ],
  ['runt', hex('0200000000010200')],
];
const PACKET_TYPES: ReadonlySet<string> = new Set([
  'XDP',
  'SCHED_CLS',
  'SCHED_ACT',
  'SOCKET_FILTER',
  'CGROUP_SKB',
]);

/** Both backends fail a test run with an errno (EINVAL for a runt XDP frame…): compare that. */
const errnoOf = (error: unknown): string => /\bE[A-Z]{2,}\b/.exec(message(error))?.[0] ?? message(error);

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Each packet through the kernel's BPF_PROG_TEST_RUN and the VM's test run: retval and bytes out. */
function compareRuns(
  kernelProgram: KernelProgram,
  vm: Vm,
  vmObject: VmObject | undefined,
  name: string,
): Runs | undefined {
  const ours = vmObject?.programs.get(name);

  let same = 0;
  let first: string | undefined;
  for (const [label, data] of PACKETS) {
    let k: string;
    let o: string;
    let kOut: Uint8Array | undefined;
    let oOut: Uint8Array | undefined;
    try {
      const r = kernelProgram.testRun({ data });
      k = `retval ${r.retval}`;
      kOut = r.dataOut;
    } catch (error) {
      k = errnoOf(error);
    }
    try {
      if (!ours) throw new Error(vmObject ? 'not loaded in the VM' : 'object not loaded in the VM');
      const r = testRun(vm, ours, { data });
      o = `retval ${r.retval}`;
      oOut = r.dataOut;
    } catch (error) {
      o = errnoOf(error);
    }
    const ok = k === o && (kOut === undefined || (oOut !== undefined && equalBytes(kOut, oOut)));
    if (ok) same++;
    else
      first ??= `${label}: kernel ${k}${kOut ? ` (${kOut.length} B)` : ''}, VM ${o}${oOut ? ` (${oOut.length} B)` : ''}`;
  }
  return { same, total: PACKETS.length, ...(first ? { first } : {}) };
}

function kernelVerdicts(
  bytes: Uint8Array,
  file: string,
  spec: ObjectSpec,
  runs: Map<string, Runs>,
): Map<string, Verdict> {
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
  let vm: Vm | undefined;
  let vmObject: VmObject | undefined;
  try {
    if (spec.programs.some((p) => PACKET_TYPES.has(programType(p) ?? ''))) {
      vm = new Vm();
      try {
        vmObject = loadVmObject(vm, bytes, { verify: false });
      } catch {
        vmObject = undefined;
      }
    }
    for (const [name, p] of object.programs) {
      const type = programType(p.spec) ?? '';
      if (vm && p.program && PACKET_TYPES.has(type)) {
        const r = compareRuns(p.program, vm, vmObject, name);
        if (r) runs.set(name, r);
      }
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
    const gap = result.error ? verifierGap(input, result.error) : undefined;
    return {
      accepted: result.accepted,
      ...(gap ? { gap } : {}),
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
  const runs = new Map<string, Runs>();
  const kernel = kernelVerdicts(bytes, file, spec, runs);
  // As libbpf: `.kconfig` externs (LINUX_KERNEL_VERSION…) hold this kernel's values.
  let ourSpec = spec;
  try {
    ourSpec = withKernelKconfig(spec);
  } catch {
    ourSpec = spec;
  }
  for (const program of ourSpec.programs) {
    const run = runs.get(program.name);
    rows.push({
      ...(run ? { runs: run } : {}),
      file,
      program: program.name,
      type: programType(program) ?? '?',
      ours: ourVerdict(ourSpec, program),
      kernel: kernel.get(program.name) ?? { accepted: false, error: 'not loaded', beforeVerifier: true },
    });
  }
}

/** Numbers in kernel messages (ids, offsets, register numbers) differ for harmless reasons. */
const shape = (text: string | undefined): string => (text ?? '').replace(/\d+/g, 'N');

/** The class of a miss: which side refused, and the error's shape with numbers masked. */
function missClass(row: Row): string {
  if (row.ours.gap) return `no verdict from us (gap): ${row.ours.gap}`;
  if (row.ours.accepted) return `we accept, kernel: ${shape(row.kernel.error).slice(0, 70)}`;
  return `we reject: ${shape(row.ours.error).slice(0, 70)}`;
}

// Programs the kernel refused before verifying (a map or attach target the tool's user space
// sizes or picks at run time, fentry where the kernel has no trampolines) give no verdict to
// compare: they are counted apart, by reason.
const compared = rows.filter((r) => !r.kernel.beforeVerifier);
const notCompared = new Map<string, number>();
for (const r of rows.filter((x) => x.kernel.beforeVerifier)) {
  const why = shape(r.kernel.error)
    .replace(/program '[^']*'/g, "program 'P'")
    .replace(/section '[^']*'/g, "section 'S'")
    .replace(/(FUNC|map) '[^']*'/g, "$1 'X'")
    .slice(0, 90);
  notCompared.set(why, (notCompared.get(why) ?? 0) + 1);
}
const agree = compared.filter((r) => r.ours.accepted === r.kernel.accepted);
const bothReject = compared.filter((r) => !r.ours.accepted && !r.kernel.accepted);
const sameError = bothReject.filter((r) => shape(r.ours.error) === shape(r.kernel.error));
const bothAccept = compared.filter((r) => r.ours.accepted && r.kernel.accepted);
const sameInsns = bothAccept.filter((r) => r.ours.insnsProcessed === r.kernel.insnsProcessed);
const pct = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);
const classes = new Map<string, number>();
for (const r of compared)
  if (r.ours.accepted !== r.kernel.accepted) classes.set(missClass(r), (classes.get(missClass(r)) ?? 0) + 1);

if (values.json) {
  for (const r of rows)
    process.stdout.write(`${JSON.stringify({ ...r, agree: r.ours.accepted === r.kernel.accepted })}\n`);
} else {
  const verdict = (v: Verdict): string => (v.accepted ? `ok ${v.insnsProcessed ?? '?'}` : 'REJECT');
  const show = Number(values.show);
  let shown = 0;
  for (const r of rows) {
    const same = r.ours.accepted === r.kernel.accepted || r.kernel.beforeVerifier === true;
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
const ran = rows.filter((r) => r.runs);
const runsSame = ran.reduce((n, r) => n + r.runs!.same, 0);
const runsTotal = ran.reduce((n, r) => n + r.runs!.total, 0);
const summary = [
  `objects: ${new Set(rows.map((r) => r.file)).size} (+${fileErrors.length} we could not parse), programs: ${rows.length}`,
  `kernel refused before verifying (not compared): ${rows.length - compared.length}`,
  ...[...notCompared].sort((a, b) => b[1] - a[1]).map(([c, n]) => `  ${String(n).padStart(4)}  ${c}`),
  `verdicts equal: ${agree.length}/${compared.length} (${pct(agree.length, compared.length)}); kernel accepts ${compared.filter((r) => r.kernel.accepted).length}`,
  `first error equal (numbers aside) where both reject: ${sameError.length}/${bothReject.length} (${pct(sameError.length, bothReject.length)})`,
  `insns_processed equal where both accept: ${sameInsns.length}/${bothAccept.length} (${pct(sameInsns.length, bothAccept.length)})`,
  `packet test runs equal to BPF_PROG_TEST_RUN (retval and bytes): ${runsSame}/${runsTotal} (${pct(runsSame, runsTotal)}) over ${ran.length} programs`,
  ...ran.filter((r) => r.runs!.first).map((r) => `  ${r.file}:${r.program}: ${r.runs!.first}`),
  'misses by class:',
  ...[...classes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `  ${String(n).padStart(4)}  ${c}`),
];
process.stdout.write(`${summary.join('\n')}\n`);
