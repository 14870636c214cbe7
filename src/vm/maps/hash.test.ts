import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ErrnoName } from '../../errno.js';
import { BpfMap } from '../../maps/map.js';
import { MapFlags, UpdateFlags } from '../../maps/ops.js';
import type { MapTypeName } from '../../uapi.js';
import type { HashMap } from './hash.js';
import { keysU32, makeMap, readU32, throwsErrno, u32, u64 } from './test-util.js';

const { ANY, NOEXIST, EXIST, F_LOCK } = UpdateFlags;
const hashTypes: MapTypeName[] = ['HASH', 'PERCPU_HASH', 'LRU_HASH', 'LRU_PERCPU_HASH'];

/** A value of the map's user-space size whose first byte is `n`. */
function valueFor(vm: { userValueSize: number }, n: number): Uint8Array {
  const value = new Uint8Array(vm.userValueSize);
  value[0] = n;
  return value;
}

for (const type of hashTypes) {
  const lru = type.startsWith('LRU');
  describe(type, () => {
    // [element present?, flags, errno] — the kernel's answers (Linux 6.18).
    const flagTable: ReadonlyArray<readonly [boolean, number, ErrnoName | undefined]> = [
      [false, ANY, undefined],
      [false, NOEXIST, undefined],
      [false, EXIST, 'ENOENT'],
      [true, ANY, undefined],
      [true, NOEXIST, 'EEXIST'],
      [true, EXIST, undefined],
      [true, NOEXIST | EXIST, 'EINVAL'],
      [false, NOEXIST | EXIST, 'EINVAL'],
      [true, F_LOCK, 'EINVAL'],
      [true, F_LOCK | EXIST, 'EINVAL'],
      [true, 8, 'EINVAL'],
    ];
    for (const [present, flags, errno] of flagTable) {
      test(`update ${present ? 'existing' : 'missing'} key with flags ${flags}: ${errno ?? 'ok'}`, () => {
        const { vm } = makeMap({ type });
        if (present) vm.update(u32(1), valueFor(vm, 1), ANY);
        if (errno) throwsErrno(() => vm.update(u32(1), valueFor(vm, 2), flags), errno);
        else {
          vm.update(u32(1), valueFor(vm, 2), flags);
          assert.equal(vm.lookup(u32(1))![0], 2);
        }
      });
    }

    test(lru ? 'a full map evicts instead of failing' : 'a full map is E2BIG for new keys only', () => {
      const { vm } = makeMap({ type, maxEntries: 2 });
      vm.update(u32(1), valueFor(vm, 1), ANY);
      vm.update(u32(2), valueFor(vm, 2), ANY);
      if (lru) {
        vm.update(u32(3), valueFor(vm, 3), NOEXIST);
        assert.equal(vm.lookup(u32(1)), undefined);
      } else {
        throwsErrno(() => vm.update(u32(3), valueFor(vm, 3), ANY), 'E2BIG');
        throwsErrno(() => vm.update(u32(3), valueFor(vm, 3), NOEXIST), 'E2BIG');
        throwsErrno(() => vm.update(u32(3), valueFor(vm, 3), EXIST), 'ENOENT');
      }
      vm.update(u32(2), valueFor(vm, 9), EXIST);
      assert.equal(vm.lookup(u32(2))![0], 9);
    });

    test('delete, lookup-and-delete, and reuse of freed slots', () => {
      const { vm } = makeMap({ type, maxEntries: 2 });
      throwsErrno(() => vm.delete(u32(5)), 'ENOENT');
      vm.update(u32(1), valueFor(vm, 1), ANY);
      const key = vm.memory.allocCopy(u32(1), { name: 'key' });
      const before = vm.lookupAddress(key.start, 0);
      vm.delete(u32(1));
      assert.equal(vm.lookupAddress(key.start, 0), 0);
      vm.update(u32(1), valueFor(vm, 4), ANY);
      assert.equal(vm.lookupAddress(key.start, 0), before, 'the freed slot is reused');
      assert.equal(vm.lookupAndDelete(u32(1))![0], 4);
      assert.equal(vm.lookupAndDelete(u32(1)), undefined);
      for (let i = 0; i < 10; i++) {
        vm.update(u32(i), valueFor(vm, i), ANY);
        vm.update(u32(i + 100), valueFor(vm, i), ANY);
        vm.delete(u32(i));
        vm.delete(u32(i + 100));
      }
      assert.equal((vm as HashMap).size, 0);
    });

    test('next key: creation order; a missing key restarts from the first', () => {
      const { map, vm } = makeMap({ type, maxEntries: 8 });
      assert.equal(vm.nextKey(undefined), undefined, 'empty map');
      for (const k of [5, 3, 9, 1]) vm.update(u32(k), valueFor(vm, k), ANY);
      vm.update(u32(3), valueFor(vm, 33), ANY);
      assert.deepEqual(keysU32(map), [5, 3, 9, 1], 'updates keep their place');
      assert.equal(readU32(vm.nextKey(u32(77))), 5);
      assert.equal(readU32(vm.nextKey(u32(9))), 1);
      assert.equal(vm.nextKey(u32(1)), undefined);
      vm.delete(u32(3));
      vm.update(u32(3), valueFor(vm, 3), ANY);
      assert.deepEqual(keysU32(map), [5, 9, 1, 3], 'a re-created key goes last');
    });

    test('frozen maps refuse user-space writes', () => {
      const { vm } = makeMap({ type });
      vm.update(u32(1), valueFor(vm, 1), ANY);
      vm.freeze();
      throwsErrno(() => vm.update(u32(1), valueFor(vm, 1), ANY), 'EPERM');
      throwsErrno(() => vm.delete(u32(1)), 'EPERM');
      throwsErrno(() => vm.lookupAndDelete(u32(1)), 'EPERM');
      assert.equal(vm.lookup(u32(1))![0], 1);
    });

    test('preallocation follows BPF_F_NO_PREALLOC', () => {
      const big = { type, maxEntries: 4096, keySize: 4, valueSize: 8 } as const;
      const pre = makeMap(big).registry.memory.mappedBytes;
      if (lru) {
        throwsErrno(() => makeMap({ ...big, flags: MapFlags.NO_PREALLOC }), 524);
        return;
      }
      const lazy = makeMap({ ...big, flags: MapFlags.NO_PREALLOC });
      assert.ok(lazy.registry.memory.mappedBytes < pre / 10, 'no-prealloc maps map memory as they fill');
      for (let i = 0; i < 4096; i++) lazy.vm.update(u32(i), valueFor(lazy.vm, 1), ANY);
      throwsErrno(() => lazy.vm.update(u32(5000), valueFor(lazy.vm, 1), ANY), 'E2BIG');
    });

    test('matches a model under random operations', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              fc.constantFrom('set', 'delete', 'get'),
              fc.integer({ min: 0, max: 9 }),
              fc.integer({ min: 0, max: 2 }),
            ),
          ),
          (ops) => {
            // LRU maps get room to spare: eviction order has its own test.
            const { vm } = makeMap({ type, maxEntries: lru ? 64 : 6 });
            const model = new Map<number, number>();
            for (const [op, key, flags] of ops) {
              if (op === 'get') {
                assert.equal(vm.lookup(u32(key))?.[0], model.get(key));
              } else if (op === 'delete') {
                const had = model.delete(key);
                if (had) vm.delete(u32(key));
                else throwsErrno(() => vm.delete(u32(key)), 'ENOENT');
              } else {
                const has = model.has(key);
                const expected: ErrnoName | undefined =
                  flags === NOEXIST && has
                    ? 'EEXIST'
                    : flags === EXIST && !has
                      ? 'ENOENT'
                      : !has && model.size >= 6 && !lru
                        ? 'E2BIG'
                        : undefined;
                if (expected) throwsErrno(() => vm.update(u32(key), valueFor(vm, key + 1), flags), expected);
                else {
                  vm.update(u32(key), valueFor(vm, key + 1), flags);
                  model.set(key, key + 1);
                }
              }
            }
            assert.deepEqual(new Set(keysU32(new BpfMap(vm))), new Set(model.keys()));
          },
        ),
      );
    });
  });
}

