/** Programs that use maps through the helpers, assembled in LLVM syntax (`r1 = map[idx:0]`). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assemble } from '../../isa/llvm.js';
import { BpfMap } from '../../maps/map.js';
import { MapFlags } from '../../maps/ops.js';
import { MemoryAccessError, VmError } from '../errors.js';
import { compile } from '../interpreter.js';
import { MapReferenceError, mapHelpers, mapResolver } from '../map-helpers.js';
import { Vm } from '../vm.js';
import type { VmMap } from './base.js';
import { VmMapRegistry } from './registry.js';
import { readU32, u32, u64 } from './test-util.js';

/** A VM with map helpers and a registry. */
function setup(cpus = 2): { vm: Vm; maps: VmMapRegistry } {
  const vm = new Vm();
  const maps = new VmMapRegistry(vm.memory, { cpus });
  for (const helper of mapHelpers(maps)) vm.helpers.register(helper);
  return { vm, maps };
}

function load(maps: VmMapRegistry, source: string, fdArray: VmMap[]) {
  return compile(assemble(source), mapResolver(maps, fdArray));
}

const EEXIST = 2n ** 64n - 17n;

/** `counts[0] += 1`, creating the element with BPF_NOEXIST the first time; returns the count. */
const counter = `
  r1 = 0
  *(u32 *)(r10 - 4) = r1
  r1 = map[idx:0]
  r2 = r10
  r2 += -4
  call 1
  if r0 == 0 goto create
  r1 = 1
  lock *(u64 *)(r0 + 0) += r1
  r0 = *(u64 *)(r0 + 0)
  exit
create:
  r1 = 1
  *(u64 *)(r10 - 16) = r1
  r1 = map[idx:0]
  r2 = r10
  r2 += -4
  r3 = r10
  r3 += -16
  r4 = 1
  call 2
  if r0 != 0 goto out
  r0 = 1
out:
  exit`;

