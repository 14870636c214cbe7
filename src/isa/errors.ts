import { TsbpfError } from '../errors.js';

/** Where in an assembly source a problem is. Lines and columns count from 1. */
export interface SourceLocation {
  readonly file?: string;
  readonly line: number;
  readonly column: number;
}

/**
 * An assembly source that does not assemble: the location, the offending text and why.
 * The message reads `file:line:col: reason` so editors and terminals can jump to it.
 */
export class AssemblyError extends TsbpfError {
  override name = 'AssemblyError';
  readonly location: SourceLocation;
  /** The reason alone, without the location prefix. */
  readonly reason: string;
  /** The whole source line, for rendering with a caret. */
  readonly sourceLine: string;
  constructor(reason: string, location: SourceLocation, sourceLine: string, options?: { cause?: unknown }) {
    const where = `${location.file ?? '<input>'}:${location.line}:${location.column}`;
    super(`${where}: ${reason}`, options);
    this.reason = reason;
    this.location = location;
    this.sourceLine = sourceLine;
  }
}
