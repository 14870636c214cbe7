/**
 * The kernel/LLVM BPF assembly syntax: the parser (assembler).
 *
 * Patterns are not written here: every template of the syntax table in `llvm-print.ts` is
 * tokenized into a pattern of literal tokens and holes, so whatever either printer flavour
 * writes, this reads back. On top of the printed text it accepts what llvm-mc accepts for the
 * same instructions (decimal or hex numbers, labels as jump and call targets, `ld_pseudo`),
 * comments (`#`, `//`, `;`), assembler directives that do not emit code (`.text`, `.globl`, …),
 * and llvm-objdump or verifier-log output pasted verbatim (index and byte columns, `<sym>`
 * annotations, `(b7)` opcode prefixes, symbol and relocation lines).
 */
import { AssemblyError } from './errors.js';
import {
  type Insn,
  InvalidInstructionError,
  layout,
  makeInsn,
  type RawInsn,
  slotCount,
} from './instruction.js';
import { PARSE_BUCKETS, PUNCTUATION } from './llvm-buckets.js';
import { type Flavor, type Hole, parseHole, type Syntax, syntaxesOf } from './llvm-print.js';
import { REGISTER_COUNT } from './opcodes.js';
import { FORMS, type InsnForm } from './table.js';

/** Options of {@link assemble}. */
export interface AssembleOptions {
  /** The file name shown in error locations. */
  readonly file?: string;
  /**
   * The flavour the source is written in; default `objdump` (LLVM syntax). Both flavours accept
   * everything either printer writes except one clash: the kernel prints a plain 64-bit
   * immediate load as `r1 = 0x5`, which LLVM reads as a 32-bit mov. In `verifier` flavour a hex
   * literal there means lddw and a decimal one mov, as the kernel prints them.
   */
  readonly flavor?: Flavor;
}

// ---------------------------------------------------------------------------------------------
// Tokens.

interface Token {
  readonly kind: 'reg' | 'num' | 'ident' | 'punct';
  readonly text: string;
  /** 1-based column in the source line. */
  readonly column: number;
}

/**
 * Punctuation, longest first. The multi-character operators come from the table (`+=`, `<<=`,
 * `s>=` → `>=`: a leading `s` lexes as an identifier of its own); the single characters are
 * the syntax's brackets and separators. `llvm-buckets.ts` holds the list precomputed.
 */
export function buildPunctuation(): string[] {
  const set = new Set('=+-*/%&|^<>!()[],:#'.split(''));
  for (const form of FORMS) {
    if (!('operator' in form)) continue;
    for (const piece of form.operator.split(/\s+/)) if (piece) set.add(piece.replace(/^s(?=[^A-Za-z])/, ''));
  }
  return [...set].sort((a, b) => b.length - a.length);
}

/** `0`–`9`: `\d`. */
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHexDigit = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** What may start an identifier: a letter, `_`, `.` or `$`. */
const isIdentStart = (c: number) => isLetter(c) || c === 0x5f || c === 0x2e || c === 0x24;
/** What may continue a number or an identifier: `[\w.$]`. */
const isWordChar = (c: number) => isIdentStart(c) || isDigit(c);

/** Whether a word is a register name: `r` or `w` and a number. */
function isRegister(word: string): boolean {
  if (word.length < 2 || (word[0] !== 'r' && word[0] !== 'w')) return false;
  for (let i = 1; i < word.length; i++) if (!isDigit(word.charCodeAt(i))) return false;
  return true;
}

/**
 * Where the token at `i` of the text ends, or -1 when no token starts there: a number (`0x` and hex
 * digits, or decimal digits), an identifier (`[A-Za-z_.$][\w.$]*`, and `-name` parts:
 * `kernel-function`, the kernel's name for an unnamed kfunc, is one) or a punctuation mark (longest
 * first). The first character tells the kinds apart. Written out rather than as one regular
 * expression, which V8 compiled at every start (`tsbpf asm` reads a few lines).
 */
function tokenEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  let j = i;
  if (isDigit(c)) {
    if (c === 0x30 && (text[i + 1] === 'x' || text[i + 1] === 'X') && isHexDigit(text.charCodeAt(i + 2))) {
      for (j = i + 2; isHexDigit(text.charCodeAt(j)); j++);
    } else {
      while (isDigit(text.charCodeAt(j))) j++;
    }
    return j;
  }
  if (isIdentStart(c)) {
    for (j = i + 1; isWordChar(text.charCodeAt(j)); j++);
    while (text[j] === '-' && (isLetter(text.charCodeAt(j + 1)) || text[j + 1] === '_')) {
      for (j += 2; isWordChar(text.charCodeAt(j)); j++);
    }
    return j;
  }
  for (let p = 0; p < PUNCTUATION.length; p++) {
    if (text.startsWith(PUNCTUATION[p]!, i)) return i + PUNCTUATION[p]!.length;
  }
  return -1;
}

class LexError extends Error {
  constructor(
    readonly reason: string,
    readonly column: number,
  ) {
    super(reason);
  }
}

/** The tokens of a source line. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) break;
    const column = i + 1;
    const end = tokenEnd(text, i);
    if (end < 0) throw new LexError(`unexpected character '${text[i]}'`, column);
    const word = text.slice(i, end);
    const first = text.charCodeAt(i);
    const kind = isDigit(first) ? 'num' : isIdentStart(first) ? 'ident' : 'punct';
    if (kind !== 'punct' && end < text.length && isWordChar(text.charCodeAt(end))) {
      throw new LexError(`invalid token '${text.slice(i).match(/^[\w.$]+/)![0]}'`, column);
    }
    tokens.push({ kind: kind === 'ident' && isRegister(word) ? 'reg' : kind, text: word, column });
    i = end;
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Patterns, derived from the syntax table.

type Part = { readonly lit: string } | { readonly hole: Hole };

interface Pattern {
  readonly form: InsnForm;
  readonly syntax: Syntax;
  readonly parts: readonly Part[];
  /** Literal tokens plus constraining holes: among several matches the most specific wins. */
  readonly score: number;
}

/** The parts of the templates, by their text (`+=`, `{dst:r}`): a few dozen recur in hundreds. */
const PARTS = new Map<string, Part>();

/**
 * The parts of a template (or its first `limit`): literal tokens, and holes parsed from their
 * `{…}` text. Each one is made once: sorting the table into buckets reads the start of every
 * template when the assembler starts.
 */
function templateParts(template: string, limit = Number.POSITIVE_INFINITY): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (parts.length < limit) {
    while (template[i] === ' ') i++;
    if (i >= template.length) break;
    let end = template.indexOf('}', i) + 1;
    if (template[i] !== '{') {
      end = tokenEnd(template, i);
      if (end < 0) throw new Error(`llvm syntax table: cannot read '${template}'`);
    }
    const text = template.slice(i, end);
    let part = PARTS.get(text);
    if (!part) {
      part = text[0] === '{' ? { hole: parseHole(text.slice(1, -1)) } : { lit: text };
      PARTS.set(text, part);
    }
    parts.push(part);
    i = end;
  }
  return parts;
}

function compile(form: InsnForm, syntax: Syntax): Pattern {
  const parts = templateParts(syntax.template);
  let score = 0;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    if (!('hole' in part)) {
      score++;
      continue;
    }
    const { hole } = part;
    if (
      hole.kind === 'name' ? hole.target === 'kfunc' : hole.kind === 'num' && /^(uhex|const)/.test(hole.style)
    ) {
      score++;
    }
  }
  return { form, syntax, parts, score };
}

/**
 * The bucket a pattern or a line falls in: its first token, registers all alike, and after a
 * register the operator that follows (`<reg> +=`), so a line is tried against a few patterns.
 */
function bucketOf(first: Part | Token | undefined, second: Part | Token | undefined): string {
  const head = bucketWord(first);
  return head === '<reg>' ? `${head} ${bucketWord(second)}` : head;
}

