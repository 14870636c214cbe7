/**
 * String helpers: `bpf_strtol` (105), `bpf_strtoul` (106) (since 5.2), `bpf_strncmp` (182,
 * since 5.17), `bpf_snprintf` (165, since 5.13) and `bpf_trace_vprintk` (177, since 5.16).
 *
 * `strtol`/`strtoul` (`__bpf_strtoull` in kernel/bpf/helpers.c) — measured on Linux 6.18:
 *
 * | buf (buf_len) | flags | strtol → res | strtoul → res |
 * |---|---|---|---|
 * | `"123"` | 0 | 3 → 123 | 3 → 123 |
 * | `"  -0x1f"` | 0 | 7 → -31 | -EINVAL |
 * | `"0x"` | 0 | 1 → 0 (octal `0`) | 1 → 0 |
 * | `"0x"` | 16 | -EINVAL | -EINVAL |
 * | `"+7"`, `"-"`, `"   "`, `"abc"` | 0 | -EINVAL | -EINVAL |
 * | `"99999999999999999999"` | 0 | -ERANGE | -ERANGE |
 * | `"9223372036854775808"` | 10 | -ERANGE | 19 → 2^63 |
 * | `"-9223372036854775808"` | 10 | 20 → -2^63 | -EINVAL |
 * | `"1234"` (2) | 10 | 2 → 12 | 2 → 12 |
 * | `"0x1g"`, `"089"` | 0 | 3 → 1, 1 → 0 | same |
 * | any | base 7, 33, or a bit above 0x1f | -EINVAL | -EINVAL |
 *
 * The result is zeroed before parsing, so it is 0 after every error. Leading whitespace is
 * skipped; one `-` is taken, `+` is not; at most 63 characters after them are looked at.
 *
 * `bpf_strncmp(s1, s1_sz, s2)` is `strncmp(s1, s2, s1_sz)`: -1, 0 or 1 (x86-64 uses the generic
 * `lib/string.c` one).
 */
import { Errno } from '../../errno.js';
import type { Helper } from '../helpers.js';
import { bprintf, latin1Bytes, MAX_BPRINTF_BUF, MAX_BPRINTF_VARARGS } from './bprintf.js';
import {
  constString,
  defineHelper,
  negErrno,
  readableArgument,
  u64,
  vmAddress,
  writableArgument,
} from './common.js';
import { type AddressSpace, VmAddressSpace } from './probe.js';

/** `BPF_STRTOX_BASE_MASK`: the base bits of the strtol/strtoul flags. */
const BASE_MASK = 0x1f;
/** `KSTRTOX_OVERFLOW`. */
const U64_MAX = 2n ** 64n - 1n;

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** Value of a digit character in any base up to 16, or 16 when it is not one. */
function digit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : 16;
}

/** Result of {@link parseUnsigned}: characters consumed, the value and its sign. */
export interface ParsedInteger {
  readonly consumed: number;
  readonly value: bigint;
  readonly negative: boolean;
}

/** `__bpf_strtoull`: a parse of `bytes` with the kernel's rules, or a negative errno. */
export function parseUnsigned(bytes: Uint8Array, flags: bigint): ParsedInteger | number {
  let base = Number(flags & BigInt(BASE_MASK));
  if (bytes.length === 0) return -Errno.EINVAL;
  if (base !== 0 && base !== 8 && base !== 10 && base !== 16) return -Errno.EINVAL;
  if (flags & ~BigInt(BASE_MASK)) return -Errno.EINVAL;
  let at = 0;
  while (at < bytes.length && isSpace(bytes[at])) at++;
  const negative = at < bytes.length && bytes[at] === 0x2d;
  if (negative) at++;
  if (at === bytes.length) return -Errno.EINVAL;
  // The kernel copies at most 63 characters into a NUL-terminated buffer before parsing.
  const text = bytes.subarray(at, at + 63);
  const end = text.indexOf(0);
  const s = end < 0 ? text : text.subarray(0, end);
  let i = 0;
  if (base === 0) {
    if (s[0] === 0x30) base = (s[1] | 0x20) === 0x78 && digit(s[2] ?? 0x7a) < 16 ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && s[0] === 0x30 && (s[1] | 0x20) === 0x78) i = 2;
  const start = i;
  let value = 0n;
  let overflow = false;
  for (; i < s.length; i++) {
    const d = digit(s[i]);
    if (d >= base) break;
    value = value * BigInt(base) + BigInt(d);
    if (value > U64_MAX) overflow = true;
  }
  if (overflow) return -Errno.ERANGE;
  if (i === start) return -Errno.EINVAL;
  return { consumed: at + i, value: BigInt.asUintN(64, value), negative };
}

/** `bpf_strtol`'s answer: [r0, *res]. */
export function strtol(bytes: Uint8Array, flags: bigint): [number, bigint] {
  const parsed = parseUnsigned(bytes, flags);
  if (typeof parsed === 'number') return [parsed, 0n];
  const { value, negative, consumed } = parsed;
  if (negative ? value > 2n ** 63n : value >= 2n ** 63n) return [-Errno.ERANGE, 0n];
  return [consumed, negative ? -value : value];
}

