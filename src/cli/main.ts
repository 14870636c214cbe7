#!/usr/bin/env node
/**
 * The `tsbpf` command line: `asm`, `disasm`, `objdump`, `btf dump` and `run` on the userspace VM.
 *
 * Exit status: 0 on success, 1 when a program faulted at run time, 2 on bad input (unreadable
 * file, assembly error, invalid encoding, bad option).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { BuildError, buildObject } from '../build/clang.js';
import { TsbpfError } from '../errors.js';
import { AssemblyError } from '../isa/errors.js';
import { decode, encode, InvalidInstructionError } from '../isa/instruction.js';
import { formatInsn } from '../isa/llvm.js';
import { type Btf, BtfError, parseBtf } from '../object/btf.js';
import { dumpBtfJson, dumpBtfRaw } from '../object/btf-dump.js';
import { type Objdump, objdump } from '../object/objdump.js';
import { loadObjectSpec, ObjectError } from '../object/object.js';
import { parseVectors, runVector, toHex, VectorError } from '../testvec/vectors.js';
import { VmError } from '../vm/errors.js';
import { vmVectorBackend } from '../vm/vectors.js';
import { Vm } from '../vm/vm.js';
import { registerKernelCommands } from './kernel.js';
import { renderDisassembly, renderObjdump } from './objdump.js';
import { runCapture, runOnce } from './packets.js';
import { assembleSource, InputError, parseHex, readProgram, type Syntax } from './programs.js';
import { renderError } from './render.js';
import { registerVerifyCommand } from './verify.js';

const EXIT_FAULT = 1;
const EXIT_INPUT = 2;

/** Errors that mean the input was bad, as opposed to a program that faulted. */
function isInputError(error: unknown): boolean {
  return (
    error instanceof AssemblyError ||
    error instanceof InvalidInstructionError ||
    error instanceof InputError ||
    error instanceof ObjectError ||
    error instanceof BuildError ||
    error instanceof VectorError ||
    error instanceof BtfError
  );
}

