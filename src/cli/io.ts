/**
 * What every command of `tsbpf` shares: where it writes (the process's streams, or buffers when a
 * test runs the command in-process), how it ends with an exit status, and how it reads files.
 * Kept free of tsbpf's own modules so that loading it costs nothing at start-up.
 */
import { fstatSync, statSync, writeSync } from 'node:fs';
import { TsbpfError } from '../errors.js';
import { INPUT_LIMITS, readInputFile, readInputText } from './files.js';

export {
  INPUT_LIMITS,
  InputError,
  isElfBytes as isElf,
  readFileHead,
  readInputFile,
  readObjectFile,
} from './files.js';

/** A stream the command writes text to. */
export interface CliOutput {
  write(text: string): unknown;
  /** Whether it is a terminal (progress bars are drawn only there). */
  readonly isTTY?: boolean;
}

/** Where the command writes. */
export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
}

/**
 * One of the process's own outputs, opened on its first write. Into a regular file, /dev/null, a
 * pipe or a socket it is written with `writeSync`, as Node's stream for a file would (creating the
 * process's stream, with the modules behind it — `net` and the stream machinery for a pipe — was
 * a few ms of a short command: `tsbpf asm … > /dev/null`, `tsbpf run … | less`); into a terminal
 * through the process's stream. A reader that went away (EPIPE: `tsbpf btf dump … | head`) ends
 * the command quietly with status 0, as with any Unix tool; a pipe or socket that another process
 * made non-blocking and that is full (EAGAIN) gets the rest through the stream, which waits.
 */
function processOutput(fd: 1 | 2): CliOutput {
  let direct: boolean | undefined;
  let stream: NodeJS.WriteStream | undefined;
  const open = (): NodeJS.WriteStream => {
    if (stream) return stream;
    stream = fd === 1 ? process.stdout : process.stderr;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
    return stream;
  };
  return {
    write(text: string) {
      direct ??= !mayBeTerminal(fd);
      if (!direct) return open().write(text);
      const bytes = Buffer.from(text);
      let at = 0;
      try {
        while (at < bytes.length) at += writeSync(fd, bytes, at);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') process.exit(0);
        if (code !== 'EAGAIN') throw error;
        direct = false;
        return open().write(bytes.subarray(at));
      }
      return true;
    },
    get isTTY() {
      direct ??= !mayBeTerminal(fd);
      return direct ? false : open().isTTY;
    },
  };
}

/**
 * Whether `fd` may be a terminal: false for a regular file, /dev/null, a pipe or a socket (whose
 * `isTTY` is false), true for any other character device, or when `fd` cannot be looked at.
 */
export function mayBeTerminal(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() || stat.isFIFO() || stat.isSocket()) return false;
    return !(stat.isCharacterDevice() && stat.rdev === statSync('/dev/null').rdev);
  } catch {
    return true;
  }
}

/** The process's own outputs. */
export const processIo: CliIo = { stdout: processOutput(1), stderr: processOutput(2) };

/** What a command group gets: the streams, and the exit status its actions set. */
export interface CliContext {
  readonly io: CliIo;
  /** The exit status `main` returns once the command finished (0 unless an action sets it). */
  status: number;
}

/** Ends a command with an exit status; its message has already been written. `main` catches it. */
export class CliExit extends Error {
  constructor(readonly status: number) {
    super(`exit status ${status}`);
  }
}

/** Exit status for a program that faulted or was rejected, or a kernel call that failed. */
export const EXIT_FAULT = 1;
/** Exit status for bad input: an unreadable or malformed file, a bad option. */
export const EXIT_INPUT = 2;

/** The class names of an error and its ancestors (checked by name so no error module must load). */
export function errorClasses(error: unknown): string[] {
  const names: string[] = [];
  for (let proto = error; proto && typeof proto === 'object'; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, 'constructor'))
      names.push((proto as { constructor: { name: string } }).constructor.name);
  }
  return names;
}

/** Errors that mean the input was bad (exit 2), as opposed to a program that faulted (exit 1). */
const INPUT_ERRORS = [
  'AssemblyError',
  'InvalidInstructionError',
  'InputError',
  'ObjectError',
  'BuildError',
  'VectorError',
  'BtfError',
  'InvalidArgumentError',
  'ExportConfigError',
  'ListenError',
];

/** Exit status for an error: 2 for bad input and for anything that is not a `TsbpfError`, else 1. */
export function exitStatusOf(error: unknown): number {
  const classes = errorClasses(error);
  return classes.some((name) => INPUT_ERRORS.includes(name)) || !(error instanceof TsbpfError)
    ? EXIT_INPUT
    : EXIT_FAULT;
}

/**
 * Read a file whole (at most {@link INPUT_LIMITS}`.object` bytes), or throw an `InputError`
 * naming it and `what` it should be.
 */
export function readBinary(file: string, what: string): Uint8Array {
  return readInputFile(file, { maxBytes: INPUT_LIMITS.object, what });
}

/** Read a text file whole (at most {@link INPUT_LIMITS}`.text` bytes), or throw an `InputError`. */
export function readSource(file: string, what: string): string {
  return readInputText(file, { maxBytes: INPUT_LIMITS.text, what });
}