/** `bpf_strtoul`'s answer: [r0, *res]. */
export function strtoul(bytes: Uint8Array, flags: bigint): [number, bigint] {
  const parsed = parseUnsigned(bytes, flags);
  if (typeof parsed === 'number') return [parsed, 0n];
  if (parsed.negative) return [-Errno.EINVAL, 0n];
  return [parsed.consumed, parsed.value];
}

/** `strncmp` of lib/string.c: -1, 0 or 1. */
export function strncmp(a: Uint8Array, b: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) {
    const c1 = a[i] ?? 0;
    const c2 = b[i] ?? 0;
    if (c1 !== c2) return c1 < c2 ? -1 : 1;
    if (c1 === 0) break;
  }
  return 0;
}

/** Options of {@link stringHelpers}. */
export interface StringHelperOptions {
  /** Where `%s` and `%pI4` read; default a {@link VmAddressSpace} without user memory. */
  readonly space?: AddressSpace;
}

/** The string helpers: strtol, strtoul, strncmp, snprintf and trace_vprintk. */
export function stringHelpers(options: StringHelperOptions = {}): Helper[] {
  const space = options.space ?? new VmAddressSpace();
  const parse = (name: string, parser: (bytes: Uint8Array, flags: bigint) => [number, bigint]) =>
    defineHelper(name, (env, buf, bufLen, flags, res) => {
      const out = writableArgument(env.memory, name, 'res', res, 8);
      const bytes = readableArgument(env.memory, name, 'buf', buf, Number(BigInt.asUintN(32, bufLen)));
      const [r0, value] = parser(bytes, flags);
      env.memory.view.setBigUint64(out, BigInt.asUintN(64, value), true);
      return u64(r0);
    });
  /** The args array of snprintf/vprintk, or -EINVAL for a bad `data_len`. */
  const varargs = (
    name: string,
    data: bigint,
    dataLen: bigint,
    memory: Parameters<Helper['call']>[0]['memory'],
  ) => {
    if (dataLen % 8n !== 0n || dataLen > BigInt(MAX_BPRINTF_VARARGS * 8) || (dataLen !== 0n && data === 0n))
      return undefined;
    const bytes = readableArgument(memory, name, 'data', data, Number(dataLen));
    const view = new DataView(bytes.buffer);
    return Array.from({ length: bytes.length / 8 }, (_, i) => view.getBigUint64(i * 8, true));
  };
  return [
    parse('strtol', strtol),
    parse('strtoul', strtoul),
    defineHelper('strncmp', (env, s1, size, s2) => {
      const n = Number(BigInt.asUintN(32, size));
      const a = readableArgument(env.memory, 'strncmp', 's1', s1, n);
      const b = constString(env.memory, 'strncmp', 's2', s2);
      return u64(strncmp(a, b, n));
    }),
    defineHelper('snprintf', (env, str, strSize, fmt, data, dataLen) => {
      const args = varargs('snprintf', data, dataLen, env.memory);
      if (!args) return negErrno(Errno.EINVAL);
      const format = constString(env.memory, 'snprintf', 'fmt', fmt);
      const text = bprintf(format, args, { memory: env.memory, space });
      if (typeof text === 'number') return u64(text);
      const size = Number(BigInt.asUintN(32, strSize));
      if (size > 0) {
        // vsnprintf: as much as fits, always NUL-terminated.
        const start = writableArgument(env.memory, 'snprintf', 'str', str, size);
        const bytes = latin1Bytes(text).subarray(0, size - 1);
        env.memory.bytes.set(bytes, start);
        env.memory.bytes[start + bytes.length] = 0;
      }
      return BigInt(text.length + 1);
    }),
    defineHelper('trace_vprintk', (env, fmt, fmtSize, data, dataLen) => {
      const args = varargs('trace_vprintk', data, dataLen, env.memory);
      if (!args) return negErrno(Errno.EINVAL);
      // The format must hold its NUL within fmt_size (strnchr in bpf_bprintf_prepare).
      const size = Number(BigInt.asUintN(32, fmtSize));
      const raw = readableArgument(env.memory, 'trace_vprintk', 'fmt', fmt, size);
      const nul = raw.indexOf(0);
      if (vmAddress(fmt) < 0 || nul < 0) return negErrno(Errno.EINVAL);
      const text = bprintf(raw.subarray(0, nul), args, { memory: env.memory, space });
      if (typeof text === 'number') return u64(text);
      // The trace buffer holds MAX_BPRINTF_BUF bytes with the NUL; the return is the full length.
      const line = text.slice(0, MAX_BPRINTF_BUF - 1);
      env.trace(line.endsWith('\n') ? line.slice(0, -1) : line);
      return BigInt(text.length);
    }),
  ];
}
