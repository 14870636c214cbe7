/**
 * The assembly dialect of the bpf_conformance test vectors (`mov32 %r0, 1`, `ldxw %r0, [%r1+4]`,
 * `jeq %r1, 2, +3`, `lock fetch add [%r1], %r2`), as `shared/conformance/FORMAT.md` §3 describes
 * the upstream assembler (github.com/Alan-Jowett/bpf_conformance, `lib/src/bpf_assembler.cc`).
 *
 * Names and encodings come from the opcode table: an instruction's mnemonic picks its forms in
 * {@link FORMS_BY_MNEMONIC}, the form's `select` and `rules` fix the remaining fields, and
 * {@link makeInsn} validates the result exactly as the decoder would.
 *
 * The error texts are the upstream assembler's ("Invalid register: %r50", "Invalid label: x"),
 * so the negative test vectors' expectations hold; the location comes from {@link AssemblyError}.
 */
import { TsbpfError } from '../errors.js';
import { AssemblyError } from './errors.js';
import {
  type Insn,
  InvalidInstructionError,
  layout,
  makeInsn,
  type RawInsn,
  slotCount,
} from './instruction.js';
import { FRAME_POINTER, PseudoSrc } from './opcodes.js';
import { FORMS_BY_MNEMONIC, type InsnForm } from './table.js';

/** Options of {@link assembleConformance}. */
export interface ConformanceAsmOptions {
  /** The file name shown in error locations. */
  readonly file?: string;
  /**
   * The line number to report for each line of the source (index 0 is the first line), for
   * sources cut out of a larger file such as a `.data` file's `-- asm` section. Lines past the
   * end of the list, or every line without it, count from 1.
   */
  readonly lines?: readonly number[];
}

/**
 * Whether the bpf_conformance dialect can write this form. It has no syntax for the legacy
 * packet loads, for load-acquire/store-release (since 6.15), or for `lddw` with a pseudo source
 * (map fd, map value, …): upstream's `lddw` only loads a plain 64-bit immediate.
 */