function bucketWord(x: Part | Token | undefined): string {
  if (x === undefined) return '';
  if ('hole' in x) return x.hole.kind === 'reg' ? '<reg>' : `{${x.hole.kind}}`;
  if ('lit' in x) return isRegister(x.lit) ? '<reg>' : x.lit;
  return x.kind === 'reg' ? '<reg>' : x.text;
}

/**
 * A syntax of the table, filed by its first tokens; its pattern is compiled when a line first
 * needs it. Compiling every template costs more than filing them, and a small source needs few:
 * `tsbpf asm` starts faster for it.
 */
interface Entry {
  readonly form: InsnForm;
  /** The syntax's index in `syntaxesOf(form)`. */
  readonly syntax: number;
  /** Its place in table order: among equally specific matches, the first wins. */
  readonly order: number;
  pattern?: Pattern;
}

/** More syntaxes than any form has: {@link Entry.order} is `form index * this + syntax index`. */
const ORDER_STRIDE = 64;

/**
 * The syntax table filed as `llvm-buckets.ts` holds it: by bucket ({@link bucketOf}), and where a
 * template's first two parts take one token each (literals, registers), by bucket and the run of
 * literals that follows them (`<reg> = * ( u8 * ) (`, `if >=`), so that a line unpacks only the
 * entries whose literals its tokens have. Each file is a JSON list of form and syntax indexes, in
 * table order: `[form, syntax, form, syntax, …]`. `scripts/gen-llvm-buckets.ts` writes it; a test
 * checks it.
 */
export function buildParseBuckets(): Record<string, string> {
  const index = new Map<string, number[]>();
  const single = (part: Part | undefined) => part && ('lit' in part || part.hole.kind === 'reg');
  FORMS.forEach((form, f) => {
    const seen = new Set<string>();
    syntaxesOf(form).forEach((syntax, s) => {
      if (syntax.lossy || seen.has(`${syntax.template}|${syntax.dialect}`)) return;
      seen.add(`${syntax.template}|${syntax.dialect}`);
      const parts = templateParts(syntax.template);
      const run: string[] = [];
      if (single(parts[0]) && single(parts[1])) {
        for (const part of parts.slice(2)) {
          if (!('lit' in part)) break;
          run.push(part.lit);
        }
      }
      const key = [bucketOf(parts[0], parts[1]), ...run].join(' ');
      const entries = index.get(key) ?? [];
      entries.push(f, s);
      index.set(key, entries);
    });
  });
  return Object.fromEntries([...index].map(([key, entries]) => [key, JSON.stringify(entries)]));
}

/** The files of {@link PARSE_BUCKETS} unpacked so far. */
const unpacked = new Map<string, readonly Entry[]>();

/** The entries of one file of {@link PARSE_BUCKETS}, unpacked the first time a line needs them. */
function file(key: string): readonly Entry[] {
  let entries = unpacked.get(key);
  if (!entries) {
    const packed = Object.hasOwn(PARSE_BUCKETS, key) ? (JSON.parse(PARSE_BUCKETS[key]!) as number[]) : [];
    const list: Entry[] = [];
    for (let i = 0; i < packed.length; i += 2) {
      const form = packed[i]!;
      const syntax = packed[i + 1]!;
      list.push({ form: FORMS[form]!, syntax, order: form * ORDER_STRIDE + syntax });
    }
    entries = list;
    unpacked.set(key, entries);
  }
  return entries;
}

/**
 * The patterns of the flavour that a line starting with `tokens` may match, in table order: with
 * `narrow` only those whose literals its tokens have (enough to find a match), else its whole
 * bucket (to name what was expected when none matches).
 */
