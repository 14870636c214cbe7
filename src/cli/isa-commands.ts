/**
 * `tsbpf asm` and `tsbpf disasm`: the instruction set only, so these commands start fast. Each
 * loads only its half of the syntax: `asm` the parser, `disasm` the printer (and the object reader
 * when it is given an object file).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { decode, encode } from '../isa/instruction.js';
import { formatInsn } from '../isa/llvm-print.js';
import { Option } from './commonjs.js';
import { type CliContext, isElf, readBinary, readSource } from './io.js';
import { syntaxOption } from './options.js';

/** The assembly syntaxes the CLI reads. */
export type Syntax = 'llvm' | 'conformance';

/** The assembly syntax of a source: the conformance dialect writes registers as `%rN`. */
export function detectSyntax(source: string): Syntax {
  return /%r\d/.test(source) ? 'conformance' : 'llvm';
}

/** Add `asm` and `disasm` to the program. */
export function registerIsaCommands(
  program: Command,
  ctx: CliContext,
  fail: (error: unknown) => never,
): void {
  const { io } = ctx;
  program
    .command('asm')
    .description('assemble a source file into raw 8-byte instructions')
    .argument('<file>', 'assembly source (.s): LLVM/kernel syntax or bpf_conformance syntax')
    .option('-o, --output <out>', 'output file (default: the input with a .bin extension)')
    .addOption(syntaxOption())
    .action(async (file: string, options: { output?: string; syntax?: Syntax }) => {
      try {
        const source = readSource(file, 'assembly source');
        // Only the assembler of the source's dialect is loaded: `asm` should start fast.
        const insns =
          (options.syntax ?? detectSyntax(source)) === 'conformance'
            ? (await import('../isa/conformance-asm.js')).assembleConformance(source, { file })
            : (await import('../isa/llvm-parse.js')).assemble(source, { file });
        const bytes = encode(insns);
        const out = options.output ?? file.replace(/\.[^./]*$/, '') + '.bin';
        writeFileSync(out, bytes);
        io.stdout.write(`${out}: ${insns.length} instructions, ${bytes.length} bytes\n`);
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
    .action(async (file: string, options: { flavor: 'objdump' | 'verifier'; bigEndian?: boolean }) => {
      try {
        const bytes = readBinary(file, 'program or BPF object');
        if (isElf(bytes)) {
          const [{ objdump }, { loadObjectSpec }, { renderCode }] = await Promise.all([
            import('../object/objdump.js'),
            import('../object/object.js'),
            import('./objdump.js'),
          ]);
          const dump = objdump(loadObjectSpec(bytes));
          io.stdout.write(`${renderCode(dump).slice(1).join('\n')}\n`);
          return;
        }
        const insns = decode(bytes, { bigEndian: options.bigEndian });
        const lines = insns.map(
          (insn) => `${String(insn.slot).padStart(4)}: ${formatInsn(insn, { flavor: options.flavor })}`,
        );
        io.stdout.write(`${lines.join('\n')}\n`);
      } catch (error) {
        fail(error);
      }
    });
}
