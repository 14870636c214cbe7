/**
 * Options and argument parsers more than one command group shares. Only commander is imported, so
 * any group can use them without loading another group.
 */
import { InvalidArgumentError, Option } from './commonjs.js';

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
