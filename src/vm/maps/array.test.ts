import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MapFlags, UpdateFlags } from '../../maps/ops.js';
import type { ArrayMap } from './array.js';
import { keysU32, makeMap, readU32, throwsErrno, u32, u64 } from './test-util.js';

describe('ARRAY', () => {
  test('every element exists and starts zeroed', () => {
    const { map } = makeMap({ type: 'ARRAY' });
    assert.deepEqual([...map.get(u32(3))!], [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(map.get(u32(4)), undefined, 'index >= max_entries: ENOENT');
    map.set(u32(1), u64(7));
    assert.deepEqual(map.get(u32(1)), u64(7));
  });

  // Each row was checked against Linux 6.18 (see the kernel differential test too).
  const updates: ReadonlyArray<readonly [string, number, number, 'EINVAL' | 'E2BIG' | 'EEXIST' | undefined]> =
    [
      ['BPF_ANY', 0, UpdateFlags.ANY, undefined],
      ['BPF_EXIST', 0, UpdateFlags.EXIST, undefined],
      ['BPF_NOEXIST: elements always exist', 0, UpdateFlags.NOEXIST, 'EEXIST'],
      ['NOEXIST|EXIST', 0, 3, 'EINVAL'],
      ['BPF_F_LOCK without a spin lock', 0, UpdateFlags.F_LOCK, 'EINVAL'],
      ['unknown flag', 0, 8, 'EINVAL'],
      ['index out of range', 4, UpdateFlags.ANY, 'E2BIG'],
      ['index out of range with NOEXIST', 4, UpdateFlags.NOEXIST, 'E2BIG'],
      ['bad flags win over the range check', 4, 8, 'EINVAL'],
    ];
  for (const [name, index, flags, errno] of updates) {
    test(`update: ${name}`, () => {
      const { vm } = makeMap({ type: 'ARRAY' });
      if (errno) throwsErrno(() => vm.update(u32(index), u64(1), flags), errno);
      else vm.update(u32(index), u64(1), flags);
    });
  }

  test('delete is EINVAL, lookup-and-delete ENOTSUPP', () => {
    const { vm } = makeMap({ type: 'ARRAY' });
    throwsErrno(() => vm.delete(u32(0)), 'EINVAL');
    throwsErrno(() => vm.delete(u32(9)), 'EINVAL');
    throwsErrno(() => vm.lookupAndDelete(u32(0)), 524);
  });

  test('next key: 0 first, after the last none, after an out-of-range index 0', () => {
    const { map, vm } = makeMap({ type: 'ARRAY' });
    assert.deepEqual(keysU32(map), [0, 1, 2, 3]);
    assert.equal(readU32(vm.nextKey(u32(2))), 3);
    assert.equal(vm.nextKey(u32(3)), undefined);
    assert.equal(readU32(vm.nextKey(u32(99))), 0);
  });

  test('freeze: user-space writes are EPERM, reads and program writes go on', () => {
    const { vm, registry } = makeMap({ type: 'ARRAY', maxEntries: 1, flags: MapFlags.MMAPABLE });
    vm.update(u32(0), u64(5), 0);
    vm.freeze();
    throwsErrno(() => vm.update(u32(0), u64(6), 0), 'EPERM');
    throwsErrno(() => vm.delete(u32(0)), 'EPERM');
    throwsErrno(() => vm.freeze(), 'EPERM', 'a second freeze');
    assert.deepEqual(vm.lookup(u32(0)), u64(5));
    const value = (vm as ArrayMap).directValueAddress(0)!;
    registry.memory.view.setUint32(value, 9, true);
    assert.deepEqual(vm.lookup(u32(0)), u64(9));
  });

  test('BPF_F_RDONLY: user-space updates are EPERM; BPF_F_WRONLY: lookups are', () => {
    throwsErrno(
      () => makeMap({ type: 'ARRAY', flags: MapFlags.RDONLY }).vm.update(u32(0), u64(1), 0),
      'EPERM',
    );
    throwsErrno(() => makeMap({ type: 'ARRAY', flags: MapFlags.WRONLY }).vm.lookup(u32(0)), 'EPERM');
  });

  test('BPF_F_RDONLY_PROG: the values are read-only memory to programs', () => {
    const { vm, registry } = makeMap({ type: 'ARRAY', maxEntries: 1, flags: MapFlags.RDONLY_PROG });
    const address = (vm as ArrayMap).valueAddress(0);
    assert.equal(registry.memory.find(address, 8)?.writable, false);
    vm.update(u32(0), u64(3), 0);
    assert.deepEqual(vm.lookup(u32(0)), u64(3), 'user space still writes until frozen');
  });

  test('values keep their padding to 8 bytes and their address', () => {
    const { vm } = makeMap({ type: 'ARRAY', valueSize: 3 });
    const array = vm as ArrayMap;
    assert.equal(array.valueAddress(1) - array.valueAddress(0), 8);
    vm.update(u32(2), new Uint8Array([1, 2, 3]), 0);
    assert.deepEqual([...vm.lookup(u32(2))!], [1, 2, 3]);
  });

  test('direct value address: single-element arrays only, offsets below value_size', () => {
    const single = makeMap({ type: 'ARRAY', maxEntries: 1 }).vm as ArrayMap;
    assert.notEqual(single.directValueAddress(7), undefined);
    assert.equal(single.directValueAddress(8), undefined);
    assert.equal((makeMap({ type: 'ARRAY' }).vm as ArrayMap).directValueAddress(0), undefined);
  });

  test('closed maps are EBADF', () => {
    const { vm } = makeMap({ type: 'ARRAY' });
    vm.close();
    throwsErrno(() => vm.lookup(u32(0)), 'EBADF');
  });
});

describe('PERCPU_ARRAY', () => {
  test('user space sees one 8-byte-padded slot per CPU', () => {
    const { map, vm } = makeMap({ type: 'PERCPU_ARRAY', valueSize: 4 }, 3);
    assert.equal(vm.possibleCpus, 3);
    const values = map.get(u32(0)) as unknown as Uint8Array[];
    assert.equal(values.length, 3);
    map.set(u32(1), [u32(1), u32(2), u32(3)] as unknown as Uint8Array);
    assert.deepEqual((map.get(u32(1)) as unknown as Uint8Array[]).map(readU32), [1, 2, 3]);
    assert.equal(vm.lookup(u32(1))!.length, 24, 'the raw value has 3 slots of 8 bytes');
  });

  test('a program on CPU n sees slot n', () => {
    const { vm } = makeMap({ type: 'PERCPU_ARRAY', valueSize: 4 }, 2);
    vm.update(u32(2), new Uint8Array([...u32(10), 0, 0, 0, 0, ...u32(20), 0, 0, 0, 0]), 0);
    const memory = vm.memory;
    const key = memory.allocCopy(u32(2), { name: 'key' });
    for (const [cpu, expected] of [
      [0, 10],
      [1, 20],
    ]) {
      const address = vm.lookupAddress(key.start, cpu);
      assert.equal(memory.view.getUint32(address, true), expected);
    }
  });

  test('BPF_F_MMAPABLE is EINVAL for per-CPU arrays', () => {
    throwsErrno(() => makeMap({ type: 'PERCPU_ARRAY', flags: MapFlags.MMAPABLE }), 'EINVAL');
  });
});