export function hasConformanceSyntax(form: InsnForm): boolean {
  switch (form.kind) {
    case 'ldabs':
    case 'ldind':
      return false;
    case 'atomic':
      return form.op !== 'load_acquire' && form.op !== 'store_release';
    case 'lddw':
      return form.pseudo === PseudoSrc.IMM;
    case 'alu':
      return form.op !== 'addr_space_cast';
    default:
      return true;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One whitespace-separated token and the 1-based column it starts at. */
interface Token {
  readonly text: string;
  readonly column: number;
}

/** An instruction after the first pass: fields known except a jump target named by a label. */
interface Pending {
  readonly form: InsnForm;
  readonly raw: Mutable<RawInsn>;
  readonly imm2: number;
  readonly slot: number;
  readonly line: number;
  readonly column: number;
  readonly sourceLine: string;
  readonly target?: { readonly label: string; readonly field: 'off' | 'imm'; readonly column: number };
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const UINT32_MAX = 2n ** 32n - 1n;

/**
 * Parse an integer the way the dialect writes them: `0x` hex (optionally signed) or signed
 * decimal. Returns the value and whether it was hex, or undefined for anything else; upstream
 * leans on `stoll`, which would also read a prefix such as `12abc`, and we refuse that instead.
 */
function parseInteger(text: string): { value: bigint; hex: boolean } | undefined {
  const hex = /^([+-]?)0x([0-9a-fA-F]+)$/.exec(text);
  if (hex) {
    const magnitude = BigInt(`0x${hex[2]}`);
    return { value: hex[1] === '-' ? -magnitude : magnitude, hex: true };
  }
  if (/^[+-]?[0-9]+$/.test(text)) return { value: BigInt(text), hex: false };
  return undefined;
}

/** Formats a register as the dialect writes it. */
function reg(n: number): string {
  return `%r${n}`;
}

/**
 * One line being assembled: its tokens and a way to fail at a column. Keeping the line's
 * location here lets every operand parser report where it stopped without threading it through.
 */
class Line {
  constructor(
    readonly text: string,
    readonly line: number,
    readonly file: string | undefined,
  ) {}

  fail(reason: string, column: number, cause?: unknown): never {
    throw new AssemblyError(
      reason,
      { file: this.file, line: this.line, column },
      this.text,
      cause === undefined ? undefined : { cause },
    );
  }

  register(token: Token, text = token.text): number {
    const match = /^%r(0|[1-9][0-9]*)$/.exec(text);
    const n = match ? Number(match[1]) : Number.NaN;
    if (n <= FRAME_POINTER) return n;
    // Upstream encodes %r11–%r15 so negative tests can build invalid programs; an Insn can only
    // hold r0–r10 (the table rejects the rest), so the assembler is where we refuse them.
    if (n <= 15) this.fail(`Invalid register: ${text} (only %r0–%r10 exist)`, token.column);
    return this.fail(`Invalid register: ${text}`, token.column);
  }

  /** A 32-bit immediate: signed decimal, or hex as a bit pattern (a `-0x` hex is negated). */
  imm32(token: Token, text = token.text): number {
    const parsed = parseInteger(text);
    if (!parsed) return this.fail(`Invalid immediate: ${text}`, token.column);
    const { value, hex } = parsed;
    const ok = hex && value >= 0n ? value <= UINT32_MAX : value >= INT32_MIN && value <= INT32_MAX;
    if (!ok) this.fail(`Immediate out of 32-bit range: ${text}`, token.column);
    return Number(BigInt.asIntN(32, value));
  }

  /** A 64-bit `lddw` immediate: hex as an unsigned pattern, decimal signed (or unsigned). */
  imm64(token: Token): bigint {
    const parsed = parseInteger(token.text);
    if (!parsed) return this.fail(`Invalid immediate: ${token.text}`, token.column);
    if (parsed.value < -(2n ** 63n) || parsed.value >= 2n ** 64n) {
      this.fail(`Immediate out of 64-bit range: ${token.text}`, token.column);
    }
    return BigInt.asUintN(64, parsed.value);
  }

  /**
   * A signed 16-bit offset: decimal in −32768…32767, or hex as a 16-bit pattern. Upstream
   * misreads negative hex (`-0x8`); we take it as −8.
   */
  offset(token: Token, text: string): number {
    const shown = text.startsWith('+') ? text.slice(1) : text;
    const parsed = parseInteger(text);
    if (!parsed) return this.fail(`Invalid offset: ${shown}`, token.column);
    const { value, hex } = parsed;
    const ok = hex && value >= 0n ? value <= 0xffffn : value >= -0x8000n && value <= 0x7fffn;
    if (!ok) this.fail(`Offset out of 16-bit range: ${shown}`, token.column);
    return Number(BigInt.asIntN(16, value));
  }

  /** `[%rN]`, `[%rN+off]` or `[%rN-off]`. */
  memory(token: Token): { reg: number; off: number } {
    const text = token.text;
    if (!text.startsWith('[') || !text.endsWith(']') || text.length < 3) {
      this.fail(`Failed to decode register and offset: ${text}`, token.column);
    }
    const inner = text.slice(1, -1);
    const sign = inner.search(/[+-]/);
    if (sign < 0) return { reg: this.register(token, inner), off: 0 };
    const base = this.register(token, inner.slice(0, sign));
    if (!parseInteger(inner.slice(sign)))
      this.fail(`Failed to decode register and offset: ${text}`, token.column);
    return { reg: base, off: this.offset(token, inner.slice(sign)) };
  }
}

/** The register operand's `%`, which upstream also uses to tell a register source from an immediate. */
function isRegister(text: string): boolean {
  return text.startsWith('%');
}

function isRelative(text: string): boolean {
  return text.startsWith('+') || text.startsWith('-');
}

/**
 * Assemble bpf_conformance assembly into instructions (slots numbered from 0).
 *
 * One instruction per line; `#` starts a comment; operands are separated by whitespace, each
 * with at most one trailing comma. `name:` as a line's first token defines a label at the next
 * slot; the first `exit` defines the label `exit` unless the source defines one itself. Jump
 * targets are labels or signed relative slot counts (`+3`, `-1`).
 *
 * @throws {AssemblyError} at the first problem, with upstream's message as `reason`.
 */
export function assembleConformance(source: string, options: ConformanceAsmOptions = {}): Insn[] {
  const pending: Pending[] = [];
  const labels = new Map<string, { slot: number; line: number }>();
  let firstExit: number | undefined;
  let slot = 0;

  const lines = source.split('\n');
  for (let index = 0; index < lines.length; index++) {
    let text = lines[index];
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const hash = text.indexOf('#');
    const code = hash >= 0 ? text.slice(0, hash) : text;
    const line = new Line(text, options.lines?.[index] ?? index + 1, options.file);
    let tokens: Token[] = [...code.matchAll(/\S+/g)].map((m) => ({ text: m[0], column: (m.index ?? 0) + 1 }));

    // A label may stand alone or (unlike upstream, which drops the rest) precede an instruction.
    while (tokens.length > 0 && tokens[0].text.endsWith(':')) {
      const name = tokens[0].text.slice(0, -1);
      if (name === '') line.fail('Empty label name', tokens[0].column);
      const previous = labels.get(name);
      if (previous) {
        line.fail(`Duplicate label (${name}), previously defined at line ${previous.line}`, tokens[0].column);
      }
      labels.set(name, { slot, line: line.line });
      tokens = tokens.slice(1);
    }
    if (tokens.length === 0) continue;

    const [head, ...rest] = tokens;
    // One trailing comma separates operands; `mov %r0,%r1` thus stays a single operand.
    const operands = rest.map((t) => ({ ...t, text: t.text.endsWith(',') ? t.text.slice(0, -1) : t.text }));
    const insn = parseInstruction(line, head, operands, slot);
    if (insn.form.kind === 'exit' && firstExit === undefined) firstExit = slot;
    pending.push(insn);
    slot += slotCount(insn.form);
  }

  const insns = pending.map((p) => {
    const raw = p.raw;
    const line = new Line(p.sourceLine, p.line, options.file);
    if (p.target) {
      const { label, field, column } = p.target;
      const target = labels.get(label)?.slot ?? (label === 'exit' ? firstExit : undefined);
      if (target === undefined) return line.fail(`Invalid label: ${label}`, column);
      const relative = target - (p.slot + 1);
      if (field === 'off' && (relative < -0x8000 || relative > 0x7fff)) {
        line.fail(`Jump to ${label} out of 16-bit range: ${relative}`, column);
      }
      raw[field] = relative;
    }
    try {
      return makeInsn(raw, p.slot, p.imm2);
    } catch (error) {
      // Every path above builds a valid encoding; this guards against a table the parser misreads.
      if (error instanceof InvalidInstructionError) return line.fail(error.message, p.column, error);
      throw error;
    }
  });
  return layout(insns);
}

/** The dialect's byte-order spellings that the table does not use: `swapN` means `bswapN`. */
function canonicalMnemonic(mnemonic: string): string {
  return /^swap(16|32|64)$/.test(mnemonic) ? `b${mnemonic}` : mnemonic;
}

/** Forms of a mnemonic that this dialect can write. */
function formsOf(mnemonic: string): readonly InsnForm[] {
  return (FORMS_BY_MNEMONIC.get(mnemonic) ?? []).filter(hasConformanceSyntax);
}

function parseInstruction(line: Line, head: Token, operands: readonly Token[], slot: number): Pending {
  let mnemonic = head.text;
  let args = operands;
  if (mnemonic === 'lock') {
    // lock [fetch] OP [%rd±off], %rs
    const fetch = args[0]?.text === 'fetch';
    if (args.length !== (fetch ? 4 : 3)) line.fail('Invalid number of operands for lock', head.column);
    const op = args[fetch ? 1 : 0];
    mnemonic = `lock ${fetch ? 'fetch ' : ''}${op.text}`;
    args = args.slice(fetch ? 2 : 1);
  } else if (mnemonic === 'call') {
    // call N | call helper N | call local TARGET | call runtime N | call %rN (callx)
    if (args.length === 1) args = [{ text: 'helper', column: head.column }, ...args];
    if (args.length !== 2) line.fail('Invalid number of operands for mnemonic: call', head.column);
    const [mode, target] = args;
    if (mode.text === 'helper') mnemonic = isRegister(target.text) ? 'callx' : 'call';
    else if (mode.text === 'local' || mode.text === 'runtime') mnemonic = `call ${mode.text}`;
    else line.fail(`Invalid call mode: ${mode.text}`, mode.column);
    args = [target];
  }

  const forms = formsOf(canonicalMnemonic(mnemonic));
  if (forms.length === 0) line.fail(`Invalid mnemonic: ${mnemonic}`, head.column);
  const first = forms[0];
  const arity = operandCount(first);
  if (args.length !== arity) {
    if (first.kind === 'atomic') line.fail('Invalid number of operands for lock', head.column);
    line.fail(`Invalid number of operands for mnemonic: ${mnemonic}`, head.column);
  }

  // Where forms differ only by source (`add %r0, 1` vs `add %r0, %r1`), the operand decides.
  const sourceOperand = sourceOperandIndex(first);
  let form = first;
  if (sourceOperand !== undefined) {
    const token = args[sourceOperand];
    const source = isRegister(token.text) ? 'reg' : 'imm';
    const match = forms.find((f) => 'source' in f && f.source === source);
    if (!match) {
      line.fail(
        `Invalid operand for ${mnemonic}: ${token.text} (expected ${source === 'reg' ? 'an immediate' : 'a register'})`,
        token.column,
      );
    }
    form = match;
  }

  const raw: Mutable<RawInsn> = { opcode: form.opcode, dst: 0, src: 0, off: 0, imm: 0 };
  if (form.select) raw[form.select.field] = form.select.value;
  let imm2 = 0;
  let target: Pending['target'];
  const jumpTarget = (token: Token, field: 'off' | 'imm'): void => {
    if (isRelative(token.text))
      raw[field] = field === 'off' ? line.offset(token, token.text) : line.imm32(token);
    else target = { label: token.text, field, column: token.column };
  };

  switch (form.kind) {
    case 'alu':
      raw.dst = line.register(args[0]);
      if (form.op === 'neg') break;
      if (form.source === 'reg') raw.src = line.register(args[1]);
      else raw.imm = line.imm32(args[1]);
      break;
    case 'end':
      raw.dst = line.register(args[0]);
      break;
    case 'jmp':
      if (form.op === 'ja' || form.op === 'may_goto') {
        // `ja` and `may_goto` keep their target in the offset; `ja32` (gotol, since 6.6) in the immediate.
        jumpTarget(args[0], form.rules.off === 'value' ? 'off' : 'imm');
        break;
      }
      raw.dst = line.register(args[0]);
      if (form.source === 'reg') raw.src = line.register(args[1]);
      else raw.imm = line.imm32(args[1]);
      jumpTarget(args[2], 'off');
      break;
    case 'call':
      if (form.target === 'local') jumpTarget(args[0], 'imm');
      else raw.imm = line.imm32(args[0]);
      break;
    case 'callx':
      // The register goes in dst, as LLVM and the kernel encode `callx` (not in src).
      raw.dst = line.register(args[0]);
      break;
    case 'exit':
      break;
    case 'lddw': {
      raw.dst = line.register(args[0]);
      const value = line.imm64(args[1]);
      raw.imm = Number(BigInt.asIntN(32, value));
      imm2 = Number(BigInt.asIntN(32, value >> 32n));
      break;
    }
    case 'ldx': {
      raw.dst = line.register(args[0]);
      const { reg: base, off } = line.memory(args[1]);
      raw.src = base;
      raw.off = off;
      break;
    }
    case 'st': {
      const { reg: base, off } = line.memory(args[0]);
      raw.dst = base;
      raw.off = off;
      raw.imm = line.imm32(args[1]);
      break;
    }
    case 'stx':
    case 'atomic': {
      const { reg: base, off } = line.memory(args[0]);
      raw.dst = base;
      raw.off = off;
      raw.src = line.register(args[1]);
      break;
    }
    default:
      // hasConformanceSyntax filtered the packet loads out.
      line.fail(`Invalid mnemonic: ${mnemonic}`, head.column);
  }
  return { form, raw, imm2, slot, line: line.line, column: head.column, sourceLine: line.text, target };
}

/** How many operands a form takes in this dialect (after `lock [fetch] OP` and `call MODE`). */
function operandCount(form: InsnForm): number {
  switch (form.kind) {
    case 'alu':
      return form.op === 'neg' ? 1 : 2;
    case 'end':
    case 'call':
    case 'callx':
      return 1;
    case 'jmp':
      return form.op === 'ja' || form.op === 'may_goto' ? 1 : 3;
    case 'exit':
      return 0;
    default:
      return 2;
  }
}

/** Which operand is the register-or-immediate source, for the kinds that have one. */
function sourceOperandIndex(form: InsnForm): number | undefined {
  if (form.kind === 'alu' && form.op !== 'neg') return 1;
  if (form.kind === 'jmp' && form.op !== 'ja' && form.op !== 'may_goto') return 1;
  return undefined;
}

/**
 * An immediate as upstream's disassembler writes it: small and negative values in decimal,
 * everything else (including INT32_MIN, whose decimal form reads as a range error to some
 * assemblers) as a hex bit pattern.
 */
function formatImm(imm: number): string {
  if ((imm < 0 && imm !== -0x80000000) || (imm >= -10 && imm <= 10)) return String(imm);
  return `0x${(imm >>> 0).toString(16)}`;
}

function formatMemory(base: number, off: number): string {
  if (off === 0) return `[${reg(base)}]`;
  return `[${reg(base)}${off > 0 ? '+' : ''}${off}]`;
}

function formatRelative(offset: number): string {
  return offset >= 0 ? `+${offset}` : String(offset);
}

/**
 * Print one instruction in the bpf_conformance dialect. Jump and local-call targets are signed
 * relative slot counts (`+3`, `-1`), so `assembleConformance(formatConformance(x))` encodes the
 * same bytes as `x`.
 *
 * @throws {TsbpfError} for an instruction the dialect cannot write (see
 *   {@link hasConformanceSyntax}; also a kfunc call with a non-zero module offset).
 */
export function formatConformance(insn: Insn): string {
  const unsupported = (): never => {
    throw new TsbpfError(`format conformance: ${insn.form.mnemonic} has no bpf_conformance syntax`);
  };
  if (!hasConformanceSyntax(insn.form)) unsupported();
  switch (insn.kind) {
    case 'alu': {
      const { form } = insn;
      if (form.op === 'neg') return `${form.mnemonic} ${reg(insn.dst)}`;
      const source = form.source === 'reg' ? reg(insn.src) : formatImm(insn.imm);
      return `${form.mnemonic} ${reg(insn.dst)}, ${source}`;
    }
    case 'end':
      return `${insn.form.mnemonic} ${reg(insn.dst)}`;
    case 'jmp': {
      const { form } = insn;
      if (form.op === 'ja' || form.op === 'may_goto') {
        return `${form.mnemonic} ${formatRelative(form.rules.off === 'value' ? insn.off : insn.imm)}`;
      }
      const source = form.source === 'reg' ? reg(insn.src) : formatImm(insn.imm);
      return `${form.mnemonic} ${reg(insn.dst)}, ${source}, ${formatRelative(insn.off)}`;
    }
    case 'call':
      if (insn.form.target === 'helper') return `call ${formatImm(insn.imm)}`;
      if (insn.form.target === 'local') return `call local ${formatRelative(insn.imm)}`;
      // The dialect has no place for a kfunc's module BTF index (the offset).
      if (insn.off !== 0) unsupported();
      return `call runtime ${formatImm(insn.imm)}`;
    case 'callx':
      return `call ${reg(insn.dst)}`;
    case 'exit':
      return 'exit';
    case 'lddw': {
      const value = insn.value;
      return `lddw ${reg(insn.dst)}, ${value <= 10n ? String(value) : `0x${value.toString(16)}`}`;
    }
    case 'ldx':
      return `${insn.form.mnemonic} ${reg(insn.dst)}, ${formatMemory(insn.src, insn.off)}`;
    case 'st':
      return `${insn.form.mnemonic} ${formatMemory(insn.dst, insn.off)}, ${formatImm(insn.imm)}`;
    case 'stx':
    case 'atomic':
      return `${insn.form.mnemonic} ${formatMemory(insn.dst, insn.off)}, ${reg(insn.src)}`;
    default:
      return unsupported();
  }
}

/** Print a program in the bpf_conformance dialect, one instruction per line. */
export function formatConformanceProgram(insns: readonly Insn[]): string {
  return insns.map((insn) => `${formatConformance(insn)}\n`).join('');
}
