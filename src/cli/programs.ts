/**
 * Reading program files for the CLI: `.data` conformance vectors, assembly sources (`.s`, either
 * syntax) and raw bytecode (`.bin`, anything else).
 */
import { assembleConformance } from '../isa/conformance-asm.js';
import { parseDataFile } from '../isa/data-file.js';
import { decode, encode, type Insn } from '../isa/instruction.js';
import { assemble } from '../isa/llvm.js';
import { InputError, readBinary, readObjectFile, readSource } from './io.js';
import { detectSyntax, type Syntax } from './isa-commands.js';

export type { Syntax };
export { InputError };

/** A program read from a file, ready for the VM. */
export interface ProgramFile {
  readonly file: string;
  readonly insns: readonly Insn[];
  /** Input memory the file itself carries (a `.data` file's `-- mem`). */
  readonly mem: Uint8Array | undefined;
  /** The result a `.data` file expects, if any. */
  readonly expected: bigint | undefined;
  /** Set when a `.data` file is one upstream's runner skips. */
  readonly skipped?: string;
}

/** Assemble source text in the given (or detected) syntax. */
export function assembleSource(source: string, file: string, syntax?: Syntax): Insn[] {
  return (syntax ?? detectSyntax(source)) === 'conformance'
    ? assembleConformance(source, { file })
    : assemble(source, { file });
}

/** Read a program file by its extension. */
export function readProgram(file: string, syntax?: Syntax): ProgramFile {
  if (file.endsWith('.data')) {
    const parsed = parseDataFile(readSource(file, 'conformance data file'), file);
    if (parsed.kind === 'skipped')
      return { file, insns: [], mem: undefined, expected: undefined, skipped: parsed.reason };
    return { file, insns: decode(parsed.program), mem: parsed.mem, expected: parsed.result };
  }
  if (file.endsWith('.s') || file.endsWith('.asm') || syntax) {
    return {
      file,
      insns: assembleSource(readSource(file, 'program source'), file, syntax),
      mem: undefined,
      expected: undefined,
    };
  }
  // A `.o` that is not ELF (objects go elsewhere) is a mistake, not raw bytecode.
  if (file.endsWith('.o')) readObjectFile(file);
  return { file, insns: decode(readBinary(file, 'raw program')), mem: undefined, expected: undefined };
}

export { encode };
