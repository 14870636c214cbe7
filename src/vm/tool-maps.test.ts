// The maps real tools declare (testdata/fidelity/tool_maps.bpf.c) on the VM and, through
// BPF_PROG_TEST_RUN, on this kernel: PERF_EVENT_ARRAY without max_entries, CGROUP_ARRAY,
// STACK_TRACE with bpf_get_stackid, XSKMAP; and the user-space rules of the new map types.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Errno } from '../errno.js';
import { createMap } from '../kernel/load/map.js';
import { loadObject } from '../kernel/load/object.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { u32 } from '../maps/codec.js';
import { MapError, type MapOps, type MapSpec } from '../maps/ops.js';
import { encodeRawTpArgs } from './context/raw-tp.js';
import { jhash2 } from './maps/stack-trace.js';
import { Vm } from './vm.js';

const OBJECT = readFileSync(new URL('../../testdata/fidelity/tool_maps.bpf.o', import.meta.url));
const XDP_PASS = 2;
const KEY0 = u32.encode(0);

/** under_cgroup, stack_id, stack_id_bad_flags, perf_ret, xsk_found from .bss (signed longs). */
function globals(bss: Uint8Array): Record<string, bigint> {
  const view = new DataView(bss.buffer, bss.byteOffset, bss.byteLength);
  const names = ['under_cgroup', 'stack_id', 'stack_id_bad_flags', 'perf_ret', 'xsk_found'];
  return Object.fromEntries(names.map((name, i) => [name, view.getBigInt64(8 * i, true)]));
}

const rawTpRun = { ctx: encodeRawTpArgs([0, 0]), ctxSizeOut: 0 } as const;

/** What an operation did: 'ok', the errno name, or the bytes. */
function outcome(run: () => unknown): string {
  try {
    const value = run();
    return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : 'ok';
  } catch (error) {
    if (error instanceof MapError) return error.code;
    throw error;
  }
}

/** The same user-space calls on a map of either backend. */
function userOps(map: MapOps): string[] {
  // Values that would name a real cgroup or socket depend on the test's own fds, so only the
  // checks that come before the value's are compared.
  return [
    outcome(() => map.lookup(KEY0)),
    outcome(() => map.update(u32.encode(9), u32.encode(0), 0)),
    outcome(() => map.update(KEY0, u32.encode(0), 4)),
    outcome(() => map.delete(KEY0)),
    outcome(() => map.delete(u32.encode(9))),
    outcome(() => map.nextKey(undefined)),
  ];
}

describe('tool maps on the VM', () => {
  test('a PERF_EVENT_ARRAY without max_entries gets one slot per CPU', () => {
    const vm = new Vm({ cpus: 3 });
    const object = vm.loadObject(OBJECT);
    assert.equal(object.maps.get('events')!.ops.spec.maxEntries, 3);
  });

  test('raw_tp: empty cgroup slot -EAGAIN, empty stack -EFAULT, bad flags -EINVAL, no perf buffer -ENOENT', () => {
    const vm = new Vm();
    const object = vm.loadObject(OBJECT);
    vm.testRun(object.programs.get('tool_probe')!, rawTpRun);
    assert.deepEqual(globals(object.maps.get('.bss')!.get(KEY0)!), {
      under_cgroup: -BigInt(Errno.EAGAIN),
      stack_id: -BigInt(Errno.EFAULT),
      stack_id_bad_flags: -BigInt(Errno.EINVAL),
      perf_ret: -BigInt(Errno.ENOENT),
      xsk_found: 0n,
    });
  });

  test('a given stack gets the jhash2 bucket id and reads back; the cgroup filter matches the task', () => {
    const stack = [0xffffffff81000010n, 0xffffffff81000abcn, 0xffffffff81234567n];
    const vm = new Vm({ stacks: { kernelStack: () => stack }, task: { pid: 7, cgroupId: 4242n } });
    const object = vm.loadObject(OBJECT);
    object.maps.get('cgroup_map')!.ops.update(KEY0, u32.encode(4242), 0);
    vm.testRun(object.programs.get('tool_probe')!, rawTpRun);
    const seen = globals(object.maps.get('.bss')!.get(KEY0)!);
    const words = new Uint32Array(new BigUint64Array(stack).buffer);
    assert.equal(seen.stack_id, BigInt(jhash2(words, 0) & 63));
    assert.equal(seen.under_cgroup, 1n);
    const value = object.maps.get('stacks')!.ops.lookup(u32.encode(Number(seen.stack_id)))!;
    assert.deepEqual([...new BigUint64Array(value.slice().buffer)].slice(0, 4), [...stack, 0n]);
    // Another cgroup: not under it.
    object.maps.get('cgroup_map')!.ops.update(KEY0, u32.encode(5), 0);
    vm.testRun(object.programs.get('tool_probe')!, rawTpRun);
    assert.equal(globals(object.maps.get('.bss')!.get(KEY0)!).under_cgroup, 0n);
  });

  test('jhash2 is the kernel jhash2 (known values)', () => {
    // jhash2 of no words with initval 0 is the seed 0xdeadbeef itself; one word 0 → 0x049396b8
    // (jhash_1word(0, 0)).
    assert.equal(jhash2(new Uint32Array(0), 0), 0xdeadbeef);
    assert.equal(jhash2(new Uint32Array([0]), 0), 0x049396b8);
  });

  test('XSKMAP: an empty slot is NULL and bpf_redirect_map falls back; a filled one redirects', () => {
    const vm = new Vm();
    const object = vm.loadObject(OBJECT);
    const program = object.programs.get('xsk_redirect')!;
    const frame = new Uint8Array(64);
    assert.equal(vm.testRun(program, { data: frame }).retval, XDP_PASS);
    assert.equal(globals(object.maps.get('.bss')!.get(KEY0)!).xsk_found, 0n);
    object.maps.get('xsks')!.ops.update(KEY0, u32.encode(3), 0);
    const result = vm.testRun(program, { data: frame });
    assert.equal(result.retval, 4); // XDP_REDIRECT
    assert.equal(result.redirect?.kind, 'map');
    assert.equal(globals(object.maps.get('.bss')!.get(KEY0)!).xsk_found, 1n);
  });
});

