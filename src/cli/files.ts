/**
 * Reading the CLI's input files with a size limit, so `/dev/zero`, `/dev/urandom`, a FIFO or a
 * 1 GB file is a clear error instead of a hang or a process grown to gigabytes.
 *
 * Every command that reads a file goes through {@link readInputFile}. Regular files are checked
 * against the limit before a byte is read; other files (devices, `/dev/stdin`, a shell's
 * `<(…)` pipe) are read until end of file or one byte past the limit. A named FIFO is refused:
 * opened for reading it blocks until some writer comes, which a mistyped path never will.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { TsbpfError } from '../errors.js';

/** A usage or input problem the CLI reports with exit status 2. */
export class InputError extends TsbpfError {
  override name = 'InputError';
}

/** Size limits by kind of input (the largest real inputs are a few MB: vmlinux BTF is ~6 MB). */
export const INPUT_LIMITS = {
  /** ELF objects, raw BTF (vmlinux included), raw bytecode. */
  object: 64 << 20,
  /** Assembly, C sources, `.data` files, test vectors. */
  text: 16 << 20,
  /** Packet captures. */
  capture: 128 << 20,
  /** A context struct for a test run (`--ctx`). */
  context: 64 << 10,
} as const;

export interface ReadInputOptions {
  /** Refuse files larger than this. */
  readonly maxBytes: number;
  /** What the file should be, for messages: "assembly source", "BPF object"… */
  readonly what: string;
  /** Accept an empty file (default: refuse it, "is empty"). */
  readonly allowEmpty?: boolean;
}

const MiB = (n: number) => (n >= 1 << 20 ? `${Math.round(n / (1 << 20))} MiB` : `${n} bytes`);

/** Paths of pipes the shell handed us (`<(…)`, `/dev/stdin`): read them, blocking, to the limit. */
const isInheritedPipe = (path: string) => /^\/(dev|proc\/self)\/(fd\/\d+|stdin)$/.test(path);

/**
 * Open `path` to read `what` from it, refusing what no reader should wait on or take for a file: a
 * missing file, a directory, a named FIFO or socket (the shell's own pipes excepted). The caller
 * closes the descriptor.
 */
function openChecked(path: string, what: string): { fd: number; stat: Stats } {
  let fd: number;
  try {
    // Non-blocking open: a FIFO without a writer must not hang the open itself.
    fd = openSync(path, isInheritedPipe(path) ? 'r' : fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw new InputError(
      `${path}: cannot read ${article(what)}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      { cause: error },
    );
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new InputError(`${path}: is a directory, not ${article(what)}`);
    if ((stat.isFIFO() || stat.isSocket()) && !isInheritedPipe(path))
      throw new InputError(
        `${path}: is a ${stat.isFIFO() ? 'FIFO' : 'socket'}, not a regular file (to read a stream, redirect it: ${'<'} ${path} and /dev/stdin)`,
      );
    return { fd, stat };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** `readSync` with its failures as {@link InputError}s naming the file. */
function readChecked(
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  path: string,
  what: string,
): number {
  try {
    return readSync(fd, buffer, offset, length, null);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN')
      throw new InputError(`${path}: nothing to read (a terminal or a device that waits for input)`);
    throw new InputError(`${path}: cannot read ${what}: ${code ?? error}`, { cause: error });
  }
}

/**
 * The bytes of `path`, at most `maxBytes` of them. Throws {@link InputError} (exit status 2)
 * naming the file when it cannot be read, is a directory or a named FIFO, is larger than the
 * limit, or is empty (unless `allowEmpty`).
 */
export function readInputFile(path: string, options: ReadInputOptions): Uint8Array {
  const { maxBytes, what } = options;
  const { fd, stat } = openChecked(path, what);
  try {
    if (stat.isFile() && stat.size > maxBytes)
      throw new InputError(
        `${path}: ${MiB(stat.size)} is larger than the ${MiB(maxBytes)} limit for ${article(what)}`,
      );
    // Sizes of regular files can lie (sysfs, procfs say 4096 or 0), so read to the end either way;
    // a true size is one read into a buffer of that size (and one that finds the end): a 1 MiB
    // buffer for a small file cost milliseconds of first-touched pages.
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const expected = !stat.isFile() ? 1 << 20 : total < stat.size ? stat.size - total + 1 : 1 << 16;
      const chunk = new Uint8Array(Math.min(expected, 1 << 20, maxBytes + 1 - total));
      const n = readChecked(fd, chunk, 0, chunk.length, path, what);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes)
        throw new InputError(
          `${path}: larger than the ${MiB(maxBytes)} limit for ${article(what)} (${stat.isFile() ? 'file' : 'stream'} read stopped there)`,
        );
    }
    if (total === 0 && !options.allowEmpty)
      throw new InputError(`${path}: is empty (expected ${article(what)})`);
    if (chunks.length === 1) return chunks[0];
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** `readInputFile` decoded as UTF-8 text. */
export function readInputText(path: string, options: ReadInputOptions): string {
  return new TextDecoder().decode(readInputFile(path, options));
}

/** Whether bytes start with the ELF magic. */
export function isElfBytes(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46
  );
}

/**
 * An ELF object's bytes, or an {@link InputError} "not an ELF object" naming the file (a C
 * source, an empty file or a JPEG where an object belongs).
 */
export function readObjectFile(path: string): Uint8Array {
  const bytes = readInputFile(path, { maxBytes: INPUT_LIMITS.object, what: 'BPF object', allowEmpty: true });
  if (!isElfBytes(bytes)) throw new InputError(`${path}: not an ELF object (${describeStart(bytes)})`);
  return bytes;
}

/** The first bytes of a file without reading the rest: for "is this an ELF object?". */
export function readFileHead(path: string, length: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch {
    return new Uint8Array(0);
  }
  try {
    // Only regular files: reading a pipe's head would consume it.
    if (!fstatSync(fd).isFile()) return new Uint8Array(0);
    const head = new Uint8Array(length);
    return head.subarray(0, readSync(fd, head, 0, length, 0));
  } catch {
    return new Uint8Array(0);
  } finally {
    closeSync(fd);
  }
}

/** What a file that is not an object starts with, in words. */
function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'it is a JPEG image';
  const head = bytes.subarray(0, 32);
  const printable = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f));
  const text = new TextDecoder().decode(head);
  if (printable)
    return `it starts with text: '${text.split('\n')[0].slice(0, 40)}'; compile C with \`tsbpf build\``;
  const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `it starts with ${hex}, not 7f 45 4c 46`;
}

const article = (what: string) => (/^[aeiou]/i.test(what) ? `an ${what}` : `a ${what}`);

/** An input file opened for streaming ({@link openInputStream}). */
export interface InputStream {
  /** Fill `buffer[offset, offset + length)`; bytes read, 0 at the end. */
  read(buffer: Uint8Array, offset: number, length: number): number;
  /** Bytes read so far. */
  position(): number;
  /** The file's size, when it is a regular file. */
  readonly size: number | undefined;
  close(): void;
}

/**
 * Open `path` to read it in pieces (a capture of any size in bounded memory), with
 * {@link readInputFile}'s refusals: a missing file, a directory, a named FIFO. Read errors are
 * {@link InputError}s naming the file.
 */
export function openInputStream(path: string, what: string): InputStream {
  const { fd, stat } = openChecked(path, what);
  const size = stat.isFile() ? stat.size : undefined;
  let position = 0;
  return {
    size,
    position: () => position,
    read(buffer, offset, length) {
      const n = readChecked(fd, buffer, offset, length, path, what);
      position += n;
      return n;
    },
    close() {
      closeSync(fd);
    },
  };
}
