import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { assemble } from '../isa/llvm.js';
import {
  CaptureReader,
  type Packet,
  PCAP_HEADER_SIZE,
  pcapFileHeader,
  readCapture,
  writeCapture,
} from '../pcap/pcap.js';
import { runXdpCapture } from './capture-run.js';
import { XdpTestRunner } from './test-run.js';
import { Vm } from './vm.js';

/**
 * Varied verdicts: (length + the EtherType's low byte) & 7, 7 returned as 1000; the sum stored
 * in the packet's first byte (data_out differs), a count per verdict in an array map, and a loop
 * of the EtherType's high byte iterations, which an IPv6 or VLAN frame's 0x86/0x81 takes past a
 * budget of 150 instructions (a fault on those packets).
 */
const VARIED = `
r6 = r1
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r7 = r3
r7 -= r2
r4 = r2
r4 += 14
if r4 > r3 goto done
r5 = *(u8 *)(r2 + 12)
r8 = *(u8 *)(r2 + 13)
r7 += r8
*(u8 *)(r2 + 0) = r7
loop:
r5 += -1
if r5 s> 0 goto loop
done:
r7 &= 7
*(u32 *)(r10 - 4) = r7
r2 = r10
r2 += -4
r1 = map[idx:0]
call 1
if r0 == 0 goto out
r1 = *(u64 *)(r0 + 0)
r1 += 1
*(u64 *)(r0 + 0) = r1
out:
r0 = r7
if r0 != 7 goto ret
r0 = 1000
ret:
exit`;

const sample = readCapture(readFileSync(new URL('../../testdata/pcap/sample.pcap', import.meta.url))).packets;

/** The sample's packets, with short ones, long ones (fragments) and random ones between. */
function packets(): Packet[] {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 16;
  };
  const out: Packet[] = [];
  for (let round = 0; round < 12; round++) {
    for (const packet of sample) out.push({ ...packet, timestampNs: packet.timestampNs + BigInt(round) });
    for (const length of [13, 14, 60, 3520, 3521, 5000, 0, 200]) {
      const data = new Uint8Array(length).map(() => random() & 0xff);
      out.push({
        timestampNs: BigInt(round * 1000 + length) * 1000n,
        data,
        originalLength: length + 4,
        linkType: 1,
      });
    }
  }
  // Last, a longer packet and a shorter one of odd length: the frame they leave is compared.
  for (const length of [100, 61]) {
    const data = new Uint8Array(length).map(() => random() & 0xff);
    data.set([0x08, 0x00], 12);
    out.push({ timestampNs: 1n, data, originalLength: length, linkType: 1 });
  }
  return out;
}

/** A classic pcap in microseconds, numbers big-endian (writeCapture writes little-endian ns). */
function bigEndianPcap(list: readonly Packet[]): Uint8Array {
  const bytes = new Uint8Array(24 + list.reduce((n, p) => n + 16 + p.data.length, 0));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0xa1b2c3d4);
  view.setUint16(4, 2);
  view.setUint16(6, 4);
  view.setUint32(16, 262144);
  view.setUint32(20, 1);
  let at = 24;
  for (const p of list) {
    view.setUint32(at, Number(p.timestampNs / 1_000_000_000n));
    view.setUint32(at + 4, Number((p.timestampNs % 1_000_000_000n) / 1000n));
    view.setUint32(at + 8, p.data.length);
    view.setUint32(at + 12, p.originalLength);
    bytes.set(p.data, at + 16);
    at += 16 + p.data.length;
  }
  return bytes;
}

interface Outcome {
  verdicts: Array<[number, number]>;
  failures: Array<[number, string]>;
  passed: Packet[];
  counts: unknown;
  /** The frame as the last packet left it (zeroed past the packet as a fresh test run's). */
  frame: Uint8Array;
  error?: string;
}

/** A copy of the XDP frame's bytes. */
function frame(vm: Vm): Uint8Array {
  const region = vm.memory.regions.find((r) => r.name === 'xdp frame')!;
  return vm.memory.bytes.slice(region.start, region.end);
}

