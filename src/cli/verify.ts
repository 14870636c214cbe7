/**
 * `tsbpf verify`: Linux's verifier verdict from tsbpf's own verifier (`src/verifier`), no root
 * needed; with `--kernel`, the running kernel's verdict beside it, differences marked.
 *
 *   tsbpf verify FILE.o [--program NAME] [--caps root|bpf|unpriv] [--flags N] [--log-level 0|1|2] [--json]
 *   tsbpf verify CASES.jsonl [--caps …] [--json]
 *
 * Exit status: 0 all accepted, 1 any rejected (or, with --kernel, any disagreement), 2 bad input.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { decode, type Insn } from '../isa/instruction.js';
import { type Btf, parseBtf } from '../object/btf.js';
import { loadObjectSpec, type ObjectSpec } from '../object/object.js';
import { parseVectors } from '../testvec/vectors.js';
import { verify } from '../verifier/index.js';
import { verifierInputOf } from '../verifier/object.js';
import type { Caps, VerifierInput, VerifierMap, VerifierResult } from '../verifier/types.js';
import { InvalidArgumentError, Option, pc } from './commonjs.js';
import { type CliContext, EXIT_FAULT, InputError, readBinary, readObjectFile, readSource } from './io.js';

/** The kernel backend, loaded (with koffi) only for `--kernel`. */
interface KernelApi {
  readonly VerifierError: typeof import('../kernel/sys/errors.js').VerifierError;
  readonly loadObject: typeof import('../kernel/load/object.js').loadObject;
  readonly errorLineOf: typeof import('../kernel/load/verifier-oracle.js').errorLineOf;
  readonly kernelVerdict: typeof import('../kernel/load/verifier-oracle.js').kernelVerdict;
}

async function loadKernelApi(): Promise<KernelApi> {
  const [errors, object, oracle] = await Promise.all([
    import('../kernel/sys/errors.js'),
    import('../kernel/load/object.js'),
    import('../kernel/load/verifier-oracle.js'),
  ]);
  return {
    VerifierError: errors.VerifierError,
    loadObject: object.loadObject,
    errorLineOf: oracle.errorLineOf,
    kernelVerdict: oracle.kernelVerdict,
  };
}

interface Options {
  program?: string;
  caps: Caps;
  flags: number;
  logLevel: 0 | 1 | 2;
  json?: boolean;
  kernel?: KernelApi;
}

/** The kernel's answer for one row. */
interface KernelAnswer {
  readonly accepted: boolean;
  readonly error?: string;
  readonly errno?: string;
  readonly insnsProcessed?: number;
}

interface Row {
  /** For object programs: the kernel's verdict as `loadObject` loads it (BTF, frozen .rodata…). */
  kernel?: () => KernelAnswer;
  readonly name: string;
  readonly section?: string;
  readonly input: VerifierInput;
  readonly result: VerifierResult;
}

const VMLINUX = '/sys/kernel/btf/vmlinux';
let vmlinux: Btf | null | undefined;

/** The running kernel's BTF when readable: CO-RE is applied against it, as libbpf does, and it types BTF contexts. */
function kernelBtf(): Btf | undefined {
  if (vmlinux === undefined)
    vmlinux = existsSync(VMLINUX) ? parseBtf(new Uint8Array(readFileSync(VMLINUX))) : null;
  return vmlinux ?? undefined;
}

