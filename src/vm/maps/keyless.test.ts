import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MapFlags, UpdateFlags } from '../../maps/ops.js';
import type { BloomFilterMap } from './bloom-filter.js';
import { makeMap, readU32, throwsErrno, u32 } from './test-util.js';

const keyless = { keySize: 0, valueSize: 4, maxEntries: 3 } as const;

describe('QUEUE and STACK', () => {
  for (const type of ['QUEUE', 'STACK'] as const) {
    test(`${type}: push, peek, pop, full, empty`, () => {
      const { map, vm } = makeMap({ type, ...keyless });
      assert.equal(map.pop(), undefined, 'empty pop: ENOENT');
      assert.equal(map.peek(), undefined);
      for (const n of [1, 2, 3]) map.push(u32(n));
      throwsErrno(() => map.push(u32(4)), 'E2BIG');
      throwsErrno(() => vm.update(null, u32(4), UpdateFlags.NOEXIST), 'EINVAL');
      throwsErrno(() => vm.update(null, u32(4), 3), 'EINVAL');
      throwsErrno(() => vm.update(null, u32(4), UpdateFlags.F_LOCK), 'EINVAL');
      // BPF_EXIST drops the oldest (the queue's head, the stack's bottom).
      map.push(u32(4), { mode: 'exist' });
      const order = type === 'QUEUE' ? [2, 3, 4] : [4, 3, 2];
      assert.equal(readU32(map.peek()), order[0]);
      assert.deepEqual([map.pop(), map.pop(), map.pop(), map.pop()].map(readU32), [...order, undefined]);
      throwsErrno(() => vm.delete(null), 'EINVAL');
      throwsErrno(() => vm.nextKey(undefined), 'EINVAL');
    });

    test(`${type}: wraps around its ring many times`, () => {
      const { map } = makeMap({ type, ...keyless });
      const model: number[] = [];
      for (let i = 0; i < 50; i++) {
        if (i % 3 === 2) {
          const expected = type === 'QUEUE' ? model.shift() : model.pop();
          assert.equal(readU32(map.pop()), expected);
        } else {
          map.push(u32(i), { mode: 'exist' });
          model.push(i);
          if (model.length > 3) model.shift();
        }
      }
    });

    test(`${type}: creation and freeze`, () => {
      throwsErrno(() => makeMap({ type, ...keyless, keySize: 4 }), 'EINVAL');
      throwsErrno(() => makeMap({ type, ...keyless, flags: MapFlags.NO_PREALLOC }), 'EINVAL');
      const { map, vm } = makeMap({ type, ...keyless });
      map.push(u32(1));
      vm.freeze();
      throwsErrno(() => map.push(u32(2)), 'EPERM');
      throwsErrno(() => map.pop(), 'EPERM');
      assert.equal(readU32(map.peek()), 1);
    });
  }

  test('program push/pop/peek copy through VM memory', () => {
    const { vm } = makeMap({ type: 'QUEUE', ...keyless });
    const buffer = vm.memory.allocCopy(u32(42), { name: 'buffer' });
    assert.equal(vm.pushFromProgram(buffer.start, UpdateFlags.ANY), 0);
    assert.equal(vm.peekFromProgram(buffer.start + 0), 0);
    vm.memory.view.setUint32(buffer.start, 0, true);
    assert.equal(vm.popFromProgram(buffer.start), 0);
    assert.equal(vm.memory.view.getUint32(buffer.start, true), 42);
    assert.equal(vm.popFromProgram(buffer.start), -2);
    assert.equal(vm.lookupAddress(buffer.start, 0), 0);
  });
});

describe('BLOOM_FILTER', () => {
  const bloom = { type: 'BLOOM_FILTER', keySize: 0, valueSize: 4, maxEntries: 100 } as const;

  test('kernel rules: ANY only, no delete, no keys, map_extra = hash count', () => {
    const { vm } = makeMap(bloom);
    assert.equal((vm as BloomFilterMap).hashes, 5);
    assert.equal((makeMap({ ...bloom, mapExtra: 3n }).vm as BloomFilterMap).hashes, 3);
    throwsErrno(() => makeMap({ ...bloom, mapExtra: 16n }), 'EINVAL');
    throwsErrno(() => makeMap({ ...bloom, keySize: 4 }), 'EINVAL');
    throwsErrno(() => vm.update(null, u32(1), UpdateFlags.EXIST), 'EINVAL');
    throwsErrno(() => vm.update(null, u32(1), UpdateFlags.NOEXIST), 'EINVAL');
    throwsErrno(() => vm.delete(null), 'EOPNOTSUPP');
    throwsErrno(() => vm.nextKey(undefined), 'EOPNOTSUPP');
    throwsErrno(() => vm.lookupAndDelete(null), 524);
    vm.update(null, u32(5), UpdateFlags.ANY);
    assert.deepEqual(vm.lookup(u32(5)), u32(5), 'a lookup takes the value as its key argument');
    for (let i = 0; i < 1000; i++) vm.update(null, u32(i + 1000), 0); // never full
  });

  test('no false negatives, and few false positives', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 100 }),
        fc.integer({ min: 0, max: 15 }),
        (values, hashes) => {
          const { vm } = makeMap({ ...bloom, mapExtra: BigInt(hashes) });
          for (const value of values) vm.update(null, u32(value), 0);
          for (const value of values) assert.notEqual(vm.lookup(u32(value)), undefined);
          const memory = vm.memory.allocCopy(u32(values[0] ?? 0), { name: 'v' });
          if (values.length) assert.equal(vm.peekFromProgram(memory.start), 0);
        },
      ),
    );
    const { vm } = makeMap(bloom);
    for (let i = 0; i < 100; i++) vm.update(null, u32(i), 0);
    let positives = 0;
    for (let i = 1000; i < 11000; i++) if (vm.lookup(u32(i)) !== undefined) positives++;
    assert.ok(positives < 500, `${positives} false positives in 10000`);
  });
});
