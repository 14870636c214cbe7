// CGROUP_SKB test runs (examples/cgroup_skb_count.bpf.c) on the VM and, through
// BPF_PROG_TEST_RUN, on this kernel: the same verdicts, packets, context and map contents for
// every packet of the sample capture.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadObject } from '../kernel/load/object.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import type { BpfMap } from '../maps/map.js';
import { readCapture } from '../pcap/pcap.js';
import type { TestRunOptions, TestRunResult } from '../program.js';
import { Vm } from './vm.js';

const OBJECT = new Uint8Array(
  readFileSync(new URL('../../examples/cgroup_skb_count.bpf.o', import.meta.url)),
);
const packets = readCapture(
  readFileSync(new URL('../../testdata/pcap/sample.pcap', import.meta.url)),
).packets;
const hex = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : '');

/** Everything a run shows: verdict, packet, context out, the `last` view and the stats map. */
function observe(
  run: (options: TestRunOptions) => TestRunResult,
  maps: ReadonlyMap<string, BpfMap>,
): string[] {
  const out: string[] = [];
  for (const packet of packets) {
    const result = run({ data: packet.data, ctx: new Uint8Array(192), ctxSizeOut: 192 });
    out.push(`${result.retval} ${hex(result.dataOut)} ${hex(result.ctxOut)}`);
    out.push(hex(maps.get('.bss')!.get(new Uint8Array(4))));
  }
  const stats = maps.get('egress_stats')!;
  const entries = [...(stats.ops.spec.maxEntries ? dumpAll(stats) : [])].sort();
  out.push(...entries);
  return out;
}

function dumpAll(map: BpfMap): string[] {
  const rows: string[] = [];
  let key: Uint8Array | undefined;
  for (;;) {
    key = map.ops.nextKey(key);
    if (!key) return rows;
    rows.push(`${hex(key)} ${hex(map.ops.lookup(key))}`);
  }
}

describe('CGROUP_SKB test runs', () => {
  test('the VM runs a cgroup skb program with its L3 view and stand-in socket', () => {
    const vm = new Vm();
    const object = vm.loadObject(OBJECT);
    const program = object.programs.get('count_egress')!;
    const ipv4 = packets.find((p) => p.data[12] === 0x08 && p.data[13] === 0x00)!;
    const result = vm.testRun(program, { data: ipv4.data });
    assert.equal(result.retval, 1);
    const last = object.maps.get('.bss')!.get(new Uint8Array(4))!;
    const view = new DataView(last.buffer, last.byteOffset);
    assert.equal(view.getUint32(0, true), 2); // AF_INET
    assert.equal(
      view.getUint32(4, true),
      new DataView(ipv4.data.buffer, ipv4.data.byteOffset).getUint32(26, true),
    );
    assert.equal(view.getUint32(12, true), ipv4.data.length - 14); // len without the Ethernet header
    assert.equal(view.getUint32(16, true), ipv4.data.length - 14); // data_end - data
    // data_out: the Ethernet header pushed back zeroed, as for socket filters.
    assert.deepEqual([...result.dataOut.subarray(0, 14)], new Array(14).fill(0));
  });

  const reason = bpfUnavailable();
  test('same results as the kernel for every packet of the sample capture', {
    skip: reason && `needs bpf(): ${reason}`,
  }, () => {
    const vm = new Vm();
    const vmObject = vm.loadObject(OBJECT);
    const vmProgram = vmObject.programs.get('count_egress')!;
    const expected = (() => {
      const kernel = loadObject(OBJECT);
      try {
        const loaded = kernel.programs.get('count_egress')!;
        assert.ok(loaded.program, loaded.error?.message);
        const program = loaded.program;
        return observe((options) => program.testRun(options), kernel.maps);
      } finally {
        kernel.close();
      }
    })();
    const actual = observe((options) => vm.testRun(vmProgram, options), vmObject.maps);
    assert.deepEqual(actual, expected);
  });
});