function fail(error: unknown): never {
  process.stderr.write(`${renderError(error)}\n`);
  process.exit(isInputError(error) || !(error instanceof TsbpfError) ? EXIT_INPUT : EXIT_FAULT);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const hex64 = (value: bigint): string => `0x${value.toString(16)}`;

const syntaxOption = () =>
  new Option(
    '--syntax <syntax>',
    'assembly syntax (default: detected; `%r` registers mean conformance)',
  ).choices(['llvm', 'conformance']);

export function buildProgram(): Command {
  const program = new Command('tsbpf')
    .description('eBPF for TypeScript: assemble, disassemble and run eBPF programs')
    .version('0.1.0')
    .showHelpAfterError();

  program
    .command('asm')
    .description('assemble a source file into raw 8-byte instructions')
    .argument('<file>', 'assembly source (.s): LLVM/kernel syntax or bpf_conformance syntax')
    .option('-o, --output <out>', 'output file (default: the input with a .bin extension)')
    .addOption(syntaxOption())
    .action((file: string, options: { output?: string; syntax?: Syntax }) => {
      try {
        const insns = assembleSource(readSource(file), file, options.syntax);
        const bytes = encode(insns);
        const out = options.output ?? file.replace(/\.[^./]*$/, '') + '.bin';
        writeFileSync(out, bytes);
        process.stdout.write(`${out}: ${insns.length} instructions, ${bytes.length} bytes\n`);
      } catch (error) {
        fail(error);
      }
    });

  program
    .command('disasm')
    .description('disassemble raw instructions, or every program of an object file, in kernel/LLVM syntax')
    .argument('<file>', 'raw bytecode (.bin) or a BPF object file (.o)')
    .addOption(
      new Option('--flavor <flavor>', 'llvm-objdump text (hex) or kernel verifier log text (decimal)')
        .choices(['objdump', 'verifier'])
        .default('objdump'),
    )
    .option('--big-endian', 'read a big-endian (bpfeb) program')
    .action((file: string, options: { flavor: 'objdump' | 'verifier'; bigEndian?: boolean }) => {
      try {
        const bytes = new Uint8Array(readBinary(file));
        if (isElf(bytes)) {
          const dump = objdump(loadObjectSpec(bytes));
          const out = dump.programs.flatMap((p) => [
            `${p.name} (section ${p.section}):`,
            ...renderDisassembly(p.insns),
            '',
          ]);
          process.stdout.write(`${out.join('\n')}`);
          return;
        }
        const insns = decode(bytes, { bigEndian: options.bigEndian });
        const lines = insns.map(
          (insn) => `${String(insn.slot).padStart(4)}: ${formatInsn(insn, { flavor: options.flavor })}`,
        );
        process.stdout.write(`${lines.join('\n')}\n`);
      } catch (error) {
        fail(error);
      }
    });

  program
    .command('objdump')
    .description('show the programs, maps, globals, relocations and disassembly of a BPF object file')
    .argument('<file>', 'BPF object file (clang -target bpf -c output)')
    .option(
      '--json',
      'print JSON: {"programs":[{name,section,type,attach,insns:[{index,text,line}]}],"maps":[…]}',
    )
    .action((file: string, options: { json?: boolean }) => {
      try {
        const dump = objdump(loadObjectSpec(new Uint8Array(readBinary(file))));
        if (options.json) process.stdout.write(`${JSON.stringify(objdumpJson(dump))}\n`);
        else process.stdout.write(renderObjdump(file, dump));
      } catch (error) {
        fail(error);
      }
    });

  program
    .command('build')
    .description("compile a BPF C source with clang, our headers and a vmlinux.h from this machine's BTF")
    .argument('<file>', 'BPF C source (FILE.bpf.c)')
    .option('-o, --output <out>', 'object file (default: the source with .o)')
    .addOption(
      new Option('--cpu <version>', 'BPF ISA version (-mcpu)')
        .choices(['v1', 'v2', 'v3', 'v4'])
        .default('v3'),
    )
    .option('--btf <file>', 'BTF for vmlinux.h', '/sys/kernel/btf/vmlinux')
    .option('--big-endian', 'build for bpfeb')
    .action(
      (
        file: string,
        options: { output?: string; cpu: 'v1' | 'v2' | 'v3' | 'v4'; btf: string; bigEndian?: boolean },
      ) => {
        try {
          const result = buildObject(file, options);
          const spec = loadObjectSpec(new Uint8Array(readBinary(result.output)));
          process.stdout.write(
            `${result.output}: ${spec.programs.length} program${spec.programs.length === 1 ? '' : 's'} (${spec.programs.map((p) => `${p.name} in ${p.section}`).join(', ')}), ${spec.maps.length} map${spec.maps.length === 1 ? '' : 's'}\n`,
          );
        } catch (error) {
          fail(error);
        }
      },
    );

  program
    .command('btf')
    .description('BTF type information')
    .command('dump')
    .description('dump the BTF of an object file, a raw BTF file or /sys/kernel/btf/vmlinux')
    .argument('<file>', 'BPF object (.o), raw BTF (e.g. /sys/kernel/btf/vmlinux)')
    .addOption(
      new Option('--format <format>', 'raw (bpftool-like), json, or c (a header: vmlinux.h)')
        .choices(['raw', 'json', 'c'])
        .default('raw'),
    )
    .action(async (file: string, options: { format: 'raw' | 'json' | 'c' }) => {
      try {
        const bytes = new Uint8Array(readBinary(file));
        let btf: Btf;
        if (isElf(bytes)) {
          const spec = loadObjectSpec(bytes);
          if (!spec.btf) throw new InputError(`${file}: the object has no .BTF section (compile with -g)`);
          btf = spec.btf;
        } else {
          btf = parseBtf(bytes);
        }
        const text =
          options.format === 'raw'
            ? dumpBtfRaw(btf)
            : options.format === 'json'
              ? dumpBtfJson(btf)
              : // The C dumper is large and only this command needs it.
                (await import('../object/btf-c.js')).dumpBtfC(btf);
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      } catch (error) {
        fail(error);
      }
    });

  program
    .command('run')
    .description(
      'run programs on the userspace VM: conformance vectors and assembly (prints r0), or packet programs from an object file over --data or a --pcap capture (BPF_PROG_TEST_RUN semantics)',
    )
    .argument('<programs...>', '.data vectors, .s sources, raw .bin programs, or FILE.o[:PROGRAM]')
    .option('--mem <hex>', 'input memory as hex bytes (r1 = its address, r2 = its length)')
    .option('--data <hex>', 'packet for a test run of FILE.o[:PROGRAM] (or a raw program with --type)')
    .option('--pcap <file>', 'run FILE.o[:PROGRAM] over every packet of a pcap/pcapng capture')
    .option('--write <file>', 'with --pcap: write the packets the program passes (with its changes)')
    .option('--ctx <file>', 'context bytes for the test run (struct xdp_md, __sk_buff…)')
    .option('--type <type>', 'program type of a raw program in a test run (xdp, socket_filter, sched_cls)')
    .option('--repeat <n>', 'test-run repetitions', positiveInt)
    .option('--cpu <n>', 'simulated CPU to run on', (v) => Number(v))
    .option('--kernel', 'load FILE.o into the running kernel, attach its programs, stream output (root)')
    .option('--iface <name>', 'with --kernel: the interface for XDP and tc programs')
    .option('--duration <seconds>', 'with --kernel: stop after this long (default: Ctrl-C)', positiveInt)
    .option('--json', 'one JSON line per program')
    .option('--budget <n>', 'executed-instruction budget per run', positiveInt, 1_000_000)
    .addOption(syntaxOption())
    .action(async (files: string[], options: RunCommandOptions) => {
      if (options.kernel) {
        try {
          if (files.length !== 1) throw new InputError('--kernel takes exactly one object file');
          const { runInKernel } = await import('./kernel-run.js');
          process.exitCode = await runInKernel(files[0], options);
        } catch (error) {
          fail(error);
        }
        return;
      }
      if (options.pcap || options.data !== undefined || options.type || files.some((f) => isElfFile(f))) {
        try {
          if (files.length !== 1)
            throw new InputError('a test run takes exactly one FILE.o[:PROGRAM] or raw program');
          const packetOptions = {
            ...options,
            data: options.data === undefined ? undefined : parseHex(options.data, '--data'),
          };
          process.exitCode = options.pcap
            ? runCapture(files[0], { ...packetOptions, pcap: options.pcap })
            : runOnce(files[0], packetOptions);
        } catch (error) {
          fail(error);
        }
        return;
      }
      let mem: Uint8Array | undefined;
      try {
        mem = options.mem === undefined ? undefined : parseHex(options.mem, '--mem');
      } catch (error) {
        fail(error);
      }
      const vm = new Vm({
        budget: options.budget,
        trace: (line) => process.stderr.write(`${pc.dim('trace:')} ${line}\n`),
      });
      let status = 0;
      let passed = 0;
      let failed = 0;
      for (const file of files) {
        let r0: bigint | undefined;
        let error: unknown;
        let executed = 0;
        let expected: bigint | undefined;
        let skipped: string | undefined;
        try {
          const loaded = readProgram(file, options.syntax);
          expected = loaded.expected;
          skipped = loaded.skipped;
          if (!skipped) {
            const result = vm.run(vm.load(loaded.insns), { mem: mem ?? loaded.mem, readMem: false });
            r0 = result.r0;
            executed = result.insnsExecuted;
          }
        } catch (caught) {
          error = caught;
          status = Math.max(
            status,
            isInputError(caught) || !(caught instanceof VmError) ? EXIT_INPUT : EXIT_FAULT,
          );
        }
        const message = error instanceof Error ? error.message : error === undefined ? null : String(error);
        if (expected !== undefined) {
          if (r0 === expected) passed++;
          else failed++;
        }
        if (options.json) {
          const line = {
            file,
            result: r0 === undefined ? null : hex64(r0),
            error: skipped ? `skipped: ${skipped}` : message,
            insns_executed: executed,
          };
          process.stdout.write(`${JSON.stringify(line)}\n`);
        } else if (skipped) {
          process.stdout.write(`${file}: ${pc.yellow('skipped')} (${skipped})\n`);
        } else if (error !== undefined) {
          process.stderr.write(`${file}: ${renderError(error)}\n`);
        } else {
          const verdict =
            expected === undefined
              ? ''
              : expected === r0
                ? ` ${pc.green('ok')}`
                : ` ${pc.red(`MISMATCH (expected ${hex64(expected)})`)}`;
          process.stdout.write(`${files.length > 1 ? `${file}: ` : ''}${hex64(r0!)}${verdict}\n`);
        }
      }
      if (!options.json && passed + failed > 1) process.stdout.write(`${passed} passed, ${failed} failed\n`);
      process.exitCode = status;
    });

  program
    .command('test')
    .description('run test vectors (JSON Lines) on the VM, or with --kernel through BPF_PROG_TEST_RUN')
    .argument('<vectors>', 'a .jsonl file: one case per line (see README)')
    .option('--kernel', 'run the cases in the Linux kernel instead of the VM')
    .option('--json', 'one JSON line per case')
    .action(async (file: string, options: { kernel?: boolean; json?: boolean }) => {
      try {
        const cases = parseVectors(readSource(file));
        const backend = options.kernel
          ? (await import('../kernel/vectors.js')).kernelVectorBackend
          : vmVectorBackend;
        const base = dirname(file);
        let passed = 0;
        for (const vector of cases) {
          const outcome = runVector(backend, vector, (path) => new Uint8Array(readBinary(join(base, path))));
          if (outcome.pass) passed++;
          if (options.json) {
            process.stdout.write(
              `${JSON.stringify({ name: outcome.name, pass: outcome.pass, retval: outcome.retval, data_out: outcome.dataOut ? toHex(outcome.dataOut) : null, error: outcome.error })}\n`,
            );
          } else {
            process.stdout.write(
              `${outcome.pass ? pc.green('PASS') : pc.red('FAIL')} ${outcome.name}${outcome.error ? `: ${outcome.error}` : ''}\n`,
            );
          }
        }
        process.stdout.write(`${passed} passed, ${cases.length - passed} failed\n`);
        process.exitCode = passed === cases.length ? 0 : 1;
      } catch (error) {
        fail(error);
      }
    });

  // After `btf`: `btf list` is added to that command.
  registerKernelCommands(program);
  registerVerifyCommand(program);
  return program;
}

interface RunCommandOptions {
  kernel?: boolean;
  iface?: string;
  duration?: number;
  mem?: string;
  data?: string;
  pcap?: string;
  write?: string;
  ctx?: string;
  type?: string;
  repeat?: number;
  cpu?: number;
  json?: boolean;
  budget: number;
  syntax?: Syntax;
}

/** Whether a file (`FILE.o` or `FILE.o:PROGRAM`) is an ELF object. */
function isElfFile(target: string): boolean {
  const file = /^(.*\.o):[^/]*$/.exec(target)?.[1] ?? target;
  try {
    const head = readFileSync(file).subarray(0, 4);
    return isElf(new Uint8Array(head));
  } catch {
    return false;
  }
}

/** Whether bytes start with the ELF magic. */
function isElf(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46
  );
}

/** The `--json` shape of objdump: programs with their own instructions, and maps. */
function objdumpJson(dump: Objdump) {
  return {
    license: dump.license,
    programs: dump.programs.map((p) => ({
      name: p.name,
      section: p.section,
      type: p.type,
      attach: p.attach,
      attach_type: p.attachType,
      error: p.error,
      insns: p.insns.map((i) => ({
        index: i.index,
        text: i.text,
        line: i.line ? i.line.line : null,
        file: i.line ? i.line.file : null,
        source: i.line ? i.line.text : null,
      })),
    })),
    maps: dump.maps.map((m) => ({
      name: m.name,
      type: m.type,
      key_size: m.keySize,
      value_size: m.valueSize,
      max_entries: m.maxEntries,
      flags: m.flags,
      btf_key_type: m.keyType,
      btf_value_type: m.valueType,
      origin: m.origin,
      pinning: m.pinning,
    })),
    globals: dump.globals,
    relocations: dump.relocations,
  };
}

function readSource(file: string): string {
  return readBinary(file).toString('utf8');
}

function readBinary(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new InputError(
      `${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => fail(error));
