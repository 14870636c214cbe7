// The .kconfig value rules of libbpf, table-driven; no kernel needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  KconfigError,
  type KconfigExtern,
  type KconfigType,
  kconfigValue,
  kernelVersionCode,
  parseKconfig,
} from './kconfig.js';

const config = parseKconfig(
  [
    '# comment',
    'CONFIG_Y=y',
    'CONFIG_M=m',
    'CONFIG_N=n',
    '# CONFIG_UNSET is not set',
    'CONFIG_HZ=250',
    'CONFIG_HEX=0x1f',
    'CONFIG_NEG=-5',
    'CONFIG_STR="hello world"',
  ].join('\n'),
);

const ext = (type: KconfigType, size: number, weak = false, name = 'X'): KconfigExtern => ({
  name,
  type,
  offset: 0,
  size,
  weak,
});

/** [config name, extern type, size, expected bytes or the error it gives]. */
const CASES: ReadonlyArray<readonly [string, KconfigType, number, readonly number[] | RegExp]> = [
  ['CONFIG_Y', { kind: 'bool' }, 1, [1]],
  ['CONFIG_N', { kind: 'bool' }, 1, [0]],
  ['CONFIG_M', { kind: 'bool' }, 1, /'m' is not supported for bool/],
  ['CONFIG_Y', { kind: 'tristate' }, 4, [1, 0, 0, 0]],
  ['CONFIG_M', { kind: 'tristate' }, 4, [2, 0, 0, 0]],
  ['CONFIG_N', { kind: 'tristate' }, 4, [0, 0, 0, 0]],
  ['CONFIG_M', { kind: 'char' }, 1, [0x6d]],
  ['CONFIG_Y', { kind: 'int', size: 4, signed: true }, 4, /implies tristate or char/],
  ['CONFIG_HZ', { kind: 'int', size: 4, signed: true }, 4, [250, 0, 0, 0]],
  ['CONFIG_HEX', { kind: 'int', size: 2, signed: false }, 2, [0x1f, 0]],
  ['CONFIG_NEG', { kind: 'int', size: 1, signed: true }, 1, [0xfb]],
  ['CONFIG_NEG', { kind: 'int', size: 1, signed: false }, 1, /does not fit/],
  ['CONFIG_HZ', { kind: 'int', size: 1, signed: true }, 1, /does not fit/],
  ['CONFIG_HZ', { kind: 'bool' }, 1, /implies an integer/],
  ['CONFIG_STR', { kind: 'chars', size: 8 }, 8, [...new TextEncoder().encode('hello w'), 0]],
  ['CONFIG_STR', { kind: 'int', size: 4, signed: false }, 4, /implies a char array/],
];

for (const [name, type, size, expected] of CASES) {
  test(`${name} as ${type.kind}${'size' in type ? size : ''}`, () => {
    const run = () => kconfigValue([{ ...ext(type, size), name }], size, { config });
    if (expected instanceof RegExp)
      assert.throws(run, (e: unknown) => e instanceof KconfigError && expected.test(e.message));
    else assert.deepEqual([...run()], expected);
  });
}

test('missing values: weak externs are 0, strong ones an error', () => {
  assert.deepEqual([...kconfigValue([ext({ kind: 'bool' }, 1, true, 'CONFIG_UNSET')], 1, { config })], [0]);
  assert.throws(
    () => kconfigValue([ext({ kind: 'bool' }, 1, false, 'CONFIG_UNSET')], 1, { config }),
    /value not found/,
  );
});

test('LINUX_KERNEL_VERSION comes from the release, patch capped at 255', () => {
  assert.equal(kernelVersionCode('6.18.44-fc-v782'), (6 << 16) + (18 << 8) + 44);
  assert.equal(kernelVersionCode('5.4.300'), (5 << 16) + (4 << 8) + 255);
  const bytes = kconfigValue(
    [ext({ kind: 'int', size: 4, signed: false }, 4, false, 'LINUX_KERNEL_VERSION')],
    4,
    {
      release: '5.15.0',
    },
  );
  assert.equal(new DataView(bytes.buffer).getUint32(0, true), (5 << 16) + (15 << 8));
});

test('overrides win over the config', () => {
  const bytes = kconfigValue([{ ...ext({ kind: 'int', size: 4, signed: true }, 4), name: 'CONFIG_HZ' }], 4, {
    config,
    overrides: new Map([['CONFIG_HZ', '1000']]),
  });
  assert.equal(new DataView(bytes.buffer).getInt32(0, true), 1000);
});