describe('LRU eviction', () => {
  test('evicts the least recently created, updated, or program-looked-up element', () => {
    const { vm, registry } = makeMap({ type: 'LRU_HASH', maxEntries: 3 });
    for (const k of [1, 2, 3]) vm.update(u32(k), u64(k), ANY);
    // A program lookup of 1 makes it recent; a user-space lookup of 2 does not.
    const key = registry.memory.allocCopy(u32(1), { name: 'key' });
    assert.notEqual(vm.lookupAddress(key.start, 0), 0);
    vm.lookup(u32(2));
    vm.update(u32(4), u64(4), ANY);
    assert.equal(vm.lookup(u32(2)), undefined, '2 was least recently used');
    vm.update(u32(3), u64(33), EXIST); // 3 is now more recent than 1
    vm.update(u32(5), u64(5), ANY);
    assert.equal(vm.lookup(u32(1)), undefined);
    vm.update(u32(6), u64(6), ANY);
    assert.equal(vm.lookup(u32(4)), undefined);
    assert.deepEqual(
      [3, 5, 6].map((k) => vm.lookup(u32(k)) !== undefined),
      [true, true, true],
    );
  });

  test('evicted slots are reused: memory does not grow', () => {
    const { vm, registry } = makeMap({ type: 'LRU_PERCPU_HASH', maxEntries: 4 });
    const mapped = registry.memory.mappedBytes;
    for (let i = 0; i < 100; i++) vm.update(u32(i), new Uint8Array(16), ANY);
    assert.equal(registry.memory.mappedBytes, mapped);
    assert.deepEqual(
      keysU32(new BpfMap(vm)).sort((a, b) => a - b),
      [96, 97, 98, 99],
    );
  });
});

