/**
 * What input can make a VM allocate is capped: maps plus regions stay under the VM's memory
 * limit, with typed errors (ENOMEM for maps, MemoryLimitError for everything else) at the cap.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { assemble } from '../isa/llvm.js';
import { MapError, MapFlags } from '../maps/ops.js';
import { parseVectors, runVector } from '../testvec/vectors.js';
import { DEFAULT_MEMORY_LIMIT, MemoryLimitError, VmMemory } from './memory.js';
import { vmVectorBackend } from './vectors.js';
import { Vm } from './vm.js';

const MiB = 1024 * 1024;
const enomem = (error: unknown) => error instanceof MapError && error.code === 'ENOMEM';

describe('memory limit per VM', () => {
  test('regions are counted and refused past the limit; freeing gives the room back', () => {
    const memory = new VmMemory(1, 1 * MiB);
    const a = memory.alloc(600 * 1024, { name: 'a' });
    assert.equal(memory.mappedBytes, 600 * 1024);
    assert.throws(
      () => memory.alloc(600 * 1024, { name: 'b' }),
      (error) =>
        error instanceof MemoryLimitError &&
        error.limit === MiB &&
        /over the VM's memory limit/.test(error.message),
    );
    memory.free(a);
    assert.equal(memory.available, MiB);
    memory.alloc(600 * 1024, { name: 'b' });
    assert.equal(new VmMemory().limit, DEFAULT_MEMORY_LIMIT);
  });

  test('maps that do not fit are ENOMEM at creation, before anything is allocated', () => {
    const vm = new Vm({ memoryLimit: 4 * MiB });
    vm.maps.create({ name: 'fits', type: 'ARRAY', keySize: 4, valueSize: 1024, maxEntries: 2048 });
    const before = vm.memory.mappedBytes;
    assert.throws(
      () => vm.maps.create({ name: 'big', type: 'ARRAY', keySize: 4, valueSize: 1024, maxEntries: 4096 }),
      enomem,
    );
    assert.throws(
      () => vm.maps.create({ name: 'ring', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: 4 * MiB }),
      enomem,
    );
    assert.throws(
      () => vm.maps.create({ name: 'h', type: 'HASH', keySize: 8, valueSize: 1024, maxEntries: 1 << 20 }),
      enomem,
      'a preallocated hash map is charged in full',
    );
    assert.equal(vm.memory.mappedBytes, before);
  });

  test('a map growing past the limit gives the program -ENOMEM', () => {
    const vm = new Vm({ memoryLimit: 256 * 1024 });
    const map = vm.maps.create({
      name: 'h',
      type: 'HASH',
      keySize: 4,
      valueSize: 256,
      maxEntries: 1 << 16,
      flags: MapFlags.NO_PREALLOC,
    });
    // Insert keys 0, 1, 2… until an update fails; r0 is that update's result.
    const program = vm.load(
      assemble(
        [
          'r6 = 0',
          '*(u32 *)(r10 - 4) = r6',
          'r1 = map[idx:0]',
          'r2 = r10',
          'r2 += -4',
          'r3 = r10',
          'r3 += -264',
          'r4 = 0',
          'call 2',
          'if r0 s< 0 goto +3',
          'r6 += 1',
          'if r6 < 65536 goto -12',
          'r0 = 0',
          'exit',
        ].join('\n'),
      ),
      { fdArray: [map] },
    );
    const r0 = vm.run(program, { budget: 10_000_000 }).r0;
    assert.equal(BigInt.asIntN(64, r0), -12n, '-ENOMEM');
  });

  test('the vector of 16 array maps of 256 MiB fails on the second map with ENOMEM', () => {
    const [vector] = parseVectors(
      readFileSync(new URL('../../testdata/sandbox/memory-cap.jsonl', import.meta.url), 'utf8'),
    );
    // The first map (256 MiB) fits the default limit of 512 MiB; the second does not.
    const outcome = runVector(vmVectorBackend, vector!, () => new Uint8Array());
    assert.equal(outcome.pass, false);
    assert.match(outcome.error ?? '', /map 'map1': create: ENOMEM/);
  });
});
