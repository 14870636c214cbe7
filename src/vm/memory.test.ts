import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FIRST_ADDRESS, type Region, VmMemory } from './memory.js';

test('address 0 and the guard page are never mapped', () => {
  const memory = new VmMemory();
  const region = memory.alloc(16, { name: 'a' });
  assert.ok(region.start >= FIRST_ADDRESS);
  assert.equal(memory.find(0, 1), undefined);
  assert.equal(memory.find(FIRST_ADDRESS - 1, 1), undefined);
});

test('freed regions fault and their addresses are reused', () => {
  const memory = new VmMemory();
  const a = memory.alloc(64, { name: 'a' });
  const b = memory.alloc(64, { name: 'b' });
  memory.free(a);
  assert.equal(memory.find(a.start, 1), undefined);
  assert.equal(memory.find(b.start, 1), b);
  const c = memory.alloc(32, { name: 'c' });
  assert.equal(c.start, a.start, 'first fit reuses the hole');
});

test('memory grows past the first page and keeps contents', () => {
  const memory = new VmMemory();
  const small = memory.allocCopy(new Uint8Array([1, 2, 3]), { name: 'small' });
  const big = memory.alloc(1 << 20, { name: 'big' });
  assert.deepEqual([...memory.read(small.start, 3)], [1, 2, 3]);
  assert.equal(memory.find(big.end - 8, 8), big);
});

test('scratch regions are reused when the size matches and zeroed', () => {
  const memory = new VmMemory();
  const a = memory.scratch('s', 32);
  memory.bytes[a.start] = 7;
  const b = memory.scratch('s', 32);
  assert.equal(a, b);
  assert.equal(memory.bytes[b.start], 0);
  const c = memory.scratch('s', 64);
  assert.equal(memory.find(c.start, 64), c);
});

test('property: regions never overlap under random alloc/free', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 5000 }), fc.nat()), { maxLength: 60 }),
      (steps) => {
        const memory = new VmMemory();
        const live: Region[] = [];
        for (const [isAlloc, size, pick] of steps) {
          if (isAlloc || live.length === 0)
            live.push(memory.alloc(size, { name: 'r', align: 1 << (pick % 5) }));
          else memory.free(live.splice(pick % live.length, 1)[0]);
        }
        const sorted = [...memory.regions];
        for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1].end <= sorted[i].start);
        for (const region of live) assert.equal(memory.find(region.start, region.end - region.start), region);
      },
    ),
    { numRuns: 300 },
  );
});
