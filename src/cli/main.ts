#!/usr/bin/env node
/**
 * The `tsbpf` command line: `asm`, `disasm` and `run` on the userspace VM.
 *
 * Exit status: 0 on success, 1 when a program faulted at run time, 2 on bad input (unreadable
 * file, assembly error, invalid encoding, bad option).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { TsbpfError } from '../errors.js';
import { AssemblyError } from '../isa/errors.js';
import { decode, encode, InvalidInstructionError } from '../isa/instruction.js';
import { formatInsn } from '../isa/llvm.js';
import { VmError } from '../vm/errors.js';
import { Vm } from '../vm/vm.js';
import { assembleSource, InputError, parseHex, readProgram, type Syntax } from './programs.js';
import { renderError } from './render.js';

const EXIT_FAULT = 1;
const EXIT_INPUT = 2;

/** Errors that mean the input was bad, as opposed to a program that faulted. */
function isInputError(error: unknown): boolean {
  return (
    error instanceof AssemblyError || error instanceof InvalidInstructionError || error instanceof InputError
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
    .description('disassemble raw instructions in kernel/LLVM syntax')
    .argument('<file>', 'raw bytecode (.bin)')
    .addOption(
      new Option('--flavor <flavor>', 'llvm-objdump text (hex) or kernel verifier log text (decimal)')
        .choices(['objdump', 'verifier'])
        .default('objdump'),
    )
    .option('--big-endian', 'read a big-endian (bpfeb) program')
    .action((file: string, options: { flavor: 'objdump' | 'verifier'; bigEndian?: boolean }) => {
      try {
        const bytes = new Uint8Array(readBinary(file));
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
    .command('run')
    .description('run programs on the userspace VM and print r0')
    .argument('<programs...>', '.data conformance vectors, .s assembly sources or raw .bin programs')
    .option('--mem <hex>', 'input memory as hex bytes (r1 = its address, r2 = its length)')
    .option('--json', 'one JSON line per program')
    .option('--budget <n>', 'executed-instruction budget per run', positiveInt, 1_000_000)
    .addOption(syntaxOption())
    .action((files: string[], options: { mem?: string; json?: boolean; budget: number; syntax?: Syntax }) => {
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

  return program;
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
