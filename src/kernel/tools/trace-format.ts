/**
 * What `tsbpf tools trace` needs to read a tracepoint's raw record without a compiler: the
 * tracefs `format` file parsed into fields (type, offset, size, signedness), a record decoded
 * into named values, and a filter in ftrace's own syntax (`flags & 64 && filename ~ "/etc/*"`)
 * evaluated over those values. Pure: no file system here (trace.ts reads the files).
 */
import { TsbpfError } from '../../errors.js';

/** One field of a tracepoint record (`field:const char * filename; offset:24; size:8; signed:0;`). */
export interface TraceField {
  readonly name: string;
  /** The C type as tracefs spells it, without the array suffix (`const char *`, `__data_loc char[]`). */
  readonly type: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
  /** Elements of an array field (`__u8 saddr[4]` → 4), else undefined. */
  readonly arrayLength?: number;
  /** What the value is: an integer, a fixed `char[]`, a `__data_loc` string, a pointer, an array. */
  readonly kind: 'int' | 'chars' | 'data_loc' | 'string_pointer' | 'pointer' | 'array';
}

/** A malformed format file or filter expression. */
export class TraceFormatError extends TsbpfError {
  override name = 'TraceFormatError';
}

/** C types whose values are signed whatever the format file's `signed:` says. */
const SIGNED_TYPES =
  /^(const\s+)?(int|long|long int|long long|short|signed( \w+)?|s8|s16|s32|s64|__s8|__s16|__s32|__s64|pid_t|ssize_t|off_t|loff_t)$/;

/** Parse a tracefs `format` file into its fields (the `common_*` ones included). */
export function parseTraceFormat(text: string): TraceField[] {
  const fields: TraceField[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/.exec(line);
    if (!match) continue;
    const declaration = match[1]!.trim();
    const decl = /^(.*?)\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\[(\d*)\])?$/.exec(declaration);
    if (!decl) throw new TraceFormatError(`tracepoint format: cannot read field '${declaration}'`);
    let type = decl[1]!.trim();
    const name = decl[2]!;
    const arrayLength = decl[3] !== undefined ? Number(decl[4] || 0) : undefined;
    const size = Number(match[3]);
    if (type.startsWith('__data_loc')) type = declaration.replace(/\s*[A-Za-z_][A-Za-z0-9_]*$/, '');
    const kind: TraceField['kind'] = type.startsWith('__data_loc')
      ? 'data_loc'
      : arrayLength !== undefined && /\bchar$/.test(type)
        ? 'chars'
        : arrayLength !== undefined
          ? 'array'
          : /\bchar\s*\*$/.test(type)
            ? 'string_pointer'
            : type.endsWith('*')
              ? 'pointer'
              : 'int';
    fields.push({
      name,
      type,
      offset: Number(match[2]),
      size,
      // System call tracepoints store every argument as an unsigned long and say `signed:0`
      // even for `int dfd`: the C type decides.
      signed: match[4] === '1' || SIGNED_TYPES.test(type),
      ...(arrayLength !== undefined ? { arrayLength } : {}),
      kind,
    });
  }
  if (fields.length === 0) throw new TraceFormatError('tracepoint format: no fields');
  return fields;
}

/** The bytes of the record's fixed part (the end of its last field). */
export function fixedSize(fields: readonly TraceField[]): number {
  return Math.max(...fields.map((f) => f.offset + f.size));
}

/** A decoded value: numbers (bigints past 2^53), strings, arrays of numbers. */
export type TraceValue = number | bigint | string | number[];

function readInt(view: DataView, offset: number, size: number, signed: boolean): number | bigint {
  if (offset + size > view.byteLength) return 0;
  switch (size) {
    case 1:
      return signed ? view.getInt8(offset) : view.getUint8(offset);
    case 2:
      return signed ? view.getInt16(offset, true) : view.getUint16(offset, true);
    case 4:
      return signed ? view.getInt32(offset, true) : view.getUint32(offset, true);
    case 8: {
      const v = signed ? view.getBigInt64(offset, true) : view.getBigUint64(offset, true);
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    default:
      return 0;
  }
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}

/**
 * Decode a raw record. `strings` holds the strings the BPF side read for `string_pointer` fields,
 * by field name; other pointers are printed as hex addresses.
 */
export function decodeRecord(
  fields: readonly TraceField[],
  data: Uint8Array,
  strings: ReadonlyMap<string, string> = new Map(),
): Record<string, TraceValue> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Record<string, TraceValue> = {};
  for (const field of fields) {
    if (field.name.startsWith('common_')) continue;
    switch (field.kind) {
      case 'int':
        out[field.name] = readInt(view, field.offset, field.size, field.signed);
        break;
      case 'chars':
        out[field.name] = cString(data.subarray(field.offset, field.offset + field.size));
        break;
      case 'data_loc': {
        // u32: offset of the data in the record (low 16 bits) and its length (high 16).
        const loc = Number(readInt(view, field.offset, 4, false));
        const start = loc & 0xffff;
        out[field.name] = cString(data.subarray(start, Math.min(data.length, start + (loc >>> 16))));
        break;
      }
      case 'string_pointer':
      case 'pointer': {
        const address = BigInt.asUintN(64, BigInt(readInt(view, field.offset, 8, false)));
        out[field.name] = strings.get(field.name) ?? `0x${address.toString(16)}`;
        break;
      }
      case 'array': {
        const element = field.size / (field.arrayLength || 1);
        out[field.name] = Array.from({ length: field.arrayLength ?? 0 }, (_, i) =>
          Number(readInt(view, field.offset + i * element, element, field.signed)),
        );
        break;
      }
    }
  }
  return out;
}

