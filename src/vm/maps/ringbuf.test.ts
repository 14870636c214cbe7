/** RINGBUF in the VM: creation rules, header bits, wrap-around, full ring, reader. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno } from '../../errno.js';
import { ringbufHelpers } from '../helpers/ringbuf.js';
import { bareEnv, call, helperVm, neg } from '../helpers/test-util.js';
import { VmMemory } from '../memory.js';
import { VmMapRegistry } from './registry.js';
import { RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RingBufMap } from './ringbuf.js';
import { throwsErrno } from './test-util.js';

function ring(size = 4096): { map: RingBufMap; registry: VmMapRegistry } {
  const registry = new VmMapRegistry(new VmMemory());
  const map = registry.create({ name: 'rb', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: size });
  assert.ok(map instanceof RingBufMap);
  return { map, registry };
}

const header = (map: RingBufMap, offset: number): bigint =>
  map.memory.view.getBigUint64(map.data.start + offset, true);

describe('RINGBUF creation (kernel: EINVAL unless a power-of-2 multiple of 4096, no key/value, NUMA flag only)', () => {
  const make =
    (maxEntries: number, extra: object = {}) =>
    () =>
      new VmMapRegistry(new VmMemory()).create({
        name: 'r',
        type: 'RINGBUF',
        keySize: 0,
        valueSize: 0,
        maxEntries,
        ...extra,
      });
  for (const ok of [4096, 8192])
    test(`${ok} works`, () => {
      make(ok)();
    });
  for (const bad of [12288, 2048]) test(`${bad} is EINVAL`, () => throwsErrno(make(bad), 'EINVAL'));
  test('key 4, value 4, RDONLY, MMAPABLE are EINVAL; NUMA_NODE works', () => {
    throwsErrno(make(4096, { keySize: 4 }), 'EINVAL');
    throwsErrno(make(4096, { valueSize: 4 }), 'EINVAL');
    throwsErrno(make(4096, { flags: 8 }), 'EINVAL');
    throwsErrno(make(4096, { flags: 1024 }), 'EINVAL');
    make(4096, { flags: 4 })();
  });
  test('user-space lookup, update, delete and next key are ENOTSUPP', () => {
    const { map } = ring();
    throwsErrno(() => map.lookup(null), 524);
    throwsErrno(() => map.update(null, new Uint8Array(0), 0), 524);
    throwsErrno(() => map.delete(null), 524);
    throwsErrno(() => map.nextKey(undefined), 524);
  });
});

describe('RINGBUF records (kernel-measured sequence on a 4096-byte ring)', () => {
  test('reserve/submit header bits, output, full ring, discard, query', () => {
    const { map } = ring();
    const p = map.reserve(10, 0n);
    assert.equal(p, map.data.start + 8);
    assert.equal(header(map, 0), 0x3_8000000an, 'BUSY, len 10, pg_off 3');
    map.commit(p, 0n, false);
    assert.equal(header(map, 0), 0x3_0000000an);
    assert.equal(map.output(new Uint8Array(16).fill(7), 0n), 0);
    assert.equal(map.reserve(4040, 0n), 0, '48 + 4048 > 4095: NULL');
    const q = map.reserve(4032, 0n);
    assert.notEqual(q, 0);
    map.commit(q, 0n, true);
    assert.equal(header(map, 48), 0x3_40000fc0n, 'DISCARD, len 4032');
    assert.equal(map.output(new Uint8Array(1), 0n), -Errno.EAGAIN);
    assert.equal(map.reserve(8, 1n), 0, 'reserve flags must be 0');
    assert.equal(map.output(new Uint8Array(8), 4n), -Errno.EINVAL);
    assert.deepEqual(
      [0n, 1n, 2n, 3n, 4n].map((f) => map.query(f)),
      [4088n, 4096n, 0n, 4088n, 0n],
    );
    assert.equal(map.lost, 2);
    const records: number[] = [];
    assert.equal(
      map.consume((r) => records.push(r.length)),
      2,
    );
    assert.deepEqual(records, [10, 16]);
    assert.equal(map.query(2n), 4088n);
  });

  test('a BUSY record holds back later ones; the reader sees them after submit', () => {
    const { map } = ring();
    const reader = map.reader();
    const first = map.reserve(4, 0n);
    assert.equal(map.output(new Uint8Array([1, 2, 3]), 0n), 0);
    assert.equal(
      reader.consume(() => assert.fail('nothing committed before the BUSY record')),
      0,
    );
    assert.equal(reader.pending, 32);
    map.commit(first, 0n, false);
    const got: number[][] = [];
    assert.equal(
      reader.consume((r) => got.push([...r])),
      2,
    );
    assert.deepEqual(got, [
      [0, 0, 0, 0],
      [1, 2, 3],
    ]);
    assert.equal(reader.pending, 0);
  });

  test('a record straddling the end is contiguous for the program and whole for the reader', () => {
    const { map } = ring();
    const reader = map.reader();
    // Move the positions to 4080: the next header sits 16 bytes before the end.
    assert.equal(map.output(new Uint8Array(4072), 0n), 0);
    reader.consume(() => {});
    const sample = map.reserve(40, 0n);
    assert.equal(sample, map.data.start + 4088, 'header at 4080, sample runs 32 bytes past the end');
    for (let i = 0; i < 40; i++) map.memory.bytes[sample + i] = i;
    map.commit(sample, 0n, false);
    assert.deepEqual([...map.memory.read(map.data.start, 4)], [8, 9, 10, 11], 'tail copied to the start');
    const got: Uint8Array[] = [];
    reader.consume((r) => got.push(r));
    assert.deepEqual(
      [...got[0]],
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.deepEqual([map.query(2n), map.query(3n)], [4080n + 48n, 4080n + 48n]);
    // The next record starts after the wrapped one, at offset 32.
    const next = map.reserve(1, 0n);
    assert.equal(next, map.data.start + 32 + 8);
  });

  test('wake-ups: default only when the consumer waits at the record; NO_WAKEUP never; FORCE always', async () => {
    const { map } = ring();
    map.commit(map.reserve(8, 0n), 0n, false);
    assert.equal(map.wakeups, 1, 'consumer at 0 == record 0');
    map.commit(map.reserve(8, 0n), 0n, false);
    assert.equal(map.wakeups, 1, 'consumer behind: no wake-up');
    map.commit(map.reserve(8, 0n), 2n, false);
    assert.equal(map.wakeups, 2);
    const reader = map.reader();
    reader.consume(() => {});
    map.commit(map.reserve(8, 0n), 1n, false);
    assert.equal(map.wakeups, 2);
    // poll: data is there, so it returns at once; then it waits for a wake-up.
    assert.equal(await reader.poll(() => {}), 1);
    const pending = reader.poll(() => {}, 1000);
    map.output(new Uint8Array(3), 0n);
    assert.equal(await pending, 1);
    assert.equal(await reader.poll(() => {}, 5), 0, 'timeout');
  });

  test('async iteration yields records until close', async () => {
    const { map } = ring();
    const reader = map.reader();
    map.output(new Uint8Array([1]), 0n);
    map.output(new Uint8Array([2]), 0n);
    const seen: number[] = [];
    setTimeout(() => {
      map.output(new Uint8Array([3]), 0n);
      setTimeout(() => reader.close(), 5);
    }, 5);
    for await (const record of reader) seen.push(record[0]);
    assert.deepEqual(seen, [1, 2, 3]);
  });
});

describe('ring buffer helpers in programs', () => {
  test('reserve, write, submit; query; the reader gets the record', () => {
    const { vm, run } = helperVm();
    const rb = vm.maps.create({
      name: 'events',
      type: 'RINGBUF',
      keySize: 0,
      valueSize: 0,
      maxEntries: 4096,
    });
    assert.ok(rb instanceof RingBufMap);
    const reader = rb.reader();
    const r0 = run(
      `
      r1 = map[idx:0]
      r2 = 12
      r3 = 0
      call 131
      if r0 == 0 goto out
      r1 = 0x11223344
      *(u32 *)(r0 + 0) = r1
      r1 = r0
      r2 = 0
      call 132
      r1 = map[idx:0]
      r2 = 3
      call 134
      exit
    out:
      r0 = -1
      exit`,
      [rb],
    );
    assert.equal(r0, 24n, 'PROD_POS after one 12-byte record');
    const got: Uint8Array[] = [];
    reader.consume((r) => got.push(r));
    assert.deepEqual([...got[0]], [0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('ringbuf_output returns -EAGAIN when full; submit of a non-sample stops the program', () => {
    const env = bareEnv();
    const registry = new VmMapRegistry(env.memory);
    const rb = registry.create({ name: 'r', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: 4096 });
    const data = env.memory.alloc(4096, { name: 'data' });
    const handle = BigInt(registry.handleOf(rb)!);
    const helpers = ringbufHelpers(registry);
    assert.equal(call(helpers, env, 'ringbuf_output', handle, BigInt(data.start), 4000n, 0n), 0n);
    assert.equal(
      call(helpers, env, 'ringbuf_output', handle, BigInt(data.start), 100n, 0n),
      neg(Errno.EAGAIN),
    );
    assert.equal(call(helpers, env, 'ringbuf_reserve', handle, 100n, 0n), 0n);
    assert.throws(
      () => call(helpers, env, 'ringbuf_submit', BigInt(data.start), 0n),
      /not a reserved ring buffer sample/,
    );
    assert.ok((RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT) >>> 0 === 0xc0000000);
  });
});