/** The counts map's values, keys 0–7. */
const values = (map: { lookup(key: Uint8Array): unknown }) =>
  Array.from({ length: 8 }, (_, k) => map.lookup(new Uint8Array(new Uint32Array([k]).buffer)));

const keep = (retval: number) => retval === 2 || retval === 1000;

function setUp(engine: 'jit' | 'interpreter' = 'jit') {
  const vm = new Vm({ engine, budget: 150 });
  const counts = vm.maps.create({ name: 'counts', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 8 });
  const program = vm.loadProgram({ type: 'XDP', insns: assemble(VARIED), fdArray: [counts], name: 'varied' });
  assert.ok(program.verified, 'verified');
  return { vm, counts, xdp: new XdpTestRunner(vm, program) };
}

/** What a run left: its verdicts in first-seen order, the counts map, the frame's bytes. */
function finish(
  out: Outcome,
  verdicts: Map<number, number>,
  { vm, counts }: ReturnType<typeof setUp>,
): Outcome {
  out.verdicts = [...verdicts];
  out.counts = values(counts);
  out.frame = frame(vm);
  return out;
}

/** The reference: each packet read by a CaptureReader and run by XdpTestRunner.run. */
function perPacket(bytes: Uint8Array): Outcome {
  const run = setUp();
  const { xdp } = run;
  const verdicts = new Map<number, number>();
  const out: Outcome = { verdicts: [], failures: [], passed: [], counts: undefined, frame: new Uint8Array() };
  try {
    const reader = new CaptureReader(bytes);
    while (reader.next()) {
      try {
        const retval = xdp.run(reader.bytes, reader.start, reader.end);
        verdicts.set(retval, (verdicts.get(retval) ?? 0) + 1);
        if (keep(retval))
          out.passed.push({
            timestampNs: reader.timestampNs(),
            data: xdp.dataOut(),
            originalLength: reader.originalLength,
            linkType: reader.linkType,
          });
      } catch (error) {
        out.failures.push([reader.count, `${(error as Error).name}: ${(error as Error).message}`]);
      }
    }
  } catch (error) {
    out.error = (error as Error).message;
  }
  return finish(out, verdicts, run);
}

/** The record loop over `bytes`, read `step` bytes at most at a time through chunks of `chunk`. */
function recordLoop(bytes: Uint8Array, step: number, chunk?: number): Outcome {
  const run = setUp();
  const { xdp } = run;
  assert.ok(xdp.records, 'the record loop runs the program');
  const verdicts = new Map<number, number>();
  const out: Outcome = { verdicts: [], failures: [], passed: [], counts: undefined, frame: new Uint8Array() };
  let at = PCAP_HEADER_SIZE;
  const source = (buffer: Uint8Array, offset: number, length: number) => {
    const n = Math.min(length, step, bytes.length - at);
    buffer.set(bytes.subarray(at, at + n), offset);
    at += n;
    return n;
  };
  try {
    runXdpCapture(
      xdp,
      pcapFileHeader(bytes)!,
      source,
      {
        verdict: (retval, count) => verdicts.set(retval, (verdicts.get(retval) ?? 0) + count),
        failure: (index, error) =>
          out.failures.push([index, `${(error as Error).name}: ${(error as Error).message}`]),
        keep,
        passed: (packet) => out.passed.push(packet),
      },
      chunk,
    );
  } catch (error) {
    out.error = (error as Error).message;
  }
  return finish(out, verdicts, run);
}

