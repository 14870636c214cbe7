/**
 * Tracepoint contexts: the raw record of a trace event, laid out as the event's tracefs `format`
 * file says (`/sys/kernel/tracing/events/<category>/<name>/format`). This module takes the file's
 * *text* (the CLI and tests read it), so it runs in a browser too.
 *
 * ```
 * name: sys_enter_execve
 * ID: 862
 * format:
 *         field:unsigned short common_type;  offset:0;  size:2;  signed:0;
 *         ...
 *         field:const char * filename;       offset:16; size:8;  signed:0;
 * print fmt: "filename: 0x%08lx, ..."
 * ```
 */
import { TsbpfError } from '../../errors.js';

/** One field of a trace event record. */
export interface TracepointField {
  readonly name: string;
  /** The C type as written, without the name (`const char *`, `char[16]`, `__data_loc char[]`). */
  readonly type: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
  /** Element count of a fixed array (`char prev_comm[16]` → 16). */
  readonly arrayLength?: number;
  /** `__data_loc`: a u32 of (length << 16 | offset) to data after the fixed part. */
  readonly dynamic: boolean;
  /** `common_*` fields every event starts with. */
  readonly common: boolean;
}

/** A trace event's record layout. */
export interface TracepointFormat {
  readonly name: string;
  readonly id: number;
  readonly fields: readonly TracepointField[];
  /** Bytes of the fixed part of the record. */
  readonly size: number;
  readonly printFmt: string;
}

/** A format file this parser cannot read. */
export class TracepointFormatError extends TsbpfError {
  override name = 'TracepointFormatError';
  readonly line: number;
  constructor(line: number, reason: string) {
    super(`parse tracepoint format: line ${line}: ${reason}`);
    this.line = line;
  }
}

const FIELD = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;

/** Parse the text of a tracefs `format` file. */
export function parseTracepointFormat(text: string): TracepointFormat {
  let name = '';
  let id = -1;
  let printFmt = '';
  const fields: TracepointField[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.startsWith('name: ')) name = line.slice(6).trim();
    else if (line.startsWith('ID: ')) id = Number(line.slice(4));
    else if (line.startsWith('print fmt: ')) printFmt = line.slice(11);
    else if (line.trim().startsWith('field:')) {
      const match = FIELD.exec(line);
      if (!match) throw new TracepointFormatError(index + 1, `malformed field '${line.trim()}'`);
      const declaration = match[1].trim();
      const decl = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(\d*)\])?$/.exec(declaration);
      if (!decl) throw new TracepointFormatError(index + 1, `cannot find the field name in '${declaration}'`);
      const [, typePart, fieldName, length] = decl;
      const dynamic = typePart.includes('__data_loc');
      fields.push({
        name: fieldName,
        type: `${typePart.trim()}${length !== undefined ? `[${length}]` : ''}`,
        offset: Number(match[2]),
        size: Number(match[3]),
        signed: match[4] === '1',
        ...(length ? { arrayLength: Number(length) } : {}),
        dynamic,
        common: fieldName.startsWith('common_'),
      });
    }
  }
  if (!name || id < 0 || fields.length === 0)
    throw new TracepointFormatError(1, 'not a tracefs format file (name, ID, fields)');
  const size = fields.reduce((end, field) => Math.max(end, field.offset + field.size), 0);
  return { name, id, fields, size, printFmt };
}

/** A value for one field: a number or bigint for integers, bytes (or a string) for arrays. */
export type TracepointValue = number | bigint | Uint8Array | string;

/**
 * Build a record for `format` with the given field values (others zero). `common_type` defaults to
 * the event id, as the kernel fills it. Integers are little-endian (x86-64), strings NUL-padded.
 */
export function buildTracepointRecord(
  format: TracepointFormat,
  values: Readonly<Record<string, TracepointValue>> = {},
): Uint8Array {
  const record = new Uint8Array(format.size);
  const view = new DataView(record.buffer);
  const hasType = format.fields.some((f) => f.name === 'common_type');
  const all: Record<string, TracepointValue> = hasType
    ? { common_type: format.id, ...values }
    : { ...values };
  for (const [name, value] of Object.entries(all)) {
    const field = format.fields.find((f) => f.name === name);
    if (!field) throw new TsbpfError(`tracepoint ${format.name}: no field '${name}'`);
    if (typeof value === 'string' || value instanceof Uint8Array) {
      const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      record.set(bytes.subarray(0, field.size), field.offset);
      continue;
    }
    const v = BigInt.asUintN(field.size * 8, BigInt(value));
    if (field.size === 1) view.setUint8(field.offset, Number(v));
    else if (field.size === 2) view.setUint16(field.offset, Number(v), true);
    else if (field.size === 4) view.setUint32(field.offset, Number(v), true);
    else if (field.size === 8) view.setBigUint64(field.offset, v, true);
    else
      throw new TsbpfError(`tracepoint ${format.name}: field '${name}' of ${field.size} bytes takes bytes`);
  }
  return record;
}

/** Read a record's fields back (integers as bigints, arrays as bytes). */
export function readTracepointRecord(
  format: TracepointFormat,
  record: Uint8Array,
): Record<string, bigint | Uint8Array> {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const out: Record<string, bigint | Uint8Array> = {};
  for (const field of format.fields) {
    const { offset, size } = field;
    if (field.arrayLength !== undefined || ![1, 2, 4, 8].includes(size)) {
      out[field.name] = record.slice(offset, offset + size);
      continue;
    }
    let value =
      size === 1
        ? BigInt(view.getUint8(offset))
        : size === 2
          ? BigInt(view.getUint16(offset, true))
          : size === 4
            ? BigInt(view.getUint32(offset, true))
            : view.getBigUint64(offset, true);
    if (field.signed) value = BigInt.asIntN(size * 8, value);
    out[field.name] = value;
  }
  return out;
}