function objectRows(file: string, options: Options, only?: string): Row[] {
  const bytes = readObjectFile(file);
  const spec: ObjectSpec = loadObjectSpec(bytes);
  const rows: Row[] = [];
  let loaded: Map<string, KernelAnswer> | undefined;
  // Load the whole object once, as `tsbpf load` does, the first time a kernel verdict is wanted.
  const kernelAnswer = (name: string): KernelAnswer => {
    const kernel = options.kernel;
    if (!kernel) throw new Error('kernel verdicts need --kernel');
    if (!loaded) {
      loaded = new Map();
      const object = kernel.loadObject(bytes, { name: basename(file).split('.')[0] || 'obj' });
      try {
        for (const [n, p] of object.programs) {
          const error =
            p.error instanceof kernel.VerifierError ? kernel.errorLineOf(p.error.log) : p.error?.message;
          loaded.set(n, {
            accepted: p.program !== undefined,
            ...(error ? { error } : {}),
            ...(p.insnsProcessed === undefined ? {} : { insnsProcessed: p.insnsProcessed }),
          });
        }
      } finally {
        object.close();
      }
    }
    return loaded.get(name) ?? { accepted: false, errno: 'not loaded' };
  };
  for (const program of spec.programs) {
    if (only && program.name !== only) continue;
    const input = verifierInputOf(spec, program, {
      caps: options.caps,
      progFlags: options.flags,
      logLevel: options.logLevel,
      ...(program.coreRelos.length > 0 || program.sectionInfo?.def.btfTarget
        ? { kernelBtf: kernelBtf() }
        : {}),
    });
    if (!input)
      throw new InputError(
        `${file}: program '${program.name}': ${program.sectionError ?? 'unknown section'}`,
      );
    rows.push({
      name: program.name,
      section: program.section,
      input,
      result: verify(input),
      kernel: () => kernelAnswer(program.name),
    });
  }
  if (only && rows.length === 0) throw new InputError(`${file}: no program named '${only}'`);
  return rows;
}

function caseRows(file: string, options: Options): Row[] {
  const text = readSource(file, 'verifier cases file');
  const cases = parseVectors(text);
  const extras = new Map<number, { flags?: number; caps?: Caps }>();
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (!t.startsWith('{')) return;
    const json = JSON.parse(t) as { flags?: number; caps?: Caps };
    extras.set(i + 1, { flags: json.flags, caps: json.caps });
  });
  const rows: Row[] = [];
  for (const c of cases) {
    const extra = extras.get(c.line) ?? {};
    const caseOptions = { ...options, caps: extra.caps ?? options.caps, flags: extra.flags ?? options.flags };
    if (c.program && !c.program.path.endsWith('.bin')) {
      const path = isAbsolute(c.program.path) ? c.program.path : resolve(dirname(file), c.program.path);
      for (const row of objectRows(path, caseOptions, c.program.name)) rows.push({ ...row, name: c.name });
      continue;
    }
    const bytes = c.insns ?? readBinary(resolve(dirname(file), c.program?.path ?? ''), 'raw program');
    const maps: VerifierMap[] = c.maps.map((m) => ({
      type: m.spec.type,
      keySize: m.spec.keySize,
      valueSize: m.spec.valueSize,
      maxEntries: m.spec.maxEntries,
      flags: m.spec.flags ?? 0,
      name: m.spec.name,
    }));
    let insns: Insn[] = [];
    let decodeError: string | undefined;
    try {
      insns = decode(bytes);
    } catch (error) {
      decodeError = error instanceof Error ? error.message : String(error);
    }
    const input: VerifierInput = {
      insns,
      progType: c.type ?? 'SOCKET_FILTER',
      maps,
      caps: caseOptions.caps,
      progFlags: caseOptions.flags,
      logLevel: options.logLevel,
    };
    const result: VerifierResult = decodeError
      ? {
          accepted: false,
          error: { message: decodeError, insn: 0, summary: decodeError },
          insnsProcessed: 0,
          log: '',
        }
      : verify(input);
    rows.push({ name: c.name, input, result });
  }
  return rows;
}

function kernelOf(row: Row, kernel: KernelApi): KernelAnswer {
  if (row.kernel) return row.kernel();
  return kernel.kernelVerdict({
    insns: row.input.insns,
    progType: row.input.progType,
    maps: row.input.maps,
    progFlags: row.input.progFlags,
    license: row.input.gpl === false ? 'Proprietary' : 'GPL',
  });
}

