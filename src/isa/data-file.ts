/**
 * The `.data` test-vector files of bpf_conformance: a program (`-- asm` or `-- raw`), optional
 * input memory (`-- mem`), and the expected `r0` (`-- result`) or an expected failure
 * (`-- error`). The grammar is upstream's parser (`lib/src/bpf_test_parser.cc`) as
 * `shared/conformance/FORMAT.md` §2 describes it; the two places we part from it are marked.
 *
 * Text in, values out: no file system here, so this runs in a browser too.
 */

import { assembleConformance } from './conformance-asm.js';
import { AssemblyError } from './errors.js';
import { encode } from './instruction.js';
import { SLOT_SIZE } from './opcodes.js';

/** A test vector ready to run. */
export interface ConformanceTest {
  readonly kind: 'test';
  /** The file name, as given to {@link parseDataFile}. */
  readonly name: string;
  /** The program bytes: from `-- raw` if the file has one, else the assembled `-- asm`. */
  readonly program: Uint8Array;
  /** Where {@link program} came from; `raw-bytes` is the `unused-*` files' byte-per-token layout. */
  readonly programSource: 'asm' | 'raw-words' | 'raw-bytes';
  /** The `-- asm` section, comments removed, one instruction or label per line. */
  readonly asm: string;
  /** The `.data` line number of each line of {@link asm}, for {@link assembleConformance}'s `lines`. */
  readonly asmLines: readonly number[];
  /** The input memory (`-- mem`): r1 points at a fresh copy, r2 holds its length. */
  readonly mem: Uint8Array | undefined;
  /** The expected 64-bit r0 (`-- result`). */
  readonly result: bigint | undefined;
  /**
   * Set when the program must be rejected (`-- error`): upstream's expected message, which is
   * runtime-specific, so a runner should only check that the program failed. An `-- error`
   * section with no text gives `''`.
   */
  readonly expectedError: string | undefined;
  /** `-- no register offset`: a harness must not rebase register numbers (callx names one). */
  readonly noRegisterOffset: boolean;
}

/** A file upstream's runner skips, and why. */
export interface SkippedTest {
  readonly kind: 'skipped';
  readonly name: string;
  readonly reason: string;
}

/** What {@link parseDataFile} makes of a `.data` file. */
export type DataFile = ConformanceTest | SkippedTest;

type Section = 'ignore' | 'asm' | 'result' | 'mem' | 'raw' | 'error';

/**
 * Directives in upstream's matching order: a line containing `--` is a directive, and the first
 * of these substrings it contains picks the section (so `-- no register offset` must not be
 * tested for `result` first, and ` c` catches `-- c` only after the others failed).
 */
const DIRECTIVES: ReadonlyArray<readonly [string, Section]> = [
  ['asm', 'asm'],
  ['result', 'result'],
  ['mem', 'mem'],
  ['raw', 'raw'],
  ['no register offset', 'ignore'],
  [' c', 'ignore'],
  ['error', 'error'],
];

/** A non-empty line of a section and where it came from. */
interface SourceLine {
  readonly text: string;
  readonly line: number;
}

const BYTE_TOKEN = /^[0-9a-fA-F]{2}$/;

/**
 * Parse a bpf_conformance `.data` file.
 *
 * Returns `kind: 'skipped'` where upstream's runner skips the file: an unknown directive, no
 * result and no error, or no instructions. Two deliberate differences from upstream, both only
 * reached by `tests/negative/unused-*.data`:
 * - An `-- error` section with no text still means "must be rejected" (upstream needs text and
 *   so skips those 45 files).
 * - A `-- raw` section laid out as 8 two-digit hex bytes per line is read as bytes (upstream
 *   reads each byte as a 64-bit word).
 *
 * @param name the file name, used in error locations and the result.
 * @throws {AssemblyError} for assembly errors and malformed sections, located in the `.data` file.
 */
