/**
 * Error rendering for the terminal: `file:line:col: error: reason`, the source line and a caret
 * (colour only on a TTY and without NO_COLOR — picocolors decides).
 */
import { AssemblyError } from '../isa/errors.js';
import type { VerifierRejectedError } from '../vm/verify.js';
import { pc } from './commonjs.js';

/**
 * A program the VM's verifier refused: the kernel's line, then where (instruction, C source line
 * with its text), why in plain words and what to change. Recognised by name, so rendering loads
 * no VM code.
 */
function renderRejection(error: VerifierRejectedError): string {
  const lines = [
    `${pc.red('error:')} program${error.program ? ` '${error.program}'` : ''} rejected by the verifier: ${error.reason}`,
    `  at instruction ${error.slot}${error.insnText ? `: ${error.insnText}` : ''}`,
  ];
  if (error.source) {
    const { file, line, column, text } = error.source;
    lines.push(`  ${pc.bold(`${file}:${line}:${column}`)}`, `  ${pc.dim(`${line} |`)} ${text.trim()}`);
  }
  if (error.summary !== error.reason) lines.push(`  ${error.summary}`);
  if (error.hint) lines.push(`  ${pc.cyan('hint:')} ${error.hint}`);
  lines.push(pc.dim('  (--no-verify runs it anyway)'));
  return lines.join('\n');
}

/** Render any error the CLI reports as text for stderr. */
export function renderError(error: unknown): string {
  if (error instanceof AssemblyError) {
    const { file, line, column } = error.location;
    const gutter = String(line).length;
    const caret = `${' '.repeat(Math.max(0, column - 1))}${pc.red('^')}`;
    return [
      `${pc.bold(`${file ?? '<input>'}:${line}:${column}:`)} ${pc.red('error:')} ${error.reason}`,
      `${pc.dim(`${line} |`)} ${error.sourceLine}`,
      `${' '.repeat(gutter)} ${pc.dim('|')} ${caret}`,
    ].join('\n');
  }
  if (error instanceof Error && error.name === 'VerifierRejectedError')
    return renderRejection(error as VerifierRejectedError);
  if (error instanceof Error) return `${pc.red('error:')} ${error.message}`;
  return `${pc.red('error:')} ${String(error)}`;
}