function patternsFor(tokens: readonly Token[], flavor: Flavor, narrow: boolean): Pattern[] {
  const bucket = bucketOf(tokens[0], tokens[1]);
  let entries = file(bucket);
  if (narrow) {
    // the files of the line's bucket and of each run of its tokens from the third
    let key = bucket;
    let merged = false;
    for (let t = 2; t < tokens.length; t++) {
      key += ` ${tokens[t]!.text}`;
      const more = file(key);
      if (more.length === 0) continue;
      entries = entries.length === 0 ? more : [...entries, ...more];
      merged = entries !== more;
    }
    if (merged) entries = [...entries].sort(byOrder);
  } else {
    const keys = Object.keys(PARSE_BUCKETS).filter((key) => key === bucket || key.startsWith(`${bucket} `));
    entries = keys.flatMap(file).sort(byOrder);
  }
  const patterns: Pattern[] = [];
  for (let e = 0; e < entries.length; e++) {
    const entry = entries[e]!;
    const syntax = syntaxesOf(entry.form)[entry.syntax]!;
    if (syntax.dialect !== undefined && syntax.dialect !== flavor) continue;
    entry.pattern ??= compile(entry.form, syntax);
    patterns.push(entry.pattern);
  }
  return patterns;
}

const byOrder = (a: Entry, b: Entry) => a.order - b.order;

// ---------------------------------------------------------------------------------------------
// Matching.

interface Binding {
  readonly hole: Hole;
  /** The tokens the hole took: a register, a label, or an optional sign and a number. */
  readonly tokens: readonly Token[];
}

type MatchResult =
  | { readonly ok: true; readonly bindings: readonly Binding[] }
  /** `expected`: the part that did not match, or undefined for the end of the line. */
  | { readonly ok: false; readonly at: number; readonly expected: Part | undefined };

const HEX_PREFIX = /^0x/i;

function numberValue(tokens: readonly Token[]): bigint {
  const digits = BigInt(tokens[tokens.length - 1].text);
  return tokens.length === 2 && tokens[0].text === '-' ? -digits : digits;
}

/** How many tokens from `at` a hole takes, or 0 if it does not match there. */
function holeLength(
  hole: Hole,
  tokens: readonly Token[],
  at: number,
  form: InsnForm,
  anyWidth: boolean,
): number {
  const token = tokens[at];
  if (!token) return 0;
  switch (hole.kind) {
    case 'reg':
      return token.kind === 'reg' && (anyWidth || token.text[0] === hole.width) ? 1 : 0;
    case 'name':
      return token.kind === 'ident' && (hole.target === 'helper' || token.text === 'kernel-function') ? 1 : 0;
    case 'num': {
      if (hole.style === 'label') return token.kind === 'ident' ? 1 : 0;
      if (hole.style === 'uhex') return token.kind === 'num' && HEX_PREFIX.test(token.text) ? 1 : 0;
      if (token.kind === 'ident' && (hole.style === 'rel' || hole.style === 'reldec')) return 1;
      const signed = token.kind === 'punct' && (token.text === '+' || token.text === '-');
      const length = signed ? 2 : 1;
      if (tokens[at + length - 1]?.kind !== 'num') return 0;
      if (hole.style === 'const' || hole.style === 'constdec') {
        const value = numberValue(tokens.slice(at, at + length));
        if (value !== BigInt(form.select?.value ?? 0)) return 0;
      }
      return length;
    }
  }
}

function describe(part: Part | undefined): string {
  if (part === undefined) return 'end of line';
  if ('lit' in part) return `'${part.lit}'`;
  const { hole } = part;
  if (hole.kind === 'reg') return `a register (${hole.width}0-${hole.width}10)`;
  if (hole.kind === 'name') return hole.target === 'kfunc' ? "'kernel-function'" : 'a helper name';
  if (hole.style === 'label') return 'a label';
  return hole.style === 'rel' || hole.style === 'reldec' ? 'an offset or a label' : 'a number';
}

/**
 * Whether a pattern matches the tokens, as {@link match} says, without building the match: most
 * of the patterns a line is tried against do not.
 */