describe('PERCPU_HASH program side', () => {
  test('a program writes only its CPU slot; a new element is zero on the others', () => {
    const { vm, registry } = makeMap({ type: 'PERCPU_HASH', valueSize: 4 }, 2);
    const key = registry.memory.allocCopy(u32(7), { name: 'key' });
    const value = registry.memory.allocCopy(u32(0xaabbccdd), { name: 'value' });
    assert.equal(vm.updateFromProgram(key.start, value.start, ANY, 1), 0);
    assert.deepEqual((new BpfMap(vm).get(u32(7)) as unknown as Uint8Array[]).map(readU32), [0, 0xaabbccdd]);
    assert.equal(vm.updateFromProgram(key.start, value.start, NOEXIST, 0), -17);
    assert.equal(vm.deleteFromProgram(key.start), 0);
    assert.equal(vm.deleteFromProgram(key.start), -2);
  });
});

describe('hash creation', () => {
  test('attribute errors', () => {
    throwsErrno(() => makeMap({ type: 'HASH', keySize: 0 }), 'EINVAL');
    throwsErrno(() => makeMap({ type: 'HASH', valueSize: 0 }), 'EINVAL');
    throwsErrno(() => makeMap({ type: 'HASH', maxEntries: 0 }), 'EINVAL');
    throwsErrno(() => makeMap({ type: 'HASH', flags: MapFlags.MMAPABLE }), 'EINVAL');
    throwsErrno(() => makeMap({ type: 'HASH', flags: MapFlags.NO_COMMON_LRU }), 'EINVAL');
    throwsErrno(() => makeMap({ type: 'HASH', maxEntries: 2 ** 31 + 1 }), 'E2BIG');
    throwsErrno(() => makeMap({ type: 'HASH', maxEntries: 2 ** 30 }), 'ENOMEM', 'the VM refuses gigabytes');
    makeMap({ type: 'LRU_HASH', flags: MapFlags.NO_COMMON_LRU });
  });
});
