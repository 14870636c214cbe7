/**
 * Options and argument parsers more than one command group shares. Only commander and `io.ts` are
 * imported, so any group can use them without loading another group (`run FILE.o` does not load
 * the assembler for `--data`'s hex).
 */
import { InvalidArgumentError, Option } from './commonjs.js';
import { InputError } from './io.js';

/** The VM's engines, as `--engine` names them. */
export type Engine = 'jit' | 'interpreter';

/** `--engine`: which VM engine runs the program. */
export const engineOption = () =>
  new Option('--engine <engine>', 'VM engine: the JIT (default) or the reference interpreter').choices([
    'jit',
    'interpreter',
  ]);

/**
 * `--no-verify`: run typed programs (objects, `--type`, test vectors) without the verifier's
 * load-time check, like uBPF's unchecked mode. Commander turns it into `verify: boolean`.
 */
export const noVerifyOption = () =>
  new Option('--no-verify', "run programs the verifier refuses (skip the VM's load-time verification)");

/** `--syntax`, shared by the commands that read assembly. */
export const syntaxOption = () =>
  new Option(
    '--syntax <syntax>',
    'assembly syntax (default: detected; `%r` registers mean conformance)',
  ).choices(['llvm', 'conformance']);

/** A positive safe integer, or commander's usage error. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Parse `--mem` hex: pairs of hex digits, optional whitespace, `0x` prefix allowed. */
export function parseHex(text: string, what: string): Uint8Array {
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new InputError(`${what}: '${text}' is not hex bytes (pairs of hex digits)`);
  }
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