export function parseDataFile(text: string, name = '<input>'): DataFile {
  const sections: Record<Exclude<Section, 'ignore'>, SourceLine[]> = {
    asm: [],
    result: [],
    mem: [],
    raw: [],
    error: [],
  };
  let errorDirective = false;
  let noRegisterOffset = false;
  let section: Section = 'ignore';

  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    if (line.includes('--')) {
      const directive = DIRECTIVES.find(([key]) => line.includes(key));
      if (!directive) return skipped(name, `unknown directive "${line.trim()}" at line ${index + 1}`);
      section = directive[1];
      if (section === 'error') errorDirective = true;
      if (directive[0] === 'no register offset') noRegisterOffset = true;
      continue;
    }
    // Upstream skips only truly empty lines; a blank-looking line would otherwise become a
    // result or error text, which no file relies on.
    if (line.trim() === '' || section === 'ignore') continue;
    sections[section].push({ text: line, line: index + 1 });
  }

  const resultLine = sections.result.at(-1);
  const errorLine = sections.error.at(-1);
  if (!resultLine && !errorDirective) return skipped(name, 'no result and no error');
  const result = resultLine ? parseResult(resultLine, name) : undefined;
  const expectedError = errorDirective ? (errorLine?.text.trim() ?? '') : undefined;

  const asm = sections.asm.map((l) => `${l.text}\n`).join('');
  const asmLines = sections.asm.map((l) => l.line);
  let program: Uint8Array;
  let programSource: ConformanceTest['programSource'];
  if (sections.raw.length > 0) {
    const bytes = isByteLayout(sections.raw);
    program = bytes ? parseRawBytes(sections.raw, name) : parseRawWords(sections.raw, name);
    programSource = bytes ? 'raw-bytes' : 'raw-words';
  } else {
    program = encode(assembleConformance(asm, { file: name, lines: asmLines }));
    programSource = 'asm';
  }
  if (program.length === 0) return skipped(name, 'no instructions');

  return {
    kind: 'test',
    name,
    program,
    programSource,
    asm,
    asmLines,
    mem: sections.mem.length > 0 ? parseMem(sections.mem, name) : undefined,
    result,
    expectedError,
    noRegisterOffset,
  };
}

function skipped(name: string, reason: string): SkippedTest {
  return { kind: 'skipped', name, reason };
}

function fail(reason: string, source: SourceLine, name: string, column = 1): never {
  throw new AssemblyError(reason, { file: name, line: source.line, column }, source.text);
}

/** The whitespace-separated tokens of section lines, each with its line and 1-based column. */
function* tokens(
  lines: readonly SourceLine[],
): Generator<{ text: string; source: SourceLine; column: number }> {
  for (const source of lines) {
    for (const match of source.text.matchAll(/\S+/g)) {
      yield { text: match[0], source, column: (match.index ?? 0) + 1 };
    }
  }
}

/** Hex if the text contains `0x` (case-insensitive digits), else unsigned decimal, as upstream's `stoull`. */
function parseResult(source: SourceLine, name: string): bigint {
  const text = source.text.trim();
  let value: bigint | undefined;
  if (text.includes('0x')) {
    if (/^0x[0-9a-fA-F]+$/.test(text)) value = BigInt(text);
  } else if (/^-?[0-9]+$/.test(text)) {
    value = BigInt(text);
    // stoull accepts a minus sign and wraps, so `-1` means 0xffffffffffffffff.
    if (value < 0n && value >= -(2n ** 64n)) value = BigInt.asUintN(64, value);
  }
  if (value === undefined || value < 0n || value >= 2n ** 64n) {
    return fail(`Invalid result: ${text}`, source, name);
  }
  return value;
}

/** Memory bytes: hex tokens (`aa`, `FF`), one byte each, across any number of lines. */
function parseMem(lines: readonly SourceLine[], name: string): Uint8Array {
  const bytes: number[] = [];
  for (const token of tokens(lines)) {
    if (!/^(0x)?[0-9a-fA-F]{1,2}$/.test(token.text)) {
      fail(`Invalid memory byte: ${token.text}`, token.source, name, token.column);
    }
    bytes.push(Number.parseInt(token.text, 16));
  }
  return Uint8Array.from(bytes);
}

/**
 * Whether a raw section is the `unused-*` files' layout: every line 8 two-digit hex tokens, one
 * instruction per line. Words are written with `0x` or as decimal numbers, so a line of exactly
 * eight two-character tokens (`07 00 01 00 01 00 00 00`) is not a plausible word list.
 */
function isByteLayout(lines: readonly SourceLine[]): boolean {
  return lines.every((line) => {
    const parts = line.text.trim().split(/\s+/);
    return parts.length === SLOT_SIZE && parts.every((part) => BYTE_TOKEN.test(part));
  });
}

function parseRawBytes(lines: readonly SourceLine[], name: string): Uint8Array {
  const bytes: number[] = [];
  for (const token of tokens(lines)) {
    if (!BYTE_TOKEN.test(token.text))
      fail(`Invalid raw byte: ${token.text}`, token.source, name, token.column);
    bytes.push(Number.parseInt(token.text, 16));
  }
  return Uint8Array.from(bytes);
}

/** 64-bit instruction words, `0x` hex or decimal; each is one slot read as a little-endian u64. */
function parseRawWords(lines: readonly SourceLine[], name: string): Uint8Array {
  const words: bigint[] = [];
  for (const token of tokens(lines)) {
    const valid = /^0x[0-9a-fA-F]+$/.test(token.text) || /^[0-9]+$/.test(token.text);
    const word = valid ? BigInt(token.text) : undefined;
    if (word === undefined || word >= 2n ** 64n) {
      fail(`Invalid instruction word: ${token.text}`, token.source, name, token.column);
    }
    words.push(word);
  }
  const bytes = new Uint8Array(words.length * SLOT_SIZE);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => {
    view.setBigUint64(i * SLOT_SIZE, word, true);
  });
  return bytes;
}
