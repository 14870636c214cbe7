import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadObject } from '../kernel/load/object.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { loadObjectSpec } from '../object/object.js';
import { Vm } from '../vm/vm.js';
import { btfCodec, withBtf } from './btf-codec.js';

const spec = (path: string) =>
  loadObjectSpec(new Uint8Array(readFileSync(new URL(`../../${path}`, import.meta.url))));

test('struct values with char arrays decode and encode (execve_map event)', () => {
  const object = spec('examples/execve_map.bpf.o');
  const map = object.maps.find((m) => m.name === 'execs')!;
  const value = btfCodec(object.btf!, map.btfValueTypeId!);
  assert.equal(value.size, 24);
  const bytes = value.encode({ pid: 42, uid: 1000, comm: 'bash' });
  assert.deepEqual(value.decode(bytes), { pid: 42, uid: 1000, comm: 'bash' });
  assert.throws(() => value.encode({ pid: 1, uid: 0, comm: 'a'.repeat(16) }), /needs 17 bytes/);
  assert.throws(() => value.encode({ pid: 'x' }), /pid: expected an integer/);
  const key = btfCodec(object.btf!, map.btfKeyTypeId!);
  assert.equal(key.decode(key.encode(7)), 7);
});

test('u64 members decode as bigints; per-CPU structs (xdp_count)', () => {
  const object = spec('examples/xdp_count.bpf.o');
  const map = object.maps.find((m) => m.name === 'proto_stats')!;
  const value = btfCodec(object.btf!, map.btfValueTypeId!);
  const decoded = value.decode(value.encode({ packets: 3n, bytes: 2n ** 40n }));
  assert.deepEqual(decoded, { packets: 3n, bytes: 2n ** 40n });
});

test('bitfields, nested and anonymous members (testdata/btf/kinds)', () => {
  const object = spec('testdata/btf/kinds.o');
  const btf = object.btf!;
  const withBits = btf.types.find((t) => t.kind === 'struct' && t.members.some((m) => m.bitfieldSize > 0));
  assert.ok(withBits && withBits.kind === 'struct');
  const codec = btfCodec(btf, withBits.id);
  const bitfield = withBits.members.find((m) => m.bitfieldSize > 0)!;
  const max = 2 ** Math.min(bitfield.bitfieldSize, 31) - 1;
  const round = codec.decode(codec.encode({ [bitfield.name]: max })) as Record<string, unknown>;
  assert.equal(round[bitfield.name], max);
});

test('withBtf: a loaded map speaks objects on the VM (and the kernel, same call)', () => {
  const object = spec('examples/execve_map.bpf.o');
  const vm = new Vm();
  const loaded = vm.loadObject(object);
  const execs = withBtf(loaded.maps.get('execs')!, object.btf!);
  execs.set(42, { pid: 42, uid: 1000, comm: 'bash' });
  assert.deepEqual(execs.get(42), { pid: 42, uid: 1000, comm: 'bash' });
  const counts = spec('examples/xdp_count.bpf.o');
  const perCpuMap = withBtf(vm.loadObject(counts).maps.get('proto_stats')!, counts.btf!);
  assert.deepEqual(perCpuMap.get(6), [
    { packets: 0n, bytes: 0n },
    { packets: 0n, bytes: 0n },
  ]);
});

test('withBtf on the kernel backend: the same objects through bpf()', {
  skip: bpfUnavailable() ?? false,
}, () => {
  const object = spec('examples/execve_map.bpf.o');
  const kernel = loadObject(object);
  try {
    const execs = withBtf(kernel.maps.get('execs')!, object.btf!);
    execs.set(7, { pid: 7, uid: 0, comm: 'init' });
    assert.deepEqual(execs.get(7), { pid: 7, uid: 0, comm: 'init' });
  } finally {
    kernel.close();
  }
});