describe('programs using maps', () => {
  for (const type of ['HASH', 'LRU_HASH', 'ARRAY'] as const) {
    test(`${type}: a counter through map_lookup_elem pointers`, () => {
      const { vm, maps } = setup();
      const counts = maps.create({ name: 'counts', type, keySize: 4, valueSize: 8, maxEntries: 4 });
      const program = load(maps, counter, [counts]);
      // An array element always exists: the program finds it on the first run.
      for (let run = 1; run <= 5; run++) assert.equal(vm.run(program).r0, BigInt(run));
      assert.deepEqual(counts.lookup(u32(0)), u64(5));
    });
  }

  test('map_update_elem returns -EEXIST for BPF_NOEXIST on an existing key', () => {
    const { vm, maps } = setup();
    const counts = maps.create({ name: 'counts', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4 });
    counts.update(u32(0), u64(1), 0);
    const program = load(maps, counter.replace('if r0 == 0 goto create', 'goto create'), [counts]);
    assert.equal(vm.run(program).r0, EEXIST);
  });

  test('globals: MAP_IDX_VALUE points into a single-element array; MAP_FD by id', () => {
    const { vm, maps } = setup();
    const data = maps.create({
      name: '.data',
      type: 'ARRAY',
      keySize: 4,
      valueSize: 16,
      maxEntries: 1,
      flags: MapFlags.MMAPABLE,
    });
    data.update(u32(0), new Uint8Array([...u64(0), ...u64(40)]), 0);
    const program = load(
      maps,
      'r1 = map[idx:0]+8\nr0 = *(u64 *)(r1 + 0)\nr0 += 2\n*(u64 *)(r1 + 0) = r0\nexit',
      [data],
    );
    assert.equal(vm.run(program).r0, 42n);
    assert.equal(vm.run(program).r0, 44n);
    const id = maps.idOf(data)!;
    const byId = load(maps, `r1 = map[id:${id}][0]+8\nr0 = *(u64 *)(r1 + 0)\nexit`, []);
    assert.equal(vm.run(byId).r0, 44n);
    const handle = load(maps, `r0 = map[id:${id}]\nexit`, []);
    assert.equal(vm.run(handle).r0, BigInt(maps.handleOf(data)!));
  });

  test('the resolver refuses what the kernel refuses', () => {
    const { maps } = setup();
    const hash = maps.create({ name: 'h', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4 });
    assert.throws(() => load(maps, 'r1 = map[idx:0]+0\nexit', [hash]), MapReferenceError);
    assert.throws(() => load(maps, 'r1 = map[idx:1]\nexit', [hash]), MapReferenceError);
    assert.throws(() => load(maps, 'r1 = map[id:99]\nexit', []), MapReferenceError);
  });

  test('PERCPU_ARRAY: each CPU counts in its own slot', () => {
    const { vm, maps } = setup(3);
    const counts = maps.create({
      name: 'counts',
      type: 'PERCPU_ARRAY',
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
    });
    const program = load(maps, counter, [counts]);
    for (const [cpu, runs] of [
      [0, 2],
      [2, 3],
    ]) {
      maps.cpu = cpu;
      for (let i = 0; i < runs; i++) vm.run(program);
    }
    const perCpu = new BpfMap(counts).get(u32(0)) as unknown as Uint8Array[];
    assert.deepEqual(perCpu.map(readU32), [2, 0, 3]);
    maps.cpu = 1;
    assert.equal(vm.run(compile(assemble('call 8\nexit'))).r0, 1n, 'bpf_get_smp_processor_id');
  });

  test('map_lookup_percpu_elem reads another CPU slot', () => {
    const { vm, maps } = setup(2);
    const counts = maps.create({ name: 'c', type: 'PERCPU_HASH', keySize: 4, valueSize: 8, maxEntries: 1 });
    counts.update(u32(0), new Uint8Array([...u64(5), ...u64(6)]), 0);
    const source = (cpu: number) =>
      `r1 = 0\n*(u32 *)(r10 - 4) = r1\nr1 = map[idx:0]\nr2 = r10\nr2 += -4\nr3 = ${cpu}\ncall 195\nif r0 == 0 goto none\nr0 = *(u64 *)(r0 + 0)\nexit\nnone:\nr0 = 99\nexit`;
    assert.deepEqual(
      [0, 1, 2].map((cpu) => vm.run(load(maps, source(cpu), [counts])).r0),
      [5n, 6n, 99n],
    );
  });

  test('QUEUE: push, then pop into the stack', () => {
    const { vm, maps } = setup();
    const queue = maps.create({ name: 'q', type: 'QUEUE', keySize: 0, valueSize: 8, maxEntries: 2 });
    const push = load(
      maps,
      'r1 = 7\n*(u64 *)(r10 - 8) = r1\nr1 = map[idx:0]\nr2 = r10\nr2 += -8\nr3 = 0\ncall 87\nexit',
      [queue],
    );
    assert.equal(vm.run(push).r0, 0n);
    assert.equal(vm.run(push).r0, 0n);
    assert.equal(vm.run(push).r0, 2n ** 64n - 7n, '-E2BIG when full');
    const pop = load(
      maps,
      'r1 = map[idx:0]\nr2 = r10\nr2 += -8\ncall 88\nif r0 != 0 goto out\nr0 = *(u64 *)(r10 - 8)\nout:\nexit',
      [queue],
    );
    assert.deepEqual([vm.run(pop).r0, vm.run(pop).r0, vm.run(pop).r0], [7n, 7n, 2n ** 64n - 2n]);
  });

  test('map-in-map: the outer lookup yields a handle the helpers accept', () => {
    const { vm, maps } = setup();
    const template = { name: 'inner', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1 } as const;
    const outer = maps.create({
      name: 'outer',
      type: 'ARRAY_OF_MAPS',
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      innerMap: template,
    });
    const inner = maps.create(template);
    inner.update(u32(0), u64(1234), 0);
    outer.update(u32(0), u32(maps.idOf(inner)!), 0);
    const program = load(
      maps,
      `r1 = 0
      *(u32 *)(r10 - 4) = r1
      r1 = map[idx:0]
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto out
      r1 = r0
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto out
      r0 = *(u64 *)(r0 + 0)
      out:
      exit`,
      [outer],
    );
    assert.equal(vm.run(program).r0, 1234n);
  });

  test('bad arguments stop the program; reads past a value region fault', () => {
    const { vm, maps } = setup();
    const array = maps.create({ name: 'a', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1 });
    assert.throws(() => vm.run(compile(assemble('r1 = 4096\nr2 = r10\ncall 1\nexit'))), VmError);
    const past = load(
      maps,
      'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr1 = map[idx:0]\nr2 = r10\nr2 += -4\ncall 1\nr0 = *(u64 *)(r0 + 8)\nexit',
      [array],
    );
    assert.throws(() => vm.run(past), MemoryAccessError);
  });

  test('for_each_map_elem calls the program back for each element; the map side visits in order', () => {
    const { vm, maps } = setup();
    const hash = maps.create({ name: 'h', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4 });
    for (const k of [1, 2, 3]) hash.update(u32(k), u64(k * 10), 0);
    const seen: number[] = [];
    const visited = hash.forEachFromProgram(0, (key, value) => {
      seen.push(maps.memory.view.getUint32(key, true), Number(maps.memory.view.getBigUint64(value, true)));
      return seen.length >= 4 ? 1n : 0n;
    });
    assert.equal(visited, 2);
    assert.deepEqual(seen, [1, 10, 2, 20]);
    // The callback doubles each value in place and stops after the element with key 2.
    const source = [
      'r1 = map[idx:0]',
      'r2 = subprog[+0x5]',
      'r3 = 0',
      'r4 = 0',
      'call 164',
      'exit',
      'r0 = *(u64 *)(r3 + 0)',
      'r0 <<= 1',
      '*(u64 *)(r3 + 0) = r0',
      'r0 = 0',
      'r5 = *(u32 *)(r2 + 0)',
      'if r5 != 2 goto +1',
      'r0 = 1',
      'exit',
    ].join('\n');
    const program = load(maps, source, [hash]);
    assert.equal(vm.run(program).r0, 2n);
    assert.deepEqual(
      [1, 2, 3].map((k) => new DataView(hash.lookup(u32(k))!.buffer).getBigUint64(0, true)),
      [20n, 40n, 30n],
    );
  });
});