describe('tool maps against the kernel', () => {
  const reason = bpfUnavailable();

  test('the same helper results through BPF_PROG_TEST_RUN', {
    skip: reason && `needs bpf(): ${reason}`,
  }, () => {
    const kernel = loadObject(OBJECT);
    try {
      const probe = kernel.programs.get('tool_probe')!;
      assert.ok(probe.program, probe.error?.message);
      probe.program.testRun(rawTpRun);
      const seen = globals(kernel.maps.get('.bss')!.get(KEY0)!);
      // The kernel has a real stack (so an id ≥ 0) where the VM has none (-EFAULT).
      assert.ok(seen.stack_id >= 0n, `stack id ${seen.stack_id}`);
      assert.deepEqual(
        { ...seen, stack_id: 0n },
        {
          under_cgroup: -BigInt(Errno.EAGAIN),
          stack_id: 0n,
          stack_id_bad_flags: -BigInt(Errno.EINVAL),
          perf_ret: -BigInt(Errno.ENOENT),
          xsk_found: 0n,
        },
      );
      const xsk = kernel.programs.get('xsk_redirect')!.program!;
      assert.equal(xsk.testRun({ data: new Uint8Array(64) }).retval, XDP_PASS);
      assert.equal(globals(kernel.maps.get('.bss')!.get(KEY0)!).xsk_found, 0n);
    } finally {
      kernel.close();
    }
  });

  for (const type of ['CGROUP_ARRAY', 'XSKMAP'] as const) {
    test(`${type}: user-space calls fail alike`, { skip: reason && `needs bpf(): ${reason}` }, () => {
      const spec: MapSpec = { name: 'slots', type, keySize: 4, valueSize: 4, maxEntries: 2 };
      const kernel = createMap(spec);
      try {
        const vm = new Vm().maps.create(spec);
        assert.deepEqual(userOps(vm), userOps(kernel));
        // The VM's stand-in for "not a cgroup / not a socket": value 0, refused as the kernel
        // refuses such an fd.
        assert.equal(
          outcome(() => vm.update(KEY0, u32.encode(0), 0)),
          type === 'CGROUP_ARRAY' ? 'EBADF' : 'ENOTSOCK',
        );
      } finally {
        kernel.close();
      }
    });
  }

  test('STACK_TRACE: creation and user-space rules alike', {
    skip: reason && `needs bpf(): ${reason}`,
  }, () => {
    const make = (valueSize: number, flags = 0): MapSpec => ({
      name: 'stacks',
      type: 'STACK_TRACE',
      keySize: 4,
      valueSize,
      maxEntries: 8,
      flags,
    });
    for (const spec of [make(12), make(0), make(128 * 8), make(40, 1 << 5), make(64, 1 << 5)]) {
      const create = (backend: 'vm' | 'kernel') =>
        outcome(() => (backend === 'vm' ? new Vm().maps.create(spec) : createMap(spec).close()));
      assert.equal(create('vm'), create('kernel'), JSON.stringify(spec));
    }
    const spec = make(64);
    const kernel = createMap(spec);
    try {
      const vm = new Vm().maps.create(spec);
      const ops = (map: MapOps) => [
        outcome(() => map.lookup(KEY0)),
        outcome(() => map.update(KEY0, new Uint8Array(64), 0)),
        outcome(() => map.delete(KEY0)),
        outcome(() => map.nextKey(undefined) ?? 'end'),
      ];
      assert.deepEqual(ops(vm), ops(kernel));
    } finally {
      kernel.close();
    }
  });
});
