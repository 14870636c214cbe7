/**
 * The read oracle: random programs that hand helpers pointers into the stack, input memory, a
 * read-only region, freed and unmapped memory, and NULL, run twice on identical VMs whose
 * unmapped bytes (freed regions, the space past the last region) hold different canaries. A
 * program may fault, but nothing it computes — r0, the error, trace lines, every mapped byte —
 * may depend on bytes no load could read.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { helperId } from '../isa/helper-ids.js';
import { assemble } from '../isa/llvm.js';
import { ManualClock } from './helpers/time.js';
import { Vm } from './vm.js';

/** mulberry32: a small seeded generator, so every run of the test sees the same programs. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Helpers that read or write through pointers (the packet ones need a test run; see below). */
const HELPERS = [
  'map_lookup_elem',
  'map_update_elem',
  'map_delete_elem',
  'probe_read',
  'probe_read_kernel',
  'probe_read_user',
  'probe_read_str',
  'probe_read_kernel_str',
  'trace_printk',
  'get_current_comm',
  'get_current_task',
  'get_stack',
  'strtol',
  'strtoul',
  'strncmp',
  'snprintf',
  'trace_vprintk',
  'ringbuf_output',
  'csum_diff',
].map((name) => helperId(name)!);
const PACKET_HELPERS = [
  'skb_load_bytes',
  'skb_store_bytes',
  'skb_load_bytes_relative',
  'csum_diff',
  'l3_csum_replace',
].map((name) => helperId(name)!);

/** A VM laid out the same way every time: maps, a read-only region, a freed hole. */
function setup() {
  const vm = new Vm({ random: () => 7, now: () => 1n, clock: new ManualClock() });
  const hash = vm.maps.create({ name: 'h', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 8 });
  const ring = vm.maps.create({ name: 'rb', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: 4096 });
  const readOnly = vm.memory.alloc(256, { name: 'read-only', writable: false });
  vm.memory.bytes.set(new TextEncoder().encode('123 %d %s hello\0'), readOnly.start);
  const freed = vm.memory.alloc(4096, { name: 'freed' });
  vm.memory.alloc(64, { name: 'keeps the hole' });
  vm.memory.free(freed);
  return { vm, fdArray: [hash, ring], readOnly: readOnly.start, freed: freed.start };
}

/** Fill every byte no region maps with `canary`. */
function paint(vm: Vm, canary: number): void {
  const { bytes, regions } = vm.memory;
  let at = 0;
  for (const region of regions) {
    bytes.fill(canary, at, region.start);
    at = region.end;
  }
  bytes.fill(canary, at);
}

/** Every mapped byte, region by region. */
function snapshot(vm: Vm): string {
  return vm.memory.regions
    .map(
      (r) => `${r.name}@${r.start}:${Buffer.from(vm.memory.bytes.subarray(r.start, r.end)).toString('hex')}`,
    )
    .join('\n');
}

/** A random program: pointer and size arguments, helper calls, loads and stores, r0 folded into r8. */
function generate(next: () => number, layout: { readOnly: number; freed: number }, packet: boolean): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const lines = ['r6 = r1', 'r7 = r2', 'r8 = 0'];
  const pointer = (r: string): string[] => {
    const offset = 8 * Math.floor(next() * 8);
    switch (pick(['stack', 'stack', 'input', 'ctx', 'read-only', 'freed', 'unmapped', 'null', 'map'])) {
      case 'stack':
        return [`${r} = r10`, `${r} += -${8 + offset * 4}`];
      case 'input':
        return [`${r} = r6`, `${r} += ${offset}`];
      case 'ctx':
        return [`${r} = r6`];
      case 'read-only':
        return [`${r} = ${layout.readOnly + offset} ll`];
      case 'freed':
        return [`${r} = ${layout.freed + offset} ll`];
      case 'unmapped':
        return [`${r} = ${0x7000_0000 + offset} ll`];
      case 'null':
        return [`${r} = ${offset}`];
      default:
        return [`${r} = map[idx:${Math.floor(next() * 2)}]`];
    }
  };
  const steps = 4 + Math.floor(next() * 8);
  for (let step = 0; step < steps; step++) {
    const what = next();
    if (what < 0.6) {
      for (let r = 1; r <= 5; r++) {
        if (next() < 0.6) lines.push(...pointer(`r${r}`));
        else lines.push(`r${r} = ${pick([0, 1, 4, 8, 16, 24, 64, 513])}`);
      }
      lines.push(`call ${pick(packet ? PACKET_HELPERS : HELPERS)}`, 'r8 += r0');
    } else if (what < 0.8) {
      lines.push(...pointer('r2'), 'r0 = *(u64 *)(r2 + 0)', 'r8 ^= r0');
    } else {
      lines.push(...pointer('r2'), '*(u64 *)(r2 + 0) = r8');
    }
  }
  lines.push('r0 = r8', 'exit');
  return lines.join('\n');
}

/** Run `source` on a fresh VM painted with `canary`: what the program computed, as text. */
function outcome(source: string, canary: number, packet: boolean): string {
  const { vm, fdArray } = setup();
  paint(vm, canary);
  let result: string;
  try {
    if (packet) {
      // Wild pointers on purpose: the verifier would refuse these programs, the VM must survive them.
      const program = vm.loadProgram({ type: 'SCHED_CLS', insns: assemble(source), fdArray, verify: false });
      const run = vm.testRun(program, { data: new Uint8Array(64).fill(3) });
      result = `retval ${run.retval} data ${Buffer.from(run.dataOut).toString('hex')}`;
    } else {
      const run = vm.run(vm.load(assemble(source), { fdArray }), { mem: new Uint8Array(64).fill(1) });
      result = `r0 ${run.r0} trace ${JSON.stringify(run.trace)}`;
    }
  } catch (error) {
    result = `${(error as Error).name}: ${(error as Error).message}`;
  }
  return `${result}\n${snapshot(vm)}`;
}

describe('read oracle: nothing a program computes depends on unmapped bytes', () => {
  for (const packet of [false, true]) {
    test(packet ? '100 random tc programs with the packet helpers' : '200 random programs', () => {
      const next = random(packet ? 0x5eed_0002 : 0x5eed_0001);
      const layout = setup();
      let faults = 0;
      for (let i = 0; i < (packet ? 100 : 200); i++) {
        const source = generate(next, layout, packet);
        const first = outcome(source, 0xaa, packet);
        const second = outcome(source, 0x55, packet);
        if (first.startsWith('MemoryAccessError')) faults++;
        assert.equal(first, second, `program ${i} read unmapped memory:\n${source}`);
      }
      // The generator reaches both sides: programs that fault and programs that finish.
      assert.ok(faults > 0, 'some programs fault');
    });
  }
});
