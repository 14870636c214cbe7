/** strtol, strtoul, strncmp, snprintf and trace_vprintk against values measured on Linux 6.18. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno } from '../../errno.js';
import { VmMemory } from '../memory.js';
import { bprintf } from './bprintf.js';
import { VmAddressSpace } from './probe.js';
import { stringHelpers, strncmp, strtol, strtoul } from './strings.js';
import { bareEnv, call, cstr, helperVm, neg } from './test-util.js';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const { EINVAL, ERANGE } = Errno;

describe('bpf_strtol / bpf_strtoul (kernel table)', () => {
  // [buf, buf_len, flags, strtol r0, strtol res, strtoul r0, strtoul res], from a raw_tp run.
  const rows: Array<[string, number, bigint, number, bigint, number, bigint]> = [
    ['123', 3, 0n, 3, 123n, 3, 123n],
    ['  -0x1f', 7, 0n, 7, -31n, -EINVAL, 0n],
    ['0x', 2, 0n, 1, 0n, 1, 0n],
    ['0x', 2, 16n, -EINVAL, 0n, -EINVAL, 0n],
    ['\0', 1, 0n, -EINVAL, 0n, -EINVAL, 0n],
    ['abc', 3, 0n, -EINVAL, 0n, -EINVAL, 0n],
    ['99999999999999999999', 20, 0n, -ERANGE, 0n, -ERANGE, 0n],
    ['-5', 2, 0n, 2, -5n, -EINVAL, 0n],
    ['0777', 4, 0n, 4, 511n, 4, 511n],
    ['12', 2, 33n, -EINVAL, 0n, -EINVAL, 0n],
    ['12', 2, 7n, -EINVAL, 0n, -EINVAL, 0n],
    ['9223372036854775808', 19, 10n, -ERANGE, 0n, 19, 2n ** 63n],
    ['-9223372036854775808', 20, 10n, 20, -(2n ** 63n), -EINVAL, 0n],
    ['18446744073709551615', 20, 10n, -ERANGE, 0n, 20, 2n ** 64n - 1n],
    ['+7', 2, 0n, -EINVAL, 0n, -EINVAL, 0n],
    ['12abc', 5, 16n, 5, 0x12abcn, 5, 0x12abcn],
    ['1234', 2, 10n, 2, 12n, 2, 12n],
    ['-', 1, 0n, -EINVAL, 0n, -EINVAL, 0n],
    [' \t\n12', 5, 0n, 5, 12n, 5, 12n],
    ['0x1g', 4, 0n, 3, 1n, 3, 1n],
    ['089', 3, 0n, 1, 0n, 1, 0n],
    ['-0', 2, 0n, 2, 0n, -EINVAL, 0n],
    ['   ', 3, 0n, -EINVAL, 0n, -EINVAL, 0n],
    ['12', 2, 0x100n, -EINVAL, 0n, -EINVAL, 0n],
  ];
  for (const [text, length, flags, lr, lv, ur, uv] of rows) {
    test(`${JSON.stringify(text)} len ${length} flags ${flags}`, () => {
      const bytes = enc(text).subarray(0, length);
      assert.deepEqual(strtol(bytes, flags), [lr, lv]);
      assert.deepEqual(strtoul(bytes, flags), [ur, uv]);
    });
  }

  test('through a program: *res is written, r0 is the count consumed', () => {
    const { run } = helperVm();
    // "-42" on the stack; strtol(buf, 3, 0, &res); return res + r0 * 1000
    const r0 = run(`
      r1 = 0x32342d ll
      *(u64 *)(r10 - 8) = r1
      r1 = r10
      r1 += -8
      r2 = 3
      r3 = 0
      r4 = r10
      r4 += -16
      call 105
      r1 = *(u64 *)(r10 - 16)
      r0 *= 1000
      r0 += r1
      exit`);
    assert.equal(BigInt.asIntN(64, r0), 3000n - 42n);
  });
});

describe('bpf_strncmp', () => {
  test('is strncmp(s1, s2, s1_sz): -1, 0 or 1 (kernel: "help" vs "hello" is 1)', () => {
    assert.equal(strncmp(enc('hello'), cstr('hello'), 5), 0);
    assert.equal(strncmp(enc('help\0'), cstr('hello'), 5), 1);
    assert.equal(strncmp(enc('hellz'), cstr('hello'), 5), 1);
    assert.equal(strncmp(enc('hel'), cstr('hello'), 3), 0);
    assert.equal(strncmp(cstr('hello\0\0'), cstr('hello'), 8), 0);
    assert.equal(strncmp(enc('abc'), cstr('abd'), 3), -1);
  });

  test('through the helper, s2 a NUL-terminated string', () => {
    const env = bareEnv();
    const a = env.memory.allocCopy(enc('abc'), { name: 's1' });
    const b = env.memory.allocCopy(cstr('abd'), { name: 's2' });
    assert.equal(call(stringHelpers(), env, 'strncmp', BigInt(a.start), 3n, BigInt(b.start)), neg(1));
    assert.equal(call(stringHelpers(), env, 'strncmp', BigInt(a.start), 2n, BigInt(b.start)), 0n);
  });
});

describe('bpf_snprintf formatting (kernel table)', () => {
  const memory = new VmMemory();
  const hello = BigInt(memory.allocCopy(cstr('hello'), { name: 'hello' }).start);
  const ip4 = BigInt(memory.allocCopy(new Uint8Array([1, 2, 3, 4]), { name: 'ip4' }).start);
  const ip6 = BigInt(
    memory.allocCopy(new Uint8Array([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), {
      name: 'ip6',
    }).start,
  );
  const source = { memory, space: new VmAddressSpace() };
  const m1 = 2n ** 64n - 1n;
  // [format, args, kernel output or -errno]
  const rows: Array<[string, bigint[], string | number]> = [
    ['%d %i %u %x', [m1, m1 - 1n, m1 - 2n, 0xdeadbeefcafen], '-1 -2 4294967293 beefcafe'],
    [
      '%ld %lu %lx %llu %lld',
      [m1, m1, m1, m1, m1],
      '-1 18446744073709551615 ffffffffffffffff 18446744073709551615 -1',
    ],
    ['[%5d|%-5d|%05d|%+d|% d]', [42n, 42n, 42n, 42n, 42n], '[   42|42   |00042|+42| 42]'],
    ['%s!', [hello], 'hello!'],
    ['%c%c', [0x68n, 0x169n], 'hi'],
    ['%pI4 %pi4', [ip4, ip4], '1.2.3.4 001.002.003.004'],
    ['%pI6', [ip6], '2001:0db8:0000:0000:0000:0000:0000:0001'],
    ['%pI6c', [ip6], '2001:0db8:0000:0000:0000:0000:0000:0001'],
    ['%pi6', [ip6], '20010db8000000000000000000000001'],
    ['%pI4x.', [ip4], '1.2.3.4.'],
    ['%pI4', [0n], '0.0.0.0'],
    ['%px', [0x1234n], '0000000000001234'],
    ['%p', [0n], '0000000000000000'],
    ['%ps %pS %pB', [0x1234n, 0x1234n, 0x1234n], '0x1234 0x1234 0x1234'],
    ['%pks', [hello], 'hello'],
    ['%pus', [hello], ''],
    ['%d', [1n, 2n, 3n], '1'],
    ['100%% sure', [], '100% sure'],
    ['%X %lX', [0xabcn, 0xabcdef123n], 'ABC ABCDEF123'],
    ['%s', [0n], ''],
    ['%s', [16n], ''],
    ['%5c|%-4c|', [0x41n, 0x7an], '    A|z   |'],
    ['%5s|%-6s|%05s', [hello, hello, hello], 'hello|hello |hello'],
    ['%-08d|%0-8d', [5n, 5n], '5       |5       '],
    ['%+u %+x % x', [5n, 5n, 5n], '5 5 5'],
    ['% +d|%+ d|%+d|%-+5d', [3n, 3n, m1 - 2n, 3n], '+3|+3|-3|+3   '],
    ['%10lx|%-3llx|', [0xabcn, 0xabcn], '       abc|abc|'],
    ['%ld %d %u %08x', [0x80000000n, 0x80000000n, 0x100000001n, m1], '2147483648 -2147483648 1 ffffffff'],
    ['%d%d%d%d%d%d%d%d%d%d%d%d', [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n], '123456789101112'],
    ['%c', [0n], '\0'],
    // Formats the kernel's verifier refuses ("Invalid format string").
    ['%pM', [hello], -EINVAL],
    ['%d %d', [1n], -EINVAL],
    ['%#x', [1n], -EINVAL],
    ['%.3d', [1n], -EINVAL],
    ['%hd', [5n], -EINVAL],
    ['%5%', [1n], -EINVAL],
    ['%z', [1n], -EINVAL],
    ['%sx', [hello], -EINVAL],
    ['%lllx', [1n], -EINVAL],
    ['%pa', [1n], -EINVAL],
    ['\x01', [], -EINVAL],
  ];
  for (const [format, args, expected] of rows) {
    test(JSON.stringify(format), () => {
      assert.equal(bprintf(enc(format), args, source), expected);
    });
  }

  test('a %s is cut to what is left of the 512-byte argument buffer', () => {
    const long = BigInt(memory.allocCopy(cstr('x'.repeat(600)), { name: 'long' }).start);
    const out = bprintf(enc('%s'), [long], source);
    assert.equal(out, 'x'.repeat(511));
  });
});

describe('bpf_snprintf helper: sizes and argument rules', () => {
  const setup = () => {
    const env = bareEnv();
    const helpers = stringHelpers();
    const fmt = (text: string) => BigInt(env.memory.allocCopy(cstr(text), { name: 'fmt' }).start);
    const args = (...values: bigint[]) => {
      const region = env.memory.alloc(Math.max(values.length * 8, 8), { name: 'args' });
      for (const [i, v] of values.entries()) env.memory.view.setBigUint64(region.start + i * 8, v, true);
      return BigInt(region.start);
    };
    const out = env.memory.alloc(64, { name: 'out' });
    const text = () => {
      const bytes = env.memory.read(out.start, 64);
      return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
    };
    return { env, helpers, fmt, args, out: BigInt(out.start), text };
  };

  test('returns the length needed with the NUL; writes what fits (kernel: "%s" of hello in 4 → 6, "hel")', () => {
    const { env, helpers, fmt, args, out, text } = setup();
    assert.equal(
      call(
        helpers,
        env,
        'snprintf',
        out,
        4n,
        fmt('%s'),
        args(BigInt(env.memory.allocCopy(cstr('hello'), { name: 'h' }).start)),
        8n,
      ),
      6n,
    );
    assert.equal(text(), 'hel');
  });

  test('size 0 with a NULL buffer gives the length (kernel: "abc" → 4)', () => {
    const { env, helpers, fmt } = setup();
    assert.equal(call(helpers, env, 'snprintf', 0n, 0n, fmt('abc'), 0n, 0n), 4n);
  });

  test('data_len not a multiple of 8, above 96, or with NULL data is -EINVAL (kernel: 104 → -22)', () => {
    const { env, helpers, fmt, args, out } = setup();
    const a = args(...Array.from({ length: 13 }, () => 1n));
    assert.equal(call(helpers, env, 'snprintf', out, 64n, fmt('%d'), a, 104n), neg(EINVAL));
    assert.equal(call(helpers, env, 'snprintf', out, 64n, fmt('%d'), a, 4n), neg(EINVAL));
    assert.equal(call(helpers, env, 'snprintf', out, 64n, fmt('%d'), 0n, 8n), neg(EINVAL));
    assert.equal(call(helpers, env, 'snprintf', out, 64n, fmt('%d'), a, 96n), 2n);
  });

  test('a 64-char result in a 64-byte buffer is cut to 63 and returns 65 (kernel)', () => {
    const { env, helpers, fmt, args, out, text } = setup();
    const m1 = 2n ** 64n - 1n;
    assert.equal(
      call(helpers, env, 'snprintf', out, 64n, fmt('%ld %lu %lx %llu %lld'), args(m1, m1, m1, m1, m1), 40n),
      65n,
    );
    assert.equal(text(), '-1 18446744073709551615 ffffffffffffffff 18446744073709551615 -');
  });
});

describe('bpf_trace_vprintk and trace_printk', () => {
  test('returns the formatted length, newline included (kernel: "vp %d %s\\n" → 11 with "hello"; 12-byte data → -EINVAL)', () => {
    const { run, lines } = helperVm();
    const r0 = run(`
      r1 = 0x7325206425207076 ll
      *(u64 *)(r10 - 16) = r1
      r1 = 0x0a
      *(u64 *)(r10 - 8) = r1
      r1 = 0x6f6c6c6568 ll
      *(u64 *)(r10 - 24) = r1
      r1 = 7
      *(u64 *)(r10 - 40) = r1
      r1 = r10
      r1 += -24
      *(u64 *)(r10 - 32) = r1
      r1 = r10
      r1 += -16
      r2 = 16
      r3 = r10
      r3 += -40
      r4 = 16
      call 177
      exit`);
    assert.equal(r0, 11n);
    assert.deepEqual(lines, ['vp 7 hello']);
    const bad = run(`
      r1 = 0
      *(u64 *)(r10 - 8) = r1
      *(u64 *)(r10 - 16) = r1
      r1 = r10
      r1 += -8
      r2 = 8
      r3 = r10
      r3 += -16
      r4 = 12
      call 177
      exit`);
    assert.equal(bad, neg(EINVAL));
  });
});