function fits(pattern: Pattern, tokens: readonly Token[]): boolean {
  const { parts } = pattern;
  let at = 0;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    if ('lit' in part) {
      if (tokens[at]?.text !== part.lit) return false;
      at++;
      continue;
    }
    const length = holeLength(part.hole, tokens, at, pattern.form, false);
    if (length === 0) return false;
    at += length;
  }
  return at === tokens.length;
}

function match(pattern: Pattern, tokens: readonly Token[], anyWidth: boolean): MatchResult {
  const bindings: Binding[] = [];
  let at = 0;
  const { parts } = pattern;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    if ('lit' in part) {
      if (tokens[at]?.text !== part.lit) return { ok: false, at, expected: part };
      at++;
      continue;
    }
    const length = holeLength(part.hole, tokens, at, pattern.form, anyWidth);
    if (length === 0) return { ok: false, at, expected: part };
    bindings.push({ hole: part.hole, tokens: tokens.slice(at, at + length) });
    at += length;
  }
  if (at < tokens.length) return { ok: false, at, expected: undefined };
  return { ok: true, bindings };
}

// ---------------------------------------------------------------------------------------------
// Assembling.

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A label reference waiting for the label's slot. */
interface Reference {
  readonly label: string;
  readonly field: 'off' | 'imm';
  readonly column: number;
}

/** An instruction after the first pass: every field known except label targets. */
interface Pending {
  readonly form: InsnForm;
  readonly raw: Mutable<RawInsn>;
  imm2: number;
  readonly slot: number;
  readonly line: number;
  readonly column: number;
  readonly references: Reference[];
}

const UINT16 = [0n, 2n ** 16n - 1n] as const;
const INT16 = [-(2n ** 15n), 2n ** 15n - 1n] as const;
const INT32 = [-(2n ** 31n), 2n ** 31n - 1n] as const;
/** A 32-bit immediate may be written signed or as its unsigned bits, as llvm-mc allows. */
const IMM32 = [-(2n ** 31n), 2n ** 32n - 1n] as const;
const IMM64 = [-(2n ** 63n), 2n ** 64n - 1n] as const;

/** Directives of llvm-mc / clang -S output that emit no instructions. */
const IGNORED_DIRECTIVES = new Set([
  'text',
  'section',
  'globl',
  'global',
  'local',
  'weak',
  'hidden',
  'type',
  'size',
  'p2align',
  'align',
  'file',
  'loc',
  'ident',
  'addrsig',
  'addrsig_sym',
]);

/**
 * A pattern for whole lines, and strings of which every line it matches has one: the pattern runs
 * only on the lines that have one (V8 compiles a regular expression the first time it runs, at
 * every start, which cost more than assembling a small source).
 */
interface LinePattern {
  readonly needles: readonly string[];
  readonly pattern: RegExp;
}

/** The match of a line pattern, or null. */
function execLine({ needles, pattern }: LinePattern, text: string): RegExpExecArray | null {
  for (let n = 0; n < needles.length; n++) if (text.includes(needles[n]!)) return pattern.exec(text);
  return null;
}

const OBJDUMP_NOISE: readonly LinePattern[] = [
  { needles: ['file format '], pattern: /^\S.*:\s+file format / },
  { needles: ['Disassembly of section '], pattern: /^Disassembly of section / },
  { needles: ['...'], pattern: /^\s*\.\.\.\s*$/ },
  { needles: ['R_BPF_'], pattern: /^\s*[0-9a-f]+:\s+R_BPF_\w+/ },
];
const OBJDUMP_SYMBOL: LinePattern = {
  needles: ['>:'],
  pattern: /^[0-9a-f]{8,16} <([A-Za-z_.$][\w.$]*)>:\s*$/,
};
const OBJDUMP_COLUMNS: LinePattern = {
  needles: [':'],
  pattern: /^\s*\d+:\s+(?:[0-9a-f]{2} ){7}[0-9a-f]{2}(?: (?:[0-9a-f]{2} ){7}[0-9a-f]{2})?(?=\s)/,
};
const VERIFIER_COLUMNS: LinePattern = {
  needles: [':', ')'],
  pattern: /^\s*(?:\d+:\s+)?\([0-9a-f]{2}\)\s|^\s*\d+:\s/,
};
const LABEL: LinePattern = { needles: [':'], pattern: /^\s*([A-Za-z_.$][\w.$]*)\s*:/ };
const DIRECTIVE: LinePattern = { needles: ['.'], pattern: /^\s*\.([A-Za-z_]\w*)(?=\s|$)/ };
/** llvm-objdump's ` <LBB0_2>` after a jump target. */
const SYMBOL_ANNOTATION: LinePattern = { needles: ['<'], pattern: /\s<[^<>]*>\s*$/ };