describe('runXdpCapture (the JIT record loop over a pcap)', () => {
  const list = packets();
  const captures: Record<string, Uint8Array> = {
    'little-endian ns': writeCapture(list),
    'big-endian us': bigEndianPcap(list),
  };

  test('gives per-packet runs’ verdicts (in order first seen), failures, data_out and maps', () => {
    for (const [name, bytes] of Object.entries(captures)) {
      const expected = perPacket(bytes);
      // The reference itself covers what is compared: several verdicts, faults, short packets.
      assert.ok(expected.verdicts.length >= 5, `${name}: verdicts ${JSON.stringify(expected.verdicts)}`);
      assert.ok(
        expected.failures.some(([, m]) => m.startsWith('InstructionBudgetError')),
        name,
      );
      assert.ok(
        expected.failures.some(([, m]) => /less than an Ethernet header/.test(m)),
        name,
      );
      assert.ok(expected.passed.length > 0 && expected.error === undefined, name);
      for (const [step, chunk] of [
        [1 << 20, undefined],
        [100, undefined],
        [1 << 20, 4096],
        [777, 1000],
      ] as const)
        assert.deepEqual(
          recordLoop(bytes, step, chunk),
          expected,
          `${name}, reads of ${step}, chunks of ${chunk}`,
        );
    }
  });

  test('stops at a truncated record with CaptureReader’s error, after the packets before it', () => {
    const whole = captures['little-endian ns']!;
    for (const cut of [whole.length - 1, whole.length - 3000, whole.length - 5010, 24 + 16 + 5]) {
      const bytes = whole.subarray(0, cut);
      const expected = perPacket(bytes);
      assert.match(expected.error ?? '', /truncated record header|claims \d+ bytes/);
      for (const chunk of [undefined, 4096])
        assert.deepEqual(recordLoop(bytes, 1 << 20, chunk), expected, `cut at ${cut}, chunks of ${chunk}`);
    }
  });

  test('passes trace_printk lines on as packet-by-packet runs do', () => {
    const source = [
      'r2 = *(u32 *)(r1 + 0)',
      'r3 = *(u32 *)(r1 + 4)',
      'r3 -= r2',
      'r1 = 0x000a6425206e656c ll',
      '*(u64 *)(r10 - 8) = r1',
      'r1 = r10',
      'r1 += -8',
      'r2 = 8',
      'call 6',
      'r0 = 2',
      'exit',
    ].join('\n');
    const bytes = captures['little-endian ns']!;
    const lines = ['per packet', 'record loop'].map((way) => {
      const out: string[] = [];
      const vm = new Vm({ trace: (line) => out.push(line) });
      const xdp = new XdpTestRunner(vm, vm.loadProgram({ type: 'XDP', insns: assemble(source), name: 't' }));
      if (way === 'per packet') {
        const reader = new CaptureReader(bytes);
        while (reader.next()) {
          try {
            xdp.run(reader.bytes, reader.start, reader.end);
          } catch {}
        }
      } else {
        assert.ok(xdp.records);
        let at = PCAP_HEADER_SIZE;
        runXdpCapture(
          xdp,
          pcapFileHeader(bytes)!,
          (buffer, offset, length) => {
            const n = Math.min(length, bytes.length - at);
            buffer.set(bytes.subarray(at, at + n), offset);
            at += n;
            return n;
          },
          { verdict: () => {}, failure: () => {} },
        );
      }
      return out;
    });
    assert.ok(lines[0]!.length > 100 && /^len \d+$/.test(lines[0]![0]!), lines[0]![0]);
    assert.deepEqual(lines[1], lines[0]);
  });

  test('is refused where packets must run one by one', () => {
    assert.equal(setUp('interpreter').xdp.records, undefined, 'interpreter');
    const vm = new Vm();
    const adjust = vm.loadProgram({
      type: 'XDP',
      insns: assemble('r2 = 0\ncall 44\nr0 = 2\nexit'),
      name: 'adjust',
    });
    assert.ok(adjust.verified);
    assert.equal(new XdpTestRunner(vm, adjust).records, undefined, 'bpf_xdp_adjust_head');
    const unverified = new Vm({ verify: false });
    const plain = unverified.loadProgram({ type: 'XDP', insns: assemble('r0 = 2\nexit'), name: 'plain' });
    assert.equal(new XdpTestRunner(unverified, plain).records, undefined, 'not verified');
    const verified = vm.loadProgram({ type: 'XDP', insns: assemble('r0 = 2\nexit'), name: 'plain' });
    assert.ok(new XdpTestRunner(vm, verified).records, 'verified, no helpers');
  });
});
