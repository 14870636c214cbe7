/**
 * The kernel's printf for BPF: `bpf_bprintf_prepare` (validation and argument capture) followed
 * by `bstr_printf` (formatting), as `bpf_snprintf`, `bpf_trace_vprintk` and `bpf_trace_printk`
 * use them (`kernel/bpf/helpers.c`, `lib/vsprintf.c`, Linux 6.18).
 *
 * The rules, each checked against the kernel (a format the verifier rejects at load time is an
 * -EINVAL here, since the VM has no load-time format check):
 * - only printable ASCII and whitespace; at most as many conversions as arguments (more
 *   arguments than conversions are fine); `%%` is a literal `%`, `%5%` is invalid;
 * - flags `0 + - space`, a width; no precision (`%.3d`), no `#`, no `h`/`z`/`lll`;
 * - integers `d i u x X` with `l`/`ll` (64 bits) or none (32 bits: `%d` of 0x80000000 is
 *   -2147483648, `%u` of 0x100000001 is 1); `+` and space only sign signed conversions
 *   (`%+u` of 5 is `5`), `-` beats `0`;
 * - `%c` prints the low byte (a NUL byte counts in the length); `%s` reads a kernel string,
 *   `%pks`/`%pus` a kernel/user one; an unreadable pointer prints as the empty string;
 *   `%s` must be followed by the end, a space or punctuation (`%sx` is invalid);
 * - `%pI4`, `%pi4`, `%pI6`, `%pi6` read 4 or 16 bytes (zeros when unreadable) and print
 *   `1.2.3.4`, `001.002.003.004`, `2001:0db8:0000:…`, `20010db8…`; letters and digits right
 *   after are swallowed (`%pI6c` prints the uncompressed form);
 * - `%p`, `%pK` print a hashed pointer in Linux; the VM cannot reproduce the per-boot key and
 *   prints the raw value in the same 16-digit form, which is what `%px` prints
 *   (`0000000000001234`); `%ps`, `%pS`, `%pB` print `0x1234` for an address with no symbol,
 *   as Linux does for one; `%pM` and any other `%p` extension is invalid.
 * - strings and pre-formatted arguments share a 512-byte buffer (`MAX_BPRINTF_BIN_ARGS`): a
 *   `%s` is cut to what is left of it.
 */
import { Errno } from '../../errno.js';
import type { VmMemory } from '../memory.js';
import type { AddressKind, AddressSpace } from './probe.js';

/** `MAX_BPRINTF_VARARGS`: the most arguments `bpf_snprintf` and `bpf_trace_vprintk` take. */
export const MAX_BPRINTF_VARARGS = 12;
/** `MAX_BPRINTF_BIN_ARGS`: bytes of captured arguments, strings included. */
export const MAX_BPRINTF_BIN_ARGS = 512;
/** `MAX_BPRINTF_BUF`: the trace helpers format into a buffer this large. */
export const MAX_BPRINTF_BUF = 1024;

/** Where the formatter reads `%s` strings and `%pI` addresses. */
export interface FormatMemory {
  readonly memory: VmMemory;
  readonly space: AddressSpace;
}

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isPunct = (c: number): boolean => c > 0x20 && c < 0x7f && !isAlnum(c);
/** What may follow `%s` or `%p`: the end, whitespace or punctuation. */
const endsConversion = (c: number | undefined): boolean => c === undefined || isSpace(c) || isPunct(c);

/** `vsnprintf` flags. */
interface Spec {
  left: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  width: number;
}

/** Pad `body` (already signed) to the spec's width; zero padding goes after the sign. */
function pad(body: string, spec: Spec, numeric: boolean): string {
  if (body.length >= spec.width) return body;
  if (spec.left) return body.padEnd(spec.width, ' ');
  if (numeric && spec.zero) {
    const sign = /^[+\- ]/.test(body) ? body[0] : '';
    return sign + body.slice(sign.length).padStart(spec.width - sign.length, '0');
  }
  return body.padStart(spec.width, ' ');
}

/** The bytes of a string as Latin-1 text, so that every byte is one output char. */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

function ipv4(bytes: Uint8Array, leadingZeros: boolean): string {
  return [...bytes].map((b) => (leadingZeros ? b.toString().padStart(3, '0') : b.toString())).join('.');
}

function ipv6(bytes: Uint8Array, colons: boolean): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0'));
  if (!colons) return hex.join('');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(hex[i] + hex[i + 1]);
  return groups.join(':');
}

/**
 * Format `format` (its bytes, without the NUL) with `args` as the kernel does: the output as
 * Latin-1 text (one char per byte; the length is what `bstr_printf` returns), or a negative
 * errno (-EINVAL for a format the kernel refuses, -ENOSPC when the argument buffer overflows).
 */
