// The shared map suite: the same BpfMap tests run against the userspace VM's maps and the running
// kernel's maps. Where the kernel is the oracle, any difference is a VM bug. Kernel runs skip with
// the reason printed when bpf() is not permitted here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMap } from '../kernel/load/map.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { VmMapRegistry } from '../vm/maps/registry.js';
import { VmMemory } from '../vm/memory.js';
import { cString, perCpu, u32, u64 } from './codec.js';
import { BpfMap } from './map.js';
import { MapError, MapFlags, type MapOps, type MapSpec } from './ops.js';

interface Backend {
  readonly name: string;
  readonly skip: string | false;
  create(spec: MapSpec): MapOps;
}

const kernelUnavailable = (): string | false => bpfUnavailable() ?? false;

const backends: readonly Backend[] = [
  {
    name: 'vm',
    skip: false,
    create: (spec) => new VmMapRegistry(new VmMemory(), { cpus: 2 }).create(spec),
  },
  { name: 'kernel', skip: kernelUnavailable(), create: (spec) => createMap(spec) },
];

const errno = (code: string) => (error: unknown) => error instanceof MapError && error.code === code;

for (const backend of backends) {
  describe(`maps on the ${backend.name}`, { skip: backend.skip }, () => {
    const open = <K, V>(spec: MapSpec, key: BpfMap<K, V>['key'], value: BpfMap<K, V>['value']) =>
      new BpfMap<K, V>(backend.create(spec), { key, value });

    test('HASH: update modes, full map, delete, iteration', () => {
      const map = open({ name: 'h', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 3 }, u32, u64);
      try {
        map.set(1, 10n).set(2, 20n);
        assert.equal(map.get(1), 10n);
        assert.equal(map.get(9), undefined);
        assert.throws(() => map.set(1, 11n, { mode: 'noexist' }), errno('EEXIST'));
        assert.throws(() => map.set(7, 70n, { mode: 'exist' }), errno('ENOENT'));
        map.set(1, 12n, { mode: 'exist' });
        map.set(3, 30n);
        assert.throws(() => map.set(4, 40n), errno('E2BIG'));
        assert.deepEqual([...map.keys()].sort(), [1, 2, 3]);
        assert.equal(map.delete(2), true);
        assert.equal(map.delete(2), false);
        assert.deepEqual(
          new Map(map.entries()),
          new Map([
            [1, 12n],
            [3, 30n],
          ]),
        );
        assert.equal(map.deleteBatch(), 2);
        assert.deepEqual([...map.keys()], []);
      } finally {
        map.close();
      }
    });

    test('ARRAY: fixed keys, out-of-range index, no delete', () => {
      const map = open({ name: 'a', type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 4 }, u32, u32);
      try {
        assert.equal(map.get(3), 0);
        assert.equal(map.get(4), undefined);
        map.set(2, 0xdeadbeef);
        assert.equal(map.get(2), 0xdeadbeef);
        assert.throws(() => map.set(4, 1), errno('E2BIG'));
        assert.throws(() => map.set(1, 1, { mode: 'noexist' }), errno('EEXIST'));
        assert.throws(() => map.delete(1), errno('EINVAL'));
        assert.deepEqual([...map.keys()], [0, 1, 2, 3]);
      } finally {
        map.close();
      }
    });

    test('ARRAY frozen: user-space writes fail with EPERM', () => {
      const map = open({ name: 'ro', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1 }, u32, u64);
      try {
        map.set(0, 5n);
        map.freeze();
        assert.throws(() => map.set(0, 6n), errno('EPERM'));
        assert.equal(map.get(0), 5n);
      } finally {
        map.close();
      }
    });

    test('PERCPU_ARRAY: one value per CPU', () => {
      const ops = backend.create({
        name: 'pc',
        type: 'PERCPU_ARRAY',
        keySize: 4,
        valueSize: 4,
        maxEntries: 2,
      });
      const map = new BpfMap(ops, { key: u32, value: perCpu(u32, ops.possibleCpus) });
      try {
        const values = Array.from({ length: ops.possibleCpus }, (_, cpu) => cpu + 100);
        map.set(1, values);
        assert.deepEqual(map.get(1), values);
        assert.deepEqual(
          map.get(0),
          values.map(() => 0),
        );
      } finally {
        map.close();
      }
    });

    test('QUEUE and STACK: order, full, empty', () => {
      const queue = open({ name: 'q', type: 'QUEUE', keySize: 0, valueSize: 4, maxEntries: 2 }, u32, u32);
      const stack = open({ name: 's', type: 'STACK', keySize: 0, valueSize: 4, maxEntries: 2 }, u32, u32);
      try {
        for (const map of [queue, stack]) {
          map.push(1);
          map.push(2);
          assert.throws(() => map.push(3), errno('E2BIG'));
        }
        queue.push(3, { mode: 'exist' }); // full: drops the oldest
        assert.deepEqual([queue.pop(), queue.peek(), queue.pop(), queue.pop()], [2, 3, 3, undefined]);
        assert.deepEqual([stack.peek(), stack.pop(), stack.pop(), stack.pop()], [2, 2, 1, undefined]);
      } finally {
        queue.close();
        stack.close();
      }
    });

    test('LRU_HASH: a full map evicts instead of failing', () => {
      const map = open({ name: 'l', type: 'LRU_HASH', keySize: 4, valueSize: 8, maxEntries: 64 }, u32, u64);
      try {
        for (let k = 0; k < 200; k++) map.set(k, BigInt(k));
        const keys = [...map.keys()];
        assert.ok(keys.length <= 64 && keys.length > 0);
        assert.equal(map.get(199), 199n, 'the newest element survives');
      } finally {
        map.close();
      }
    });

    test('LPM_TRIE: longest-prefix match, prefix length rules', () => {
      const key = (prefix: number, a: number, b: number, c: number, d: number) =>
        new Uint8Array([prefix, 0, 0, 0, a, b, c, d]);
      const ops = backend.create({
        name: 'lpm',
        type: 'LPM_TRIE',
        keySize: 8,
        valueSize: 4,
        maxEntries: 16,
        flags: MapFlags.NO_PREALLOC,
      });
      const map = new BpfMap(ops, { value: u32 });
      try {
        map.set(key(8, 10, 0, 0, 0), 8);
        map.set(key(16, 10, 1, 0, 0), 16);
        map.set(key(0, 0, 0, 0, 0), 0);
        assert.equal(map.get(key(32, 10, 1, 2, 3)), 16);
        assert.equal(map.get(key(32, 10, 2, 2, 3)), 8);
        assert.equal(map.get(key(32, 11, 2, 2, 3)), 0);
        assert.throws(() => map.set(key(33, 1, 2, 3, 4), 1), errno('EINVAL'));
        assert.equal(map.delete(key(16, 10, 1, 0, 0)), true);
        assert.equal(map.get(key(32, 10, 1, 2, 3)), 8);
      } finally {
        map.close();
      }
    });

    test('HASH with a struct value: fixed-size char arrays', () => {
      const map = open(
        { name: 'comm', type: 'HASH', keySize: 4, valueSize: 16, maxEntries: 4 },
        u32,
        cString(16),
      );
      try {
        map.set(42, 'bash');
        assert.equal(map.get(42), 'bash');
        assert.throws(() => map.set(1, 'a-name-longer-than-15'), /needs 22 bytes/);
      } finally {
        map.close();
      }
    });
  });
}