// ── Filters: ftrace's syntax (Documentation/trace/events.rst, "Event filtering") ─────────────

type Token = { kind: 'op' | 'num' | 'str' | 'ident' | 'paren'; text: string; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re =
    /\s*(?:(&&|\|\||==|!=|<=|>=|[<>&~!])|(0x[0-9a-fA-F]+|-?\d+)|"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z_][A-Za-z0-9_.]*)|([()]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m)
      throw new TraceFormatError(`filter: unexpected '${text.slice(at).trim()[0]}' at column ${at + 1}`);
    const start = at + (m[0].length - m[0].trimStart().length);
    if (m[1]) tokens.push({ kind: 'op', text: m[1], at: start });
    else if (m[2]) tokens.push({ kind: 'num', text: m[2], at: start });
    else if (m[3] !== undefined) tokens.push({ kind: 'str', text: m[3].replace(/\\(.)/g, '$1'), at: start });
    else if (m[4] !== undefined) tokens.push({ kind: 'str', text: m[4], at: start });
    else if (m[5]) tokens.push({ kind: 'ident', text: m[5], at: start });
    else tokens.push({ kind: 'paren', text: m[6]!, at: start });
    at = re.lastIndex;
  }
  return tokens;
}

/** A compiled filter: true when a record (its fields plus comm, pid, tid, uid) passes. */
export type TraceFilter = (values: Readonly<Record<string, TraceValue>>) => boolean;

function globRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function compare(left: TraceValue | undefined, op: string, right: TraceValue): boolean {
  if (left === undefined) return false;
  if (op === '~') return globRegExp(String(right)).test(String(left));
  if (typeof left === 'string' || typeof right === 'string' || Array.isArray(left)) {
    const a = Array.isArray(left) ? left.join('.') : String(left);
    const b = String(right);
    return op === '==' ? a === b : op === '!=' ? a !== b : false;
  }
  const a = BigInt(left);
  const b = BigInt(right as number | bigint);
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '&':
      return (a & b) !== 0n;
    default:
      return false;
  }
}

/**
 * Compile a filter in ftrace's syntax: comparisons `field OP value` (`==`, `!=`, `<`, `<=`, `>`,
 * `>=`, `&` for a bit test, `~` for a glob on strings), combined with `&&`, `||`, `!` and
 * parentheses. `known` are the field names a record has; an unknown name is an error here, not a
 * silent false later.
 */
export function compileFilter(text: string, known: readonly string[]): TraceFilter {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const fail = (what: string): never => {
    const token = peek();
    throw new TraceFormatError(
      `filter: expected ${what}${token ? ` at column ${token.at + 1} ('${token.text}')` : ' at the end'}`,
    );
  };
  const orExpr = (): TraceFilter => {
    let left = andExpr();
    while (peek()?.text === '||') {
      i++;
      const a = left;
      const b = andExpr();
      left = (v) => a(v) || b(v);
    }
    return left;
  };
  const andExpr = (): TraceFilter => {
    let left = unary();
    while (peek()?.text === '&&') {
      i++;
      const a = left;
      const b = unary();
      left = (v) => a(v) && b(v);
    }
    return left;
  };
  const unary = (): TraceFilter => {
    const token = peek();
    if (token?.text === '!') {
      i++;
      const inner = unary();
      return (v) => !inner(v);
    }
    if (token?.text === '(') {
      i++;
      const inner = orExpr();
      if (peek()?.text !== ')') fail("')'");
      i++;
      return inner;
    }
    return comparison();
  };
  const comparison = (): TraceFilter => {
    const field = peek();
    if (field?.kind !== 'ident') return fail('a field name');
    if (!known.includes(field.text))
      throw new TraceFormatError(`filter: no field '${field.text}' (fields: ${known.join(', ')})`);
    i++;
    const op = peek();
    if (op?.kind !== 'op' || ['&&', '||', '!'].includes(op.text)) return fail('a comparison operator');
    i++;
    const value = peek();
    if (value?.kind !== 'num' && value?.kind !== 'str') return fail('a number or a string');
    i++;
    const right: TraceValue = value.kind === 'num' ? BigInt(value.text) : value.text;
    const name = field.text;
    return (v) => compare(v[name], op.text, right);
  };
  const filter = orExpr();
  if (i < tokens.length) fail('&&, || or the end');
  return filter;
}
