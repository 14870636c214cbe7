/** PERF_EVENT_ARRAY and bpf_perf_event_output in the VM. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno } from '../../errno.js';
import { assemble } from '../../isa/llvm.js';
import { helperVm, neg } from '../helpers/test-util.js';
import { VmMemory } from '../memory.js';
import { BPF_F_CURRENT_CPU, PerfEventArrayMap, type PerfRecord } from './perf-event-array.js';
import { VmMapRegistry } from './registry.js';
import { throwsErrno, u32 } from './test-util.js';

function array(maxEntries = 2): PerfEventArrayMap {
  const map = new VmMapRegistry(new VmMemory()).create({
    name: 'events',
    type: 'PERF_EVENT_ARRAY',
    keySize: 4,
    valueSize: 4,
    maxEntries,
  });
  assert.ok(map instanceof PerfEventArrayMap);
  return map;
}

/** perf_event_output(ctx, map, BPF_F_CURRENT_CPU, &u64 on the stack, 8). */
const OUTPUT_CURRENT_CPU = `
  r6 = r1
  r1 = 42
  *(u64 *)(r10 - 8) = r1
  r1 = r6
  r2 = map[idx:0]
  r3 = 0xffffffff ll
  r4 = r10
  r4 += -8
  r5 = 8
  call 25
  exit`;

describe('PERF_EVENT_ARRAY map (kernel-measured rules)', () => {
  test('creation: 4-byte key and value, flags', () => {
    const make = (extra: object) => () =>
      new VmMapRegistry(new VmMemory()).create({
        name: 'p',
        type: 'PERF_EVENT_ARRAY',
        keySize: 4,
        valueSize: 4,
        maxEntries: 2,
        ...extra,
      });
    throwsErrno(make({ valueSize: 8 }), 'EINVAL');
    throwsErrno(make({ keySize: 8 }), 'EINVAL');
    throwsErrno(make({ flags: 1024 }), 'EINVAL');
    make({ flags: 4 | 8 })();
    make({ flags: 1 << 11 })();
  });

  test('user space: lookup ENOTSUPP, delete of empty ENOENT, past the end E2BIG, a non-perf fd EBADF', () => {
    const map = array();
    throwsErrno(() => map.lookup(u32(0)), 524);
    throwsErrno(() => map.delete(u32(0)), 'ENOENT');
    throwsErrno(() => map.delete(u32(5)), 'E2BIG');
    throwsErrno(() => map.update(u32(0), u32(0), 0), 'EBADF');
    throwsErrno(() => map.update(u32(5), u32(0), 0), 'E2BIG');
    assert.deepEqual(map.nextKey(undefined), u32(0));
  });

  test('output: flag and index rules (kernel: CURRENT_CPU empty -ENOENT, 5 -E2BIG, 1<<32 -EINVAL)', () => {
    const map = array();
    const data = new Uint8Array(8);
    assert.equal(map.output(0, BPF_F_CURRENT_CPU, data), -Errno.ENOENT);
    assert.equal(map.output(0, 5n, data), -Errno.E2BIG);
    assert.equal(map.output(0, 1n << 32n, data), -Errno.EINVAL);
    assert.equal(map.output(0, 1n, data), -Errno.ENOENT);
    map.open(1);
    assert.equal(map.output(0, 1n, data), -Errno.EOPNOTSUPP, 'event of CPU 1 written from CPU 0');
    assert.equal(map.output(1, BPF_F_CURRENT_CPU, data), 0);
  });

  test('samples are padded to round_up(size + 4, 8) - 4; lost samples come back as a lost record', () => {
    const map = array();
    const buffer = map.open(0, { pages: 1 });
    assert.equal(map.output(0, BPF_F_CURRENT_CPU, new Uint8Array([1, 2, 3, 4, 5])), 0);
    // 4096-byte ring: 24 bytes used; 4072 / (12 + 1020) = 3 more samples of 1020 bytes fit.
    const big = new Uint8Array(1020);
    for (let i = 0; i < 3; i++) assert.equal(map.output(0, BPF_F_CURRENT_CPU, big), 0);
    assert.equal(map.output(0, BPF_F_CURRENT_CPU, big), -Errno.ENOSPC);
    assert.equal(map.output(0, BPF_F_CURRENT_CPU, big), -Errno.ENOSPC);
    assert.equal(buffer.lost, 2);
    const records: PerfRecord[] = [];
    assert.equal(
      map.consume((r) => records.push(r)),
      4,
    );
    assert.deepEqual(records[0], {
      kind: 'sample',
      cpu: 0,
      data: new Uint8Array([1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0]),
    });
    assert.equal(map.output(0, BPF_F_CURRENT_CPU, new Uint8Array(4)), 0);
    const after: PerfRecord[] = [];
    map.consume((r) => after.push(r));
    assert.deepEqual(
      after.map((r) => r.kind),
      ['lost', 'sample'],
    );
    assert.deepEqual(after[0], { kind: 'lost', cpu: 0, count: 2 });
  });

  test('a program writes to the slot of the CPU it runs on', () => {
    const { vm } = helperVm({ cpus: 2 });
    const map = vm.maps.create({
      name: 'events',
      type: 'PERF_EVENT_ARRAY',
      keySize: 4,
      valueSize: 4,
      maxEntries: 2,
    });
    assert.ok(map instanceof PerfEventArrayMap);
    map.open(0);
    map.open(1);
    const program = vm.load(assemble(OUTPUT_CURRENT_CPU), { fdArray: [map] });
    assert.equal(vm.run(program, { cpu: 1 }).r0, 0n);
    assert.equal(vm.run(program, { cpu: 0 }).r0, 0n);
    const seen: number[] = [];
    map.consume((r) => seen.push(r.cpu));
    assert.deepEqual(seen, [0, 1]);
    map.delete(u32(1));
    assert.equal(vm.run(program, { cpu: 1 }).r0, neg(Errno.ENOENT));
  });
});
