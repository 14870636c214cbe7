// Loading BPF objects into the VM: maps with initial values, frozen .rodata, program arrays filled
// from `.values`, programs compiled against the created maps.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { u32, u64 } from '../maps/codec.js';
import { MapError } from '../maps/ops.js';
import { loadObjectSpec, type ObjectSpec } from '../object/object.js';
import { readCapture } from '../pcap/pcap.js';
import { VmObjectError } from './object.js';
import { Vm } from './vm.js';

const example = (name: string): Uint8Array =>
  readFileSync(new URL(`../../examples/${name}.bpf.o`, import.meta.url));
const packets = readCapture(
  readFileSync(new URL('../../testdata/pcap/sample.pcap', import.meta.url)),
).packets;

describe('loadObject', () => {
  test('globals: data maps hold their initial values and .rodata is frozen', () => {
    const vm = new Vm();
    const object = vm.loadObject(example('globals'));
    assert.deepEqual([...object.maps.keys()].sort(), ['.bss', '.data', '.data.stats', '.rodata']);
    const zero = u32.encode(0);
    const rodata = object.maps.get('.rodata')!;
    const value = rodata.get(zero)!;
    assert.equal(new DataView(value.buffer, value.byteOffset).getUint32(0, true), 16); // sample_every
    assert.throws(
      () => rodata.set(zero, value),
      (error: unknown) => error instanceof MapError && error.is('EPERM'),
    );
    const data = object.maps.get('.data')!.get(zero)!;
    assert.equal(u64.decode(data.subarray(0, 8)), 1n << 30n); // byte_quota
    const program = object.programs.get('xdp_byte_quota')!;
    for (const packet of packets) assert.equal(vm.testRun(program, { data: packet.data }).retval, 2);
    const bss = object.maps.get('.bss')!.get(zero)!;
    assert.equal(u64.decode(bss.subarray(0, 8)), BigInt(packets.length)); // packets_seen
    assert.equal(
      u64.decode(bss.subarray(8, 16)),
      BigInt(packets.reduce((sum, packet) => sum + Math.min(packet.data.length, 3520), 0)),
    );
  });

  test('tail_call: the program array holds the handlers and dispatch reaches them', () => {
    const vm = new Vm();
    const object = vm.loadObject(example('tail_call'));
    assert.deepEqual([...object.programs.keys()].sort(), [
      'audit',
      'dispatch',
      'handle_icmp',
      'handle_tcp',
      'handle_udp',
    ]);
    const handlers = object.maps.get('handlers')!;
    assert.equal(u32.decode(handlers.get(u32.encode(6))!), object.programs.get('handle_tcp')!.id);
    assert.equal(u32.decode(handlers.get(u32.encode(256))!), object.programs.get('audit')!.id);
    const tcp = packets.find((p) => p.data[12] === 8 && p.data[13] === 0 && p.data[23] === 6)!;
    vm.testRun(object.programs.get('dispatch')!, { data: tcp.data });
    const counters = object.vmMaps.get('counters')!;
    const count = (index: number) => {
      const value = counters.lookup(u32.encode(index))!;
      const view = new DataView(value.buffer, value.byteOffset);
      let sum = 0n;
      for (let cpu = 0; cpu < counters.possibleCpus; cpu++) sum += view.getBigUint64(cpu * 8, true);
      return sum;
    };
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(count), [1n, 0n, 1n, 0n, 0n, 1n]); // dispatched, tcp, audited
  });

  test('programs in unknown sections are reported, not fatal', () => {
    const spec = loadObjectSpec(example('xdp_count'));
    const odd: ObjectSpec = {
      ...spec,
      programs: spec.programs.map((p) => ({
        ...p,
        section: 'mystery',
        sectionInfo: undefined,
        sectionError: 'unknown section',
      })),
    };
    const object = new Vm().loadObject(odd);
    assert.equal(object.programs.size, 0);
    assert.deepEqual(object.skipped, [
      { name: 'xdp_count_protocols', section: 'mystery', reason: 'unknown section' },
    ]);
  });

  test('a map type the VM lacks is a VmObjectError naming the map', () => {
    const spec = loadObjectSpec(example('xdp_count'));
    const odd: ObjectSpec = {
      ...spec,
      maps: spec.maps.map((m) => ({ ...m, name: 'sockets', type: 'SOCKMAP' as const })),
    };
    assert.throws(
      () => new Vm().loadObject(odd),
      (error: unknown) => error instanceof VmObjectError && /map 'sockets'/.test(error.message),
    );
  });

  test('objects also load from bytes of every packet example', () => {
    for (const name of ['xdp_count', 'socket_filter', 'tc_classifier', 'loop', 'subprog', 'lpm_firewall']) {
      const object = new Vm().loadObject(example(name));
      assert.ok(object.programs.size > 0, name);
    }
  });
});
