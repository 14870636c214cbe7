/**
 * Codecs turn map keys and values between bytes and JavaScript values. A map without codecs
 * speaks bytes; with them it speaks numbers, bigints, strings or objects (BTF-derived codecs
 * build on the same interface).
 */
import { TsbpfError } from '../errors.js';

/** A fixed-size encoding of values of type T. */
export interface Codec<T> {
  /** Encoded size in bytes. */
  readonly size: number;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** A value that does not fit its codec. */
export class CodecError extends TsbpfError {
  override name = 'CodecError';
}

/** Bytes as they are, checked for length. */
export function bytesCodec(size: number): Codec<Uint8Array> {
  return {
    size,
    encode(value) {
      if (value.length !== size) throw new CodecError(`expected ${size} bytes, got ${value.length}`);
      return value;
    },
    decode: (bytes) => bytes,
  };
}

function intCodec(size: 1 | 2 | 4, signed: boolean): Codec<number> {
  const min = signed ? -(2 ** (size * 8 - 1)) : 0;
  const max = signed ? 2 ** (size * 8 - 1) - 1 : 2 ** (size * 8) - 1;
  return {
    size,
    encode(value) {
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new CodecError(`${value} does not fit a ${signed ? 's' : 'u'}${size * 8}`);
      }
      const bytes = new Uint8Array(size);
      const view = new DataView(bytes.buffer);
      if (size === 1) view.setUint8(0, value & 0xff);
      else if (size === 2) view.setUint16(0, value & 0xffff, true);
      else view.setUint32(0, value >>> 0, true);
      return bytes;
    },
    decode(bytes) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, size);
      if (size === 1) return signed ? view.getInt8(0) : view.getUint8(0);
      if (size === 2) return signed ? view.getInt16(0, true) : view.getUint16(0, true);
      return signed ? view.getInt32(0, true) : view.getUint32(0, true);
    },
  };
}

/** Little-endian integers (the VM's and x86's byte order). */
export const u8 = intCodec(1, false);
export const u16 = intCodec(2, false);
export const u32 = intCodec(4, false);
export const s8 = intCodec(1, true);
export const s16 = intCodec(2, true);
export const s32 = intCodec(4, true);

function int64Codec(signed: boolean): Codec<bigint> {
  return {
    size: 8,
    encode(value) {
      const wrapped = signed ? BigInt.asIntN(64, value) : BigInt.asUintN(64, value);
      if (wrapped !== value) throw new CodecError(`${value} does not fit a ${signed ? 's' : 'u'}64`);
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
      return bytes;
    },
    decode(bytes) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
      return signed ? view.getBigInt64(0, true) : view.getBigUint64(0, true);
    },
  };
}

export const u64 = int64Codec(false);
export const s64 = int64Codec(true);

/** A NUL-padded string in a fixed-size char array (`char comm[16]`). */
export function cString(size: number): Codec<string> {
  return {
    size,
    encode(value) {
      const text = new TextEncoder().encode(value);
      if (text.length >= size)
        throw new CodecError(`'${value}' needs ${text.length + 1} bytes, the array has ${size}`);
      const bytes = new Uint8Array(size);
      bytes.set(text);
      return bytes;
    },
    decode(bytes) {
      const end = bytes.indexOf(0);
      return new TextDecoder().decode(bytes.subarray(0, end < 0 ? size : end));
    },
  };
}

/**
 * Per-CPU values: `cpus` slots of the inner codec, each padded to 8 bytes, as the `bpf()`
 * syscall lays them out. Decodes to an array indexed by CPU.
 */
export function perCpu<T>(inner: Codec<T>, cpus: number): Codec<T[]> {
  const slot = Math.ceil(inner.size / 8) * 8;
  return {
    size: slot * cpus,
    encode(values) {
      if (values.length !== cpus)
        throw new CodecError(`expected ${cpus} per-CPU values, got ${values.length}`);
      const bytes = new Uint8Array(slot * cpus);
      for (const [cpu, value] of values.entries()) bytes.set(inner.encode(value), cpu * slot);
      return bytes;
    },
    decode(bytes) {
      return Array.from({ length: cpus }, (_, cpu) =>
        inner.decode(bytes.subarray(cpu * slot, cpu * slot + inner.size)),
      );
    },
  };
}
