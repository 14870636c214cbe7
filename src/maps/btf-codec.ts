/**
 * Codecs from BTF: map keys and values as JavaScript values shaped by their C types — integers
 * as numbers (64-bit ones as bigints), `char` arrays as strings, other arrays as arrays, structs
 * and unions as objects (bitfields included), enums as numbers, pointers as bigints.
 */
import type { Btf, BtfType } from '../object/btf.js';
import { bytesCodec, type Codec, CodecError, perCpu } from './codec.js';
import { BpfMap } from './map.js';
import { isPerCpu } from './ops.js';

/** A decoded BTF value. */
export type BtfValue = number | bigint | string | boolean | BtfValue[] | { [member: string]: BtfValue };

function isCharArray(btf: Btf, type: BtfType): boolean {
  if (type.kind !== 'array') return false;
  const element = btf.resolve(type.typeId);
  return element.kind === 'int' && element.size === 1 && (element.encoding & 2) !== 0
    ? true
    : element.kind === 'int' && element.size === 1 && element.name === 'char';
}

function readUnsigned(bytes: Uint8Array, offset: number, size: number): bigint {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[offset + i] ?? 0);
  return value;
}

function writeUnsigned(bytes: Uint8Array, offset: number, size: number, value: bigint): void {
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    bytes[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function integerOut(value: bigint, size: number, signed: boolean): number | bigint {
  const v = signed ? BigInt.asIntN(size * 8, value) : BigInt.asUintN(size * 8, value);
  return size >= 8 ? v : Number(v);
}

function decodeAt(btf: Btf, typeId: number, bytes: Uint8Array, offset: number): BtfValue {
  const type = btf.resolve(typeId);
  switch (type.kind) {
    case 'int': {
      const raw = readUnsigned(bytes, offset, type.size);
      if (type.encoding & 4) return raw !== 0n;
      return integerOut(raw, type.size, (type.encoding & 1) !== 0);
    }
    case 'enum':
    case 'enum64':
      return integerOut(readUnsigned(bytes, offset, type.size), type.size, type.signed);
    case 'ptr':
      return readUnsigned(bytes, offset, 8);
    case 'float': {
      const view = new DataView(bytes.buffer, bytes.byteOffset + offset, type.size);
      return type.size === 4
        ? view.getFloat32(0, true)
        : type.size === 8
          ? view.getFloat64(0, true)
          : Number.NaN;
    }
    case 'array': {
      if (isCharArray(btf, type)) {
        const slice = bytes.subarray(offset, offset + type.nelems);
        const end = slice.indexOf(0);
        return new TextDecoder().decode(slice.subarray(0, end < 0 ? slice.length : end));
      }
      const size = btf.sizeof(type.typeId);
      return Array.from({ length: type.nelems }, (_, i) =>
        decodeAt(btf, type.typeId, bytes, offset + i * size),
      );
    }
    case 'struct':
    case 'union': {
      const out: { [member: string]: BtfValue } = {};
      for (const [index, member] of type.members.entries()) {
        const name = member.name || `__anon${index}`;
        if (member.bitfieldSize > 0) {
          const whole = readUnsigned(bytes, offset, type.size);
          const bits = (whole >> BigInt(member.bitsOffset)) & ((1n << BigInt(member.bitfieldSize)) - 1n);
          out[name] = member.bitfieldSize > 32 ? bits : Number(bits);
          continue;
        }
        const value = decodeAt(btf, member.typeId, bytes, offset + member.bitsOffset / 8);
        // Anonymous struct/union members are flattened, as C code reads them.
        if (!member.name && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, value);
        else out[name] = value;
      }
      return out;
    }
    default:
      return Array.from(bytes.subarray(offset, offset + safeSize(btf, typeId)), (b) => b);
  }
}

function safeSize(btf: Btf, typeId: number): number {
  try {
    return btf.sizeof(typeId);
  } catch {
    return 0;
  }
}

function encodeAt(
  btf: Btf,
  typeId: number,
  value: BtfValue,
  bytes: Uint8Array,
  offset: number,
  path: string,
): void {
  const type = btf.resolve(typeId);
  const fail = (expected: string): CodecError =>
    new CodecError(
      `${path || 'value'}: expected ${expected}, got ${typeof value === 'object' ? JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)) : String(value)}`,
    );
  switch (type.kind) {
    case 'int':
    case 'enum':
    case 'enum64':
    case 'ptr': {
      const size = type.kind === 'ptr' ? 8 : type.size;
      if (typeof value === 'boolean') {
        writeUnsigned(bytes, offset, size, value ? 1n : 0n);
        return;
      }
      if (typeof value !== 'number' && typeof value !== 'bigint') throw fail('an integer');
      if (typeof value === 'number' && !Number.isInteger(value)) throw fail('an integer');
      writeUnsigned(bytes, offset, size, BigInt(value));
      return;
    }
    case 'float': {
      if (typeof value !== 'number') throw fail('a number');
      const view = new DataView(bytes.buffer, bytes.byteOffset + offset, type.size);
      if (type.size === 4) view.setFloat32(0, value, true);
      else view.setFloat64(0, value, true);
      return;
    }
    case 'array': {
      if (isCharArray(btf, type)) {
        if (typeof value !== 'string') throw fail('a string');
        const text = new TextEncoder().encode(value);
        if (text.length >= type.nelems)
          throw new CodecError(
            `${path}: '${value}' needs ${text.length + 1} bytes, the array has ${type.nelems}`,
          );
        bytes.set(text, offset);
        return;
      }
      if (!Array.isArray(value) || value.length > type.nelems)
        throw fail(`an array of at most ${type.nelems}`);
      const size = btf.sizeof(type.typeId);
      value.forEach((element, i) => {
        encodeAt(btf, type.typeId, element, bytes, offset + i * size, `${path}[${i}]`);
      });
      return;
    }
    case 'struct':
    case 'union': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('an object');
      for (const member of type.members) {
        if (!member.name) {
          encodeAt(btf, member.typeId, value, bytes, offset + member.bitsOffset / 8, path);
          continue;
        }
        const field = value[member.name];
        if (field === undefined) continue;
        if (member.bitfieldSize > 0) {
          if (typeof field !== 'number' && typeof field !== 'bigint')
            throw new CodecError(`${path}.${member.name}: expected an integer`);
          const whole = readUnsigned(bytes, offset, type.size);
          const mask = ((1n << BigInt(member.bitfieldSize)) - 1n) << BigInt(member.bitsOffset);
          const next = (whole & ~mask) | ((BigInt(field) << BigInt(member.bitsOffset)) & mask);
          writeUnsigned(bytes, offset, type.size, next);
          continue;
        }
        encodeAt(
          btf,
          member.typeId,
          field,
          bytes,
          offset + member.bitsOffset / 8,
          path ? `${path}.${member.name}` : member.name,
        );
      }
      return;
    }
    default:
      throw fail(`a value this codec can write (BTF kind ${type.kind})`);
  }
}

/** A codec for values of BTF type `typeId`. */
export function btfCodec(btf: Btf, typeId: number): Codec<BtfValue> {
  const size = btf.sizeof(typeId);
  return {
    size,
    decode: (bytes) => decodeAt(btf, typeId, bytes, 0),
    encode(value) {
      const bytes = new Uint8Array(size);
      encodeAt(btf, typeId, value, bytes, 0, '');
      return bytes;
    },
  };
}

/**
 * The same map with keys and values shaped by their BTF types (per-CPU values as arrays), for a
 * map whose spec carries BTF type ids — on either backend. Falls back to bytes where it has none.
 */
export function withBtf(
  map: BpfMap,
  btf: Btf,
): BpfMap<BtfValue | Uint8Array, BtfValue | Uint8Array | BtfValue[]> {
  const { btfKeyTypeId, btfValueTypeId } = map.spec;
  const key = btfKeyTypeId ? btfCodec(btf, btfKeyTypeId) : bytesCodec(map.spec.keySize);
  const single = btfValueTypeId ? btfCodec(btf, btfValueTypeId) : bytesCodec(map.spec.valueSize);
  const value = isPerCpu(map.spec.type)
    ? perCpu(single as Codec<BtfValue | Uint8Array>, map.ops.possibleCpus)
    : single;
  return new BpfMap(map.ops, {
    key: key as Codec<BtfValue | Uint8Array>,
    value: value as Codec<BtfValue | Uint8Array | BtfValue[]>,
  });
}

/** Per-CPU values added member by member (integers sum; anything else keeps CPU 0's). */
export function sumBtfValues(values: readonly BtfValue[]): BtfValue {
  return values.reduce((sum, v) => {
    if (typeof sum === 'number' && typeof v === 'number') return sum + v;
    if (typeof sum === 'bigint' && typeof v === 'bigint') return sum + v;
    if (
      sum &&
      v &&
      typeof sum === 'object' &&
      typeof v === 'object' &&
      !Array.isArray(sum) &&
      !Array.isArray(v)
    )
      return Object.fromEntries(Object.keys(sum).map((k) => [k, sumBtfValues([sum[k], v[k]])]));
    return sum;
  });
}
