import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { BpfMap } from '../../maps/map.js';
import { MapFlags, UpdateFlags } from '../../maps/ops.js';
import { makeMap, readU32, throwsErrno, u32 } from './test-util.js';

/** An IPv4 LPM key: prefixlen (host order) + 4 address bytes. */
function v4(cidr: string): Uint8Array {
  const [address, length] = cidr.split('/');
  return new Uint8Array([...u32(Number(length ?? 32)), ...address.split('.').map(Number)]);
}
const text = (key: Uint8Array): string => `${[...key.subarray(4)].join('.')}/${readU32(key)}`;

function trie(maxEntries = 16): BpfMap {
  return makeMap({ type: 'LPM_TRIE', keySize: 8, valueSize: 4, maxEntries, flags: MapFlags.NO_PREALLOC }).map;
}

describe('LPM_TRIE', () => {
  test('longest prefix wins, /0 matches everything, /32 only itself', () => {
    const map = trie();
    map.set(v4('0.0.0.0/0'), u32(0));
    map.set(v4('10.0.0.0/8'), u32(8));
    map.set(v4('10.1.0.0/16'), u32(16));
    map.set(v4('10.1.2.3/32'), u32(32));
    const lookup = (cidr: string): number | undefined => readU32(map.get(v4(cidr)));
    assert.equal(lookup('10.1.2.3'), 32);
    assert.equal(lookup('10.1.2.4'), 16);
    assert.equal(lookup('10.2.0.0'), 8);
    assert.equal(lookup('192.168.0.1'), 0);
    assert.equal(lookup('10.1.2.3/24'), 16, "the lookup key's prefixlen caps the match");
    assert.equal(lookup('10.1.2.3/0'), 0);
    assert.equal(map.get(v4('10.1.2.3/33')), undefined, 'prefixlen above the maximum: ENOENT');
  });

  test('update and delete use the exact prefix; host bits are ignored for matching but kept', () => {
    const map = trie();
    map.set(v4('192.168.0.0/16'), u32(1));
    map.set(v4('192.168.9.9/16'), u32(2));
    assert.equal([...map.keys()].length, 1);
    assert.equal(text([...map.keys()][0]), '192.168.9.9/16', 'the stored key is the last one given');
    assert.equal(readU32(map.get(v4('192.168.200.1'))), 2);
    assert.equal(map.delete(v4('192.168.0.0/24')), false, 'no /24: ENOENT');
    assert.equal(map.delete(v4('192.168.1.1/16')), true);
    assert.equal(map.get(v4('192.168.0.1')), undefined);
  });

  test('flags and errors as the kernel', () => {
    const { vm } = makeMap({
      type: 'LPM_TRIE',
      keySize: 8,
      valueSize: 4,
      maxEntries: 2,
      flags: MapFlags.NO_PREALLOC,
    });
    throwsErrno(() => vm.update(v4('1.2.3.4/33'), u32(1), 0), 'EINVAL');
    throwsErrno(() => vm.delete(v4('1.2.3.4/33')), 'EINVAL');
    throwsErrno(() => vm.update(v4('1.0.0.0/8'), u32(1), UpdateFlags.EXIST), 'ENOENT');
    vm.update(v4('1.0.0.0/8'), u32(1), UpdateFlags.NOEXIST);
    throwsErrno(() => vm.update(v4('1.0.0.0/8'), u32(1), UpdateFlags.NOEXIST), 'EEXIST');
    throwsErrno(() => vm.update(v4('1.0.0.0/8'), u32(1), 3), 'EINVAL');
    throwsErrno(() => vm.update(v4('1.0.0.0/8'), u32(1), UpdateFlags.F_LOCK), 'EINVAL');
    vm.update(v4('2.0.0.0/8'), u32(2), 0);
    throwsErrno(() => vm.update(v4('3.0.0.0/8'), u32(3), 0), 'ENOSPC');
    vm.update(v4('2.0.0.0/8'), u32(22), UpdateFlags.EXIST);
    throwsErrno(() => vm.delete(v4('9.0.0.0/8')), 'ENOENT');
    throwsErrno(() => vm.lookupAndDelete(v4('1.0.0.0/8')), 524);
  });

  test('creation needs BPF_F_NO_PREALLOC and 5 <= key_size <= 260', () => {
    throwsErrno(() => makeMap({ type: 'LPM_TRIE', keySize: 8 }), 'EINVAL');
    throwsErrno(() => makeMap({ type: 'LPM_TRIE', keySize: 4, flags: MapFlags.NO_PREALLOC }), 'EINVAL');
    throwsErrno(() => makeMap({ type: 'LPM_TRIE', keySize: 261, flags: MapFlags.NO_PREALLOC }), 'EINVAL');
    makeMap({ type: 'LPM_TRIE', keySize: 260, flags: MapFlags.NO_PREALLOC });
  });

  test('next key: post-order, 0-branch first (the order Linux 6.18 printed)', () => {
    const map = trie();
    for (const cidr of [
      '1.1.1.1/32',
      '1.1.1.0/32',
      '1.1.1.0/31',
      '128.0.0.0/1',
      '0.0.0.0/1',
      '1.0.0.0/8',
      '255.255.255.255/32',
    ])
      map.set(v4(cidr), u32(1));
    assert.deepEqual([...map.keys()].map(text), [
      '1.1.1.0/32',
      '1.1.1.1/32',
      '1.1.1.0/31',
      '1.0.0.0/8',
      '0.0.0.0/1',
      '255.255.255.255/32',
      '128.0.0.0/1',
    ]);
    const second = trie();
    for (const cidr of [
      '192.168.0.0/16',
      '192.168.0.0/24',
      '192.168.1.0/24',
      '192.168.128.0/24',
      '0.0.0.0/0',
    ])
      second.set(v4(cidr), u32(1));
    assert.deepEqual([...second.keys()].map(text), [
      '192.168.0.0/24',
      '192.168.1.0/24',
      '192.168.128.0/24',
      '192.168.0.0/16',
      '0.0.0.0/0',
    ]);
    assert.equal(text(second.ops.nextKey(v4('1.2.3.4/20'))!), '192.168.0.0/24', 'missing key: the first');
    assert.equal(text(second.ops.nextKey(v4('1.2.3.4/33'))!), '192.168.0.0/24');
    assert.equal(second.ops.nextKey(v4('0.0.0.0/0')), undefined);
  });

  test('lookup agrees with a brute-force longest-prefix match', () => {
    const prefix = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }));
    fc.assert(
      fc.property(
        fc.array(prefix, { maxLength: 20 }),
        fc.array(prefix, { maxLength: 20 }),
        (stored, probes) => {
          const map = trie(64);
          const key = ([address, length]: [number, number]): Uint8Array =>
            new Uint8Array([
              ...u32(length),
              address >>> 24,
              (address >>> 16) & 255,
              (address >>> 8) & 255,
              address & 255,
            ]);
          const maskOf = (length: number): number => (length === 0 ? 0 : (~0 << (32 - length)) >>> 0);
          const model = new Map<string, number>();
          stored.forEach(([address, length], i) => {
            map.set(key([address, length]), u32(i));
            model.set(`${(address & maskOf(length)) >>> 0}/${length}`, i);
          });
          for (const [address, length] of probes) {
            let expected: number | undefined;
            for (let l = length; l >= 0 && expected === undefined; l--)
              expected = model.get(`${(address & maskOf(l)) >>> 0}/${l}`);
            assert.equal(readU32(map.get(key([address, length]))), expected);
          }
          assert.equal([...map.keys()].length, model.size);
        },
      ),
    );
  });
});