/** Blank out a prefix so that columns still count from the start of the original line. */
function blank(text: string, length: number): string {
  return ' '.repeat(length) + text.slice(length);
}

/** Cut a trailing comment: `//` or `;` anywhere, `#` at the start or after whitespace. */
function stripComment(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (
      c === ';' ||
      (c === '/' && text[i + 1] === '/') ||
      (c === '#' && (i === 0 || /\s/.test(text[i - 1])))
    ) {
      return text.slice(0, i);
    }
  }
  return text;
}

/**
 * Assemble kernel/LLVM syntax into instructions, laid out from slot 0. Every problem is an
 * {@link AssemblyError} with the file, line and column.
 *
 * @example assemble('r0 = 0x5\nif r1 > 5 goto done\nr0 += r1\ndone:\nexit')
 */
export function assemble(source: string, options: AssembleOptions = {}): Insn[] {
  const flavor = options.flavor ?? 'objdump';
  const pending: Pending[] = [];
  const labels = new Map<string, { slot: number; line: number }>();
  let slot = 0;
  const lines = source.split(/\r?\n/);
  const fail = (reason: string, line: number, column: number, cause?: unknown): never => {
    throw new AssemblyError(
      reason,
      { file: options.file, line, column },
      lines[line - 1] ?? '',
      cause ? { cause } : undefined,
    );
  };
  const define = (name: string, line: number, column: number) => {
    const previous = labels.get(name);
    if (previous) fail(`duplicate label '${name}' (first defined on line ${previous.line})`, line, column);
    labels.set(name, { slot, line });
  };

  // Indexed loops on this path: every iterator step allocates, and `tsbpf asm` starts faster without.
  nextLine: for (let index = 0; index < lines.length; index++) {
    const original = lines[index]!;
    const line = index + 1;
    for (let n = 0; n < OBJDUMP_NOISE.length; n++)
      if (execLine(OBJDUMP_NOISE[n]!, original)) continue nextLine;
    const symbol = execLine(OBJDUMP_SYMBOL, original);
    if (symbol) {
      // llvm-objdump's `0000000000000078 <bar>:` header names the next instruction.
      if (!labels.has(symbol[1])) define(symbol[1], line, original.indexOf('<') + 2);
      continue;
    }
    let text = original;
    const columns = execLine(OBJDUMP_COLUMNS, text) ?? execLine(VERIFIER_COLUMNS, text);
    if (columns) text = blank(text, columns[0].length);
    text = stripComment(text);
    if (execLine(SYMBOL_ANNOTATION, text)) text = text.replace(SYMBOL_ANNOTATION.pattern, '');
    for (let label = execLine(LABEL, text); label; label = execLine(LABEL, text)) {
      define(label[1], line, label[0].indexOf(label[1]) + 1);
      text = blank(text, label[0].length);
    }
    const directive = execLine(DIRECTIVE, text);
    if (directive) {
      if (IGNORED_DIRECTIVES.has(directive[1]) || directive[1].startsWith('cfi_')) continue;
      fail(`unsupported directive '.${directive[1]}'`, line, directive[0].indexOf('.') + 1);
    }
    let tokens: Token[];
    try {
      tokens = tokenize(text);
    } catch (error) {
      if (error instanceof LexError) fail(error.reason, line, error.column);
      throw error;
    }
    if (tokens.length === 0) continue;
    const insn = parseInstruction(tokens, flavor, (reason, column) => fail(reason, line, column));
    pending.push({
      form: insn.form,
      raw: insn.raw,
      imm2: insn.imm2,
      references: insn.references,
      slot,
      line,
      column: tokens[0].column,
    });
    slot += slotCount(insn.form);
  }

  return layout(
    pending.map((p) => {
      for (let r = 0; r < p.references.length; r++) {
        const ref = p.references[r]!;
        const target = labels.get(ref.label);
        if (!target) return fail(`undefined label '${ref.label}'`, p.line, ref.column);
        const delta = BigInt(target.slot - (p.slot + 1));
        const [min, max] = ref.field === 'off' ? INT16 : INT32;
        if (delta < min || delta > max) {
          fail(
            `jump to '${ref.label}' is ${delta} slots away, outside the ${ref.field === 'off' ? '16' : '32'}-bit offset range (${min}..${max})`,
            p.line,
            ref.column,
          );
        }
        p.raw[ref.field] = Number(delta);
      }
      try {
        return makeInsn(p.raw, p.slot, p.imm2);
      } catch (error) {
        if (error instanceof InvalidInstructionError) {
          return fail(`invalid instruction: ${error.message}`, p.line, p.column, error);
        }
        throw error;
      }
    }),
  );
}

