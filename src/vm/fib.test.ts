// bpf_fib_lookup (testdata/fidelity/fib.bpf.c): the kernel's answers without a routing table,
// checked against BPF_PROG_TEST_RUN, and lookups in a routing table given to the VM.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Errno } from '../errno.js';
import { loadObject } from '../kernel/load/object.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { u32 } from '../maps/codec.js';
import type { BpfMap } from '../maps/map.js';
import { FibResult, type FibRoute } from './helpers/fib.js';
import { Vm } from './vm.js';

const OBJECT = new Uint8Array(readFileSync(new URL('../../testdata/fidelity/fib.bpf.o', import.meta.url)));
const FRAME = new Uint8Array(64);

function rets(bss: BpfMap): bigint[] {
  const bytes = bss.get(u32.encode(0))!;
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return [0, 1, 2, 3, 4, 5].map((i) => view.getBigInt64(8 * i, true));
}

/** The kernel's answers here: lo does not forward, so every valid lookup is FWD_DISABLED. */
const WITHOUT_TABLE = [
  BigInt(FibResult.FWD_DISABLED),
  -BigInt(Errno.EINVAL),
  -BigInt(Errno.EINVAL),
  -BigInt(Errno.ENODEV),
  -BigInt(Errno.EAFNOSUPPORT),
  BigInt(FibResult.FWD_DISABLED),
];

/** Run fib_route for `dst` (IPv4, network order bytes) with `flags`: [ret, ifindex, dst, smac, dmac, mtu]. */
function route(routes: readonly FibRoute[], dst: readonly number[], flags = 0, totLen = 0) {
  const vm = new Vm({ fib: { routes } });
  const object = vm.loadObject(OBJECT);
  // Offsets from `tsbpf objdump --json` globals: .data query @0; .bss query_flags @48,
  // answer_ret @56, answer @64.
  const data = object.maps.get('.data')!;
  const value = data.get(u32.encode(0))!.slice();
  new DataView(value.buffer).setUint16(6, totLen, true);
  value.set(dst, 32);
  data.set(u32.encode(0), value);
  const bssMap = object.maps.get('.bss')!;
  const flagsValue = bssMap.get(u32.encode(0))!.slice();
  new DataView(flagsValue.buffer).setUint32(48, flags, true);
  bssMap.set(u32.encode(0), flagsValue);
  vm.testRun(object.programs.get('fib_route')!, { data: FRAME });
  const bss = bssMap.get(u32.encode(0))!;
  const out = new DataView(bss.buffer, bss.byteOffset);
  const answer = 64;
  const hex = (from: number, n: number) =>
    Buffer.from(bss.subarray(answer + from, answer + from + n)).toString('hex');
  return {
    ret: Number(out.getBigInt64(56, true)),
    ifindex: out.getUint32(answer + 8, true),
    dst: [...bss.subarray(answer + 32, answer + 36)].join('.'),
    smac: hex(52, 6),
    dmac: hex(58, 6),
    mtu: out.getUint16(answer + 6, true),
  };
}

describe('bpf_fib_lookup', () => {
  test('VM without a routing table: the kernel answers of a loopback that does not forward', () => {
    const vm = new Vm();
    const object = vm.loadObject(OBJECT);
    vm.testRun(object.programs.get('fib_errors')!, { data: FRAME });
    assert.deepEqual(rets(object.maps.get('.bss')!), WITHOUT_TABLE);
  });

  const reason = bpfUnavailable();
  test('kernel: the same answers through BPF_PROG_TEST_RUN', {
    skip: reason && `needs bpf(): ${reason}`,
  }, () => {
    const kernel = loadObject(OBJECT);
    try {
      kernel.programs.get('fib_errors')!.program!.testRun({ data: FRAME });
      assert.deepEqual(rets(kernel.maps.get('.bss')!), WITHOUT_TABLE);
    } finally {
      kernel.close();
    }
  });

  const table: FibRoute[] = [
    {
      prefix: '10.0.0.0/8',
      ifindex: 1,
      gateway: '192.168.1.1',
      smac: '02:00:00:00:00:01',
      dmac: '02:00:00:00:00:fe',
    },
    { prefix: '10.1.0.0/16', ifindex: 1, smac: '02:00:00:00:00:01', mtu: 1400 },
    { prefix: '10.2.0.0/16', type: 'blackhole' },
    { prefix: '10.3.0.0/16', type: 'prohibit' },
  ];

  test('VM with a routing table: longest prefix, gateway, MACs, MTU, neighbour, refusing routes', () => {
    assert.deepEqual(route(table, [10, 9, 9, 9]), {
      ret: FibResult.SUCCESS,
      ifindex: 1,
      dst: '192.168.1.1',
      smac: '020000000001',
      dmac: '0200000000fe',
      mtu: 1500,
    });
    assert.equal(route(table, [10, 1, 2, 3]).ret, FibResult.NO_NEIGH);
    assert.equal(route(table, [10, 1, 2, 3], 4).ret, FibResult.SUCCESS); // SKIP_NEIGH
    assert.deepEqual((({ ret, mtu }) => ({ ret, mtu }))(route(table, [10, 1, 2, 3], 0, 1450)), {
      ret: FibResult.FRAG_NEEDED,
      mtu: 1400,
    });
    assert.equal(route(table, [10, 2, 0, 1]).ret, FibResult.BLACKHOLE);
    assert.equal(route(table, [10, 3, 0, 1]).ret, FibResult.PROHIBIT);
    assert.equal(route(table, [172, 16, 0, 1]).ret, FibResult.NOT_FWDED);
  });
});
