/**
 * `bpf_trace_printk` / `bpf_snprintf` formatting with the kernel's rules
 * (`bpf_bprintf_prepare` in kernel/bpf/helpers.c): only printable ASCII, at most one argument
 * per conversion and as many conversions as arguments, `%%`, flags `0 + - space`, a width,
 * the `l`/`ll` length modifiers, and the conversions `d i u x X c s p`. Without `l` an integer
 * argument is truncated to 32 bits, as the kernel passes it as an int.
 */

/** Format `format` with `args`; undefined where the kernel would return -EINVAL. */
export function formatPrintk(
  format: string,
  args: readonly bigint[],
  readString: (address: bigint) => string | undefined,
): string | undefined {
  let out = '';
  let used = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    const code = c.charCodeAt(0);
    if (code > 0x7e || (code < 0x20 && !/\s/.test(c))) return undefined;
    if (c !== '%') {
      out += c;
      continue;
    }
    if (format[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    if (used >= args.length) return undefined;
    i++;
    let flags = '';
    while ('0+- '.includes(format[i] ?? 'x') && i < format.length) flags += format[i++];
    let width = 0;
    while (format[i] >= '0' && format[i] <= '9') width = width * 10 + Number(format[i++]);
    const arg = args[used++];
    let text: string;
    const conv = format[i];
    if (conv === 'p') {
      // %pK, %px, %ps and friends: print the raw pointer; the kernel's hashing of plain %p is
      // not reproducible and not useful in a VM.
      while (/[a-zA-Z0-9]/.test(format[i + 1] ?? '') && format[i + 1] !== ' ') {
        if (!'KxSsBbIi46hn'.includes(format[i + 1])) break;
        i++;
      }
      text = `0x${arg.toString(16)}`;
    } else if (conv === 'c') {
      text = String.fromCharCode(Number(arg & 0xffn));
    } else if (conv === 's') {
      text = readString(arg) ?? '';
    } else {
      let bits = 32;
      if (format[i] === 'l') {
        bits = 64;
        i++;
        if (format[i] === 'l') i++;
      }
      const spec = format[i];
      if (spec === 'd' || spec === 'i') text = BigInt.asIntN(bits, arg).toString();
      else if (spec === 'u') text = BigInt.asUintN(bits, arg).toString();
      else if (spec === 'x') text = BigInt.asUintN(bits, arg).toString(16);
      else if (spec === 'X') text = BigInt.asUintN(bits, arg).toString(16).toUpperCase();
      else return undefined;
    }
    out += pad(text, width, flags);
  }
  return out;
}

function pad(text: string, width: number, flags: string): string {
  let body = text;
  if (flags.includes('+') && /^\d/.test(body)) body = `+${body}`;
  else if (flags.includes(' ') && /^\d/.test(body)) body = ` ${body}`;
  if (body.length >= width) return body;
  if (flags.includes('-')) return body.padEnd(width);
  if (flags.includes('0')) {
    const sign = /^[+\- ]/.test(body) ? body[0] : '';
    return sign + body.slice(sign.length).padStart(width - sign.length, '0');
  }
  return body.padStart(width);
}