type Fail = (reason: string, column: number) => never;

/** The most specific of the patterns that `tokens` match (the first among equals). */
function bestMatch(
  patterns: readonly Pattern[],
  tokens: readonly Token[],
): { pattern: Pattern; bindings: readonly Binding[] } | undefined {
  let best: { pattern: Pattern; bindings: readonly Binding[] } | undefined;
  for (let p = 0; p < patterns.length; p++) {
    const pattern = patterns[p]!;
    if (!fits(pattern, tokens)) continue;
    const result = match(pattern, tokens, false);
    if (result.ok && (!best || pattern.score > best.pattern.score))
      best = { pattern, bindings: result.bindings };
  }
  return best;
}

function parseInstruction(
  tokens: readonly Token[],
  flavor: Flavor,
  fail: Fail,
): Pick<Pending, 'form' | 'raw' | 'imm2' | 'references'> {
  const narrowed = bestMatch(patternsFor(tokens, flavor, true), tokens);
  if (narrowed) return bind(narrowed.pattern, narrowed.bindings, fail);
  const candidates = patternsFor(tokens, flavor, false);
  if (candidates.length === 0) {
    const [first, second] = tokens;
    if (first.kind === 'ident') return fail(`unknown instruction '${first.text}'`, first.column);
    if (first.kind !== 'reg') return fail(`unexpected '${first.text}'`, first.column);
    return second
      ? fail(`syntax error: unexpected '${second.text}' after a register`, second.column)
      : fail('syntax error: unexpected end of line after a register', first.column + first.text.length);
  }
  let furthest = -1;
  let expected = new Set<Part | undefined>();
  for (const pattern of candidates) {
    const result = match(pattern, tokens, false);
    if (result.ok) continue;
    if (result.at > furthest) {
      furthest = result.at;
      expected = new Set([result.expected]);
    } else if (result.at === furthest) {
      expected.add(result.expected);
    }
  }
  // No match: say why.
  // Would it match with other register widths? Then say so rather than "syntax error". The
  // reading with the fewest mismatches wins, and among those the one whose first mismatch comes
  // last: in `w0 += r1` the destination sets the width and `r1` is the odd one out.
  let blame: { count: number; token: Token; width: 'r' | 'w' } | undefined;
  for (const pattern of candidates) {
    const result = match(pattern, tokens, true);
    if (!result.ok) continue;
    const wrong = result.bindings.flatMap(({ hole, tokens: taken }) =>
      hole.kind === 'reg' && taken[0].text[0] !== hole.width ? [{ token: taken[0], width: hole.width }] : [],
    );
    const first = wrong[0];
    if (!first) continue;
    if (
      !blame ||
      wrong.length < blame.count ||
      (wrong.length === blame.count && first.token.column > blame.token.column)
    ) {
      blame = { count: wrong.length, ...first };
    }
  }
  if (blame) {
    const { token, width } = blame;
    fail(
      `register width mismatch: '${token.text}' where the ${width === 'w' ? '32' : '64'}-bit ${width}${token.text.slice(1)} is expected`,
      token.column,
    );
  }
  const token = tokens[furthest];
  const list = [...new Set([...expected].map(describe))].slice(0, 4).join(' or ');
  return token
    ? fail(`syntax error: unexpected '${token.text}' (expected ${list})`, token.column)
    : fail(
        `syntax error: unexpected end of line (expected ${list})`,
        tokens[tokens.length - 1].column + tokens[tokens.length - 1].text.length,
      );
}