function report(rows: readonly Row[], options: Options, cases: boolean, ctx: CliContext): number {
  let rejected = 0;
  let differ = 0;
  const out: string[] = [];
  const jsonRows: unknown[] = [];
  for (const row of rows) {
    const r = row.result;
    if (!r.accepted) rejected++;
    const kernel = options.kernel ? kernelOf(row, options.kernel) : undefined;
    const same =
      !kernel ||
      (kernel.accepted === r.accepted &&
        (r.accepted || kernel.error === r.error?.message) &&
        (kernel.insnsProcessed ?? 0) === r.insnsProcessed);
    if (!same) differ++;
    const base = {
      ...(cases
        ? { name: row.name }
        : { program: row.name, section: row.section ?? null, type: row.input.progType.toLowerCase() }),
      accepted: r.accepted,
      error: r.error?.message ?? null,
      insn: r.error?.slot ?? null,
      ...(cases ? {} : { line: r.error?.line ? `${r.error.line.file}:${r.error.line.line}` : null }),
      insns_processed: r.insnsProcessed,
      ...(cases ? {} : { hint: r.error?.hint ?? null }),
      ...(kernel
        ? {
            kernel: {
              accepted: kernel.accepted,
              error: kernel.error ?? kernel.errno ?? null,
              insns_processed: kernel.insnsProcessed ?? null,
            },
            same,
          }
        : {}),
    };
    if (options.json) {
      if (cases) out.push(JSON.stringify(base));
      else jsonRows.push(base);
      continue;
    }
    const processed = ` (${r.insnsProcessed} insns processed)`;
    const head = `${pc.bold(row.name)}${row.section ? ` (${row.section}, ${row.input.progType.toLowerCase()})` : ''}: `;
    if (r.accepted) out.push(`${head}${pc.green('accepted')}${processed}`);
    else {
      const e = r.error;
      out.push(`${head}${pc.red('rejected')}${processed}: ${e?.message}`);
      if (e) {
        out.push(`  at instruction ${e.slot ?? e.insn}: ${e.summary}`);
        if (e.line)
          out.push(
            `  ${pc.bold(`${e.line.file}:${e.line.line}:${e.line.column}`)}  ${pc.dim(e.line.text.trim())}`,
          );
        if (e.hint) out.push(`  hint: ${e.hint}`);
      }
    }
    if (kernel) {
      const k = kernel.accepted
        ? `accepted (${kernel.insnsProcessed ?? '?'} insns)`
        : `rejected (${kernel.insnsProcessed ?? '?'} insns): ${kernel.error ?? kernel.errno}`;
      out.push(`  kernel: ${same ? pc.green(k) : pc.yellow(`${k}  ← differs`)}`);
    }
    if (options.logLevel > 0 && r.log) out.push(r.log.trimEnd());
  }
  if (options.json && !cases) out.push(JSON.stringify(jsonRows));
  if (cases)
    out.push(
      `${rows.length - rejected} accepted, ${rejected} rejected${options.kernel ? `, ${differ} differ from the kernel` : ''}`,
    );
  ctx.io.stdout.write(`${out.join('\n')}\n`);
  return rejected || differ ? EXIT_FAULT : 0;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/** Add `tsbpf verify` to the command line. */
export function registerVerifyCommands(
  program: Command,
  ctx: CliContext,
  fail: (error: unknown) => never,
): void {
  program
    .command('verify')
    .description("verify programs as Linux 6.18 would (tsbpf's own verifier; no root needed)")
    .argument('<file>', 'BPF object file (.o) or test cases (.jsonl)')
    .option('--program <name>', 'only this program of the object')
    .addOption(
      new Option('--caps <caps>', 'capabilities of the loader')
        .choices(['root', 'bpf', 'unpriv'])
        .default('root'),
    )
    .option('--flags <n>', 'prog_flags (BPF_F_*)', nonNegativeInt, 0)
    .addOption(new Option('--log-level <n>', 'print the verifier log').choices(['0', '1', '2']).default('0'))
    .option('-j, --json', 'print JSON (an array for objects, one line per case for .jsonl)')
    .option('--kernel', 'also load into the running kernel (root) and show its verdict beside ours')
    .action(
      async (
        file: string,
        raw: {
          program?: string;
          caps: Caps;
          flags: number;
          logLevel: string;
          json?: boolean;
          kernel?: boolean;
        },
      ) => {
        try {
          const options: Options = {
            ...raw,
            logLevel: Number(raw.logLevel) as 0 | 1 | 2,
            kernel: raw.kernel ? await loadKernelApi() : undefined,
          };
          const cases = file.endsWith('.jsonl') || file.endsWith('.json');
          const rows = cases ? caseRows(file, options) : objectRows(file, options, options.program);
          ctx.status = report(rows, options, cases, ctx);
        } catch (error) {
          fail(error);
        }
      },
    );
}
