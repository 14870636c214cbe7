import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compile } from '../interpreter.js';
import { VmMemory } from '../memory.js';
import type { FdArrayMap } from './fd-maps.js';
import { VmMapRegistry } from './registry.js';
import { readU32, throwsErrno, u32 } from './test-util.js';

const inner = { name: 'inner', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2 } as const;

describe('map-in-map and PROG_ARRAY', () => {
  test('ARRAY_OF_MAPS stores inner map ids and checks them against the template', () => {
    const registry = new VmMapRegistry(new VmMemory());
    throwsErrno(
      () =>
        registry.create({ name: 'outer', type: 'ARRAY_OF_MAPS', keySize: 4, valueSize: 4, maxEntries: 2 }),
      'EINVAL',
    );
    const outer = registry.create({
      name: 'outer',
      type: 'ARRAY_OF_MAPS',
      keySize: 4,
      valueSize: 4,
      maxEntries: 2,
      innerMap: inner,
    });
    const a = registry.create(inner);
    const id = registry.idOf(a)!;
    assert.equal(outer.lookup(u32(0)), undefined);
    outer.update(u32(0), u32(id), 0);
    assert.equal(readU32(outer.lookup(u32(0))), id);
    throwsErrno(() => outer.update(u32(1), u32(id), 1), 'EINVAL', 'only BPF_ANY');
    throwsErrno(() => outer.update(u32(1), u32(id), 2), 'EINVAL');
    throwsErrno(() => outer.update(u32(2), u32(id), 0), 'E2BIG');
    throwsErrno(() => outer.update(u32(1), u32(999), 0), 'EBADF');
    const bigger = registry.create({ ...inner, maxEntries: 3 });
    const hash = registry.create({ ...inner, type: 'HASH' });
    throwsErrno(() => outer.update(u32(1), u32(registry.idOf(bigger)!), 0), 'EINVAL');
    throwsErrno(() => outer.update(u32(1), u32(registry.idOf(hash)!), 0), 'EINVAL');
    // A program's lookup yields the inner map's handle.
    const key = registry.memory.allocCopy(u32(0), { name: 'key' });
    assert.equal(outer.lookupAddress(key.start, 0), registry.handleOf(a));
    assert.equal(registry.mapByHandle(BigInt(outer.lookupAddress(key.start, 0))), a);
    outer.delete(u32(0));
    throwsErrno(() => outer.delete(u32(0)), 'ENOENT');
    throwsErrno(() => outer.delete(u32(5)), 'E2BIG');
  });

  test('HASH_OF_MAPS follows hash rules', () => {
    const registry = new VmMapRegistry(new VmMemory());
    const outer = registry.create({
      name: 'outer',
      type: 'HASH_OF_MAPS',
      keySize: 4,
      valueSize: 4,
      maxEntries: 2,
      innerMap: inner,
    });
    const id = registry.idOf(registry.create(inner))!;
    outer.update(u32(7), u32(id), 0);
    throwsErrno(() => outer.update(u32(7), u32(id), 1), 'EEXIST');
    throwsErrno(() => outer.update(u32(8), u32(id), 2), 'ENOENT');
    outer.update(u32(8), u32(id), 0);
    throwsErrno(() => outer.update(u32(9), u32(id), 0), 'E2BIG');
    throwsErrno(() => outer.delete(u32(9)), 'ENOENT');
    assert.equal(readU32(outer.nextKey(undefined)), 7);
    assert.equal(readU32(outer.nextKey(u32(7))), 8);
    assert.equal(readU32(outer.lookup(u32(8))), id);
  });

  test('PROG_ARRAY holds program ids', () => {
    const registry = new VmMapRegistry(new VmMemory());
    const progs = registry.create({
      name: 'jumps',
      type: 'PROG_ARRAY',
      keySize: 4,
      valueSize: 4,
      maxEntries: 4,
    });
    const id = registry.addProgram(compile([]));
    throwsErrno(() => progs.update(u32(0), u32(id + 1), 0), 'EBADF');
    throwsErrno(() => progs.update(u32(0), u32(id), 1), 'EINVAL');
    throwsErrno(() => progs.update(u32(9), u32(id), 0), 'E2BIG');
    progs.update(u32(2), u32(id), 0);
    assert.equal(readU32(progs.lookup(u32(2))), id);
    assert.equal((progs as FdArrayMap).programAt(2), id);
    assert.equal(progs.lookup(u32(0)), undefined);
    throwsErrno(() => progs.delete(u32(0)), 'ENOENT');
    throwsErrno(() => progs.delete(u32(9)), 'E2BIG');
    throwsErrno(
      () => registry.create({ name: 'bad', type: 'PROG_ARRAY', keySize: 4, valueSize: 8, maxEntries: 4 }),
      'EINVAL',
    );
  });

  test('the handle region shows the map attributes read-only; removed maps are gone', () => {
    const registry = new VmMapRegistry(new VmMemory());
    const map = registry.create(inner);
    const handle = registry.handleOf(map)!;
    const region = registry.memory.find(handle, 24)!;
    assert.equal(region.writable, false);
    const words = [0, 4, 8, 12, 16, 20].map((o) => registry.memory.view.getUint32(handle + o, true));
    assert.deepEqual(words, [2, 4, 8, 2, 0, registry.idOf(map)]);
    registry.remove(registry.idOf(map)!);
    assert.equal(registry.mapByHandle(handle), undefined);
    throwsErrno(() => map.lookup(u32(0)), 'EBADF');
  });
});