function inRange(
  value: bigint,
  [min, max]: readonly [bigint, bigint],
  what: string,
  token: Token,
  fail: Fail,
) {
  if (value < min || value > max) fail(`${what} ${token.text} out of range (${min}..${max})`, token.column);
}

/** Turn a match into raw fields, checking registers and ranges. */
function bind(
  pattern: Pattern,
  bindings: readonly Binding[],
  fail: Fail,
): Pick<Pending, 'form' | 'raw' | 'imm2' | 'references'> {
  const { form } = pattern;
  const raw: Mutable<RawInsn> = { opcode: form.opcode, dst: 0, src: 0, off: 0, imm: 0 };
  if (form.select) raw[form.select.field] = form.select.value;
  let imm2 = 0;
  const references: Reference[] = [];
  // the register token each register field took first (a form may name one twice: `r0 = -r0`)
  const registers: { dst?: Token; src?: Token } = {};
  for (let b = 0; b < bindings.length; b++) {
    const { hole, tokens } = bindings[b]!;
    const first = tokens[0];
    const last = tokens[tokens.length - 1];
    if (hole.kind === 'name') continue;
    if (hole.kind === 'reg') {
      const number = Number(first.text.slice(1));
      if (number >= REGISTER_COUNT) fail(`invalid register '${first.text}' (r0-r10, w0-w10)`, first.column);
      const previous = registers[hole.field];
      if (previous && previous.text.slice(1) !== first.text.slice(1)) {
        fail(`'${first.text}' must be the same register as '${previous.text}'`, first.column);
      }
      registers[hole.field] = first;
      raw[hole.field] = number;
      continue;
    }
    if (hole.field === 'src') continue; // a pseudo source constant, already checked by the match
    if (first.kind === 'ident') {
      references.push({
        label: first.text,
        field: hole.field === 'off' ? 'off' : 'imm',
        column: first.column,
      });
      continue;
    }
    const value = numberValue(tokens);
    const shown = { kind: last.kind, text: tokens.map((t) => t.text).join(''), column: first.column };
    if (hole.field === 'value') {
      inRange(value, IMM64, 'immediate', shown, fail);
      raw.imm = Number(BigInt.asIntN(32, value));
      imm2 = Number(BigInt.asIntN(32, value >> 32n));
    } else if (hole.field === 'immhi' || hole.field === 'immlo') {
      inRange(value, UINT16, 'address space', shown, fail);
      raw.imm =
        hole.field === 'immhi'
          ? (raw.imm & 0xffff) | (Number(value) << 16)
          : (raw.imm & ~0xffff) | Number(value);
    } else if (hole.field === 'off') {
      inRange(value, INT16, 'offset', shown, fail);
      raw.off = Number(value);
    } else {
      // A relative target in imm (gotol, call pc+N, subprog[+N]) is a signed slot count.
      const relative = hole.style === 'rel' || hole.style === 'reldec';
      inRange(value, relative ? INT32 : IMM32, relative ? 'offset' : 'immediate', shown, fail);
      const bits = Number(BigInt.asIntN(32, value));
      if (hole.field === 'imm') raw.imm = bits;
      else imm2 = bits;
    }
  }
  return { form, raw, imm2, references };
}
