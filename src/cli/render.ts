/**
 * Error rendering for the terminal: `file:line:col: error: reason`, the source line and a caret
 * (colour only on a TTY and without NO_COLOR — picocolors decides).
 */
import pc from 'picocolors';
import { AssemblyError } from '../isa/errors.js';

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
  if (error instanceof Error) return `${pc.red('error:')} ${error.message}`;
  return `${pc.red('error:')} ${String(error)}`;
}