export function bprintf(format: Uint8Array, args: readonly bigint[], source: FormatMemory): string | number {
  let out = '';
  let used = 0;
  /** Bytes left in the kernel's captured-argument buffer. */
  let room = MAX_BPRINTF_BIN_ARGS;
  const at = (i: number): number | undefined => (i < format.length ? format[i] : undefined);
  const take = (bytes: number): boolean => {
    // Numbers are stored 4-byte aligned.
    room = Math.floor(room / 4) * 4 - bytes;
    return room >= 0;
  };
  const readString = (address: bigint, kind: AddressKind): string => {
    const bytes = source.space.readString(source.memory, address, room, kind);
    if (typeof bytes === 'number' || bytes.length === 0) {
      room -= 1;
      return '';
    }
    room -= bytes.length;
    return latin1(bytes.subarray(0, bytes.length - 1));
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c > 0x7e || (c < 0x20 && !isSpace(c))) return -Errno.EINVAL;
    if (c !== 0x25 /* % */) {
      out += String.fromCharCode(c);
      continue;
    }
    if (at(i + 1) === 0x25) {
      out += '%';
      i++;
      continue;
    }
    if (used >= args.length) return -Errno.EINVAL;
    const arg = args[used++];
    i++;
    const spec: Spec = { left: false, plus: false, space: false, zero: false, width: 0 };
    for (let f = at(i); f === 0x30 || f === 0x2b || f === 0x2d || f === 0x20; f = at(++i)) {
      if (f === 0x30) spec.zero = true;
      else if (f === 0x2b) spec.plus = true;
      else if (f === 0x2d) spec.left = true;
      else spec.space = true;
    }
    while (isDigit(at(i) ?? 0)) spec.width = spec.width * 10 + (format[i++] - 0x30);
    const conv = at(i);
    if (conv === 0x70 /* p */) {
      const ext = at(i + 1);
      const hex16 = arg.toString(16).padStart(16, '0');
      if (endsConversion(ext)) {
        if (!take(8)) return -Errno.ENOSPC;
        out += pad(hex16, spec, false);
        continue;
      }
      if ((ext === 0x6b || ext === 0x75) /* k u */ && at(i + 2) === 0x73 /* s */) {
        i += 2;
        if (!endsConversion(at(i + 1))) return -Errno.EINVAL;
        if (room <= 0) return -Errno.ENOSPC;
        out += pad(readString(arg, ext === 0x6b ? 'kernel' : 'user'), spec, false);
        continue;
      }
      i++;
      if (ext === 0x4b || ext === 0x78 /* K x */) {
        if (!take(8)) return -Errno.ENOSPC;
        out += pad(hex16, spec, false);
      } else if (ext === 0x73 || ext === 0x53 || ext === 0x42 /* s S B */) {
        if (!take(8)) return -Errno.ENOSPC;
        out += pad(`0x${arg.toString(16)}`, spec, false);
      } else if ((ext === 0x69 || ext === 0x49) /* i I */ && (at(i + 1) === 0x34 || at(i + 1) === 0x36)) {
        i++;
        const size = at(i) === 0x34 ? 4 : 16;
        if (room < size) return -Errno.ENOSPC;
        const got = source.space.read(source.memory, arg, size, 'kernel');
        const bytes = typeof got === 'number' ? new Uint8Array(size) : got;
        const text = size === 4 ? ipv4(bytes, ext === 0x69) : ipv6(bytes, ext === 0x49);
        room -= text.length + 1;
        out += pad(text, spec, false);
      } else return -Errno.EINVAL;
      // bstr_printf swallows letters and digits after a pointer extension.
      while (isAlnum(at(i + 1) ?? 0)) i++;
      continue;
    }
    if (conv === 0x73 /* s */) {
      if (!endsConversion(at(i + 1))) return -Errno.EINVAL;
      if (room <= 0) return -Errno.ENOSPC;
      out += pad(readString(arg, 'kernel'), spec, false);
      continue;
    }
    if (conv === 0x63 /* c */) {
      if (room <= 0) return -Errno.ENOSPC;
      room--;
      out += pad(String.fromCharCode(Number(arg & 0xffn)), spec, false);
      continue;
    }
    let bits = 32;
    if (at(i) === 0x6c /* l */) {
      bits = 64;
      i++;
      if (at(i) === 0x6c) i++;
    }
    const kind = at(i);
    if (!take(bits / 8)) return -Errno.ENOSPC;
    if (kind === 0x64 || kind === 0x69 /* d i */) {
      const value = BigInt.asIntN(bits, arg);
      const sign = value < 0n ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
      out += pad(sign + (value < 0n ? -value : value).toString(), spec, true);
    } else if (kind === 0x75 /* u */) out += pad(BigInt.asUintN(bits, arg).toString(), spec, true);
    else if (kind === 0x78 /* x */) out += pad(BigInt.asUintN(bits, arg).toString(16), spec, true);
    else if (kind === 0x58 /* X */)
      out += pad(BigInt.asUintN(bits, arg).toString(16).toUpperCase(), spec, true);
    else return -Errno.EINVAL;
  }
  return out;
}

/** Output text of {@link bprintf} as bytes (Latin-1: one byte per char). */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
