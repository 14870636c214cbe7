/**
 * A small deterministic mutator: input `i` of a run with seed `s` is always the same bytes, so the
 * parent can rebuild any input a child was running when it hung or died, and a failure can be
 * replayed from its (seed, index) alone.
 */

/** xorshift128+ over two 32-bit halves: fast, deterministic, good enough for fuzzing. */
export class Rng {
  private a: number;
  private b: number;
  constructor(seed: number) {
    this.a = (seed ^ 0x9e3779b9) | 1;
    this.b = Math.imul(seed, 0x85ebca6b) ^ 0xc2b2ae35;
    for (let i = 0; i < 8; i++) this.next();
  }
  /** A uniform unsigned 32-bit integer. */
  next(): number {
    let x = this.a;
    const y = this.b;
    this.a = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    this.b = x;
    return (x + y) >>> 0;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

/** The seed of input `index` of a run seeded `seed`. */
export function inputSeed(seed: number, index: number): number {
  return (Math.imul(seed, 0x27d4eb2d) ^ Math.imul(index + 1, 0x165667b1)) >>> 0;
}

/** Values that break parsers: boundaries of every width, both byte orders. */
const INTERESTING_32 = [
  0, 1, 2, 4, 7, 8, 0x10, 0x18, 0x20, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x1000, 0x7fff, 0x8000, 0xffff, 0x10000,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

function mutateOnce(bytes: Uint8Array, rng: Rng, others: readonly Uint8Array[]): Uint8Array {
  const n = bytes.length;
  switch (rng.below(n === 0 ? 1 : 10) + (n === 0 ? 8 : 0)) {
    case 0: {
      // Flip one bit.
      const out = bytes.slice();
      out[rng.below(n)] ^= 1 << rng.below(8);
      return out;
    }
    case 1: {
      // A random byte.
      const out = bytes.slice();
      out[rng.below(n)] = rng.below(256);
      return out;
    }
    case 2:
    case 3: {
      // An interesting 8/16/32-bit value at an aligned offset (headers are aligned fields).
      const width = rng.pick([1, 2, 4]);
      if (n < width) return bytes;
      const out = bytes.slice();
      const at = rng.below(Math.floor(n / width)) * width;
      let value = rng.pick(INTERESTING_32);
      if (rng.chance(0.3)) value = (value + rng.below(9) - 4) >>> 0;
      const view = new DataView(out.buffer);
      if (width === 1) out[at] = value & 0xff;
      else if (width === 2) view.setUint16(at, value & 0xffff, rng.chance(0.8));
      else view.setUint32(at, value, rng.chance(0.8));
      return out;
    }
    case 4: {
      // Add or subtract a small amount at a 32-bit field (sizes and offsets off by a little).
      if (n < 4) return bytes;
      const out = bytes.slice();
      const at = rng.below(Math.floor(n / 4)) * 4;
      const view = new DataView(out.buffer);
      view.setUint32(at, (view.getUint32(at, true) + rng.below(65) - 32) >>> 0, true);
      return out;
    }
    case 5: {
      // Delete a range.
      const at = rng.below(n);
      const length = 1 + rng.below(Math.min(n - at, rng.chance(0.5) ? 8 : 256));
      const out = new Uint8Array(n - length);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + length), at);
      return out;
    }
    case 6: {
      // Duplicate a range in place (repeated records, longer tables).
      const at = rng.below(n);
      const length = 1 + rng.below(Math.min(n - at, 64));
      const out = new Uint8Array(n + length);
      out.set(bytes.subarray(0, at + length));
      out.set(bytes.subarray(at, n), at + length);
      return out;
    }
    case 7: {
      // Truncate.
      return bytes.slice(0, rng.below(n));
    }
    case 8: {
      // Splice a chunk of another seed in.
      const other = others.length ? rng.pick(others) : bytes;
      if (other.length === 0) return bytes;
      const from = rng.below(other.length);
      const length = 1 + rng.below(Math.min(other.length - from, 128));
      const at = rng.below(n + 1);
      const out = new Uint8Array(n + length);
      out.set(bytes.subarray(0, at));
      out.set(other.subarray(from, from + length), at);
      out.set(bytes.subarray(at), at + length);
      return out;
    }
    default: {
      // Copy a range over another place in the same input (aliasing offsets).
      const from = rng.below(n);
      const to = rng.below(n);
      const length = 1 + rng.below(Math.min(n - from, n - to, 32));
      const out = bytes.slice();
      out.copyWithin(to, from, from + length);
      return out;
    }
  }
}

/** 1–`maxSteps` random mutations of `seed` (most inputs stay close to a valid one). */
export function mutateBytes(
  seed: Uint8Array,
  rng: Rng,
  others: readonly Uint8Array[] = [],
  maxSteps = 4,
): Uint8Array {
  let out = seed;
  const steps = 1 + (rng.chance(0.6) ? 0 : rng.below(maxSteps));
  for (let i = 0; i < steps; i++) out = mutateOnce(out, rng, others);
  return out;
}

/** Tokens worth inserting into text formats (numbers at the edges, syntax characters). */
const TEXT_TOKENS = [
  '0',
  '-1',
  '1',
  '0x7fffffff',
  '0x80000000',
  '0xffffffff',
  '0xffffffffffffffff',
  '18446744073709551616',
  '-9223372036854775808',
  '1e400',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  '""',
  '"',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '+',
  '-',
  '*',
  '(',
  ')',
  '#',
  ';',
  '\n',
  ' ',
  '\t',
  'goto',
  'r0',
  'r10',
  'r11',
  'w1',
  '*(u64 *)',
  'call',
  'exit',
  'lddw',
  'ldxdw',
  'ja',
  'callx',
  '%r1',
  '.',
  ':',
  '\u0000',
  '\u00ff',
  '\ud800',
  '🦀',
  'a'.repeat(300),
];

/** Mutations that keep text mostly text: token-level edits plus the byte mutator now and then. */
export function mutateText(seed: string, rng: Rng, others: readonly string[] = []): string {
  let text = seed;
  const steps = 1 + (rng.chance(0.5) ? 0 : rng.below(4));
  for (let s = 0; s < steps; s++) {
    const n = text.length;
    const at = rng.below(n + 1);
    switch (rng.below(7)) {
      case 0:
        text = text.slice(0, at) + rng.pick(TEXT_TOKENS) + text.slice(at);
        break;
      case 1: {
        // Replace a token (a run of word characters) with another.
        const match = /[\w.-]+/g;
        match.lastIndex = at;
        const found = match.exec(text);
        if (found)
          text =
            text.slice(0, found.index) + rng.pick(TEXT_TOKENS) + text.slice(found.index + found[0].length);
        break;
      }
      case 2: {
        // Delete a range.
        const length = 1 + rng.below(Math.min(32, Math.max(1, n - at)));
        text = text.slice(0, at) + text.slice(at + length);
        break;
      }
      case 3: {
        // Duplicate or drop a line.
        const lines = text.split('\n');
        const i = rng.below(lines.length);
        if (rng.chance(0.5)) lines.splice(i, 0, lines[i]);
        else lines.splice(i, 1);
        text = lines.join('\n');
        break;
      }
      case 4: {
        // A line from another seed.
        const other = others.length ? rng.pick(others) : text;
        const lines = other.split('\n');
        const mine = text.split('\n');
        mine.splice(rng.below(mine.length + 1), 0, rng.pick(lines));
        text = mine.join('\n');
        break;
      }
      case 5: {
        // Change a number.
        const numbers = /-?(0x)?[0-9a-fA-F]+/g;
        numbers.lastIndex = at;
        const found = numbers.exec(text);
        if (found)
          text =
            text.slice(0, found.index) +
            rng.pick(TEXT_TOKENS.slice(0, 10)) +
            text.slice(found.index + found[0].length);
        break;
      }
      default: {
        const bytes = mutateBytes(new TextEncoder().encode(text), rng, [], 1);
        text = new TextDecoder().decode(bytes);
      }
    }
  }
  return text;
}
