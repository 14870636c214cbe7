import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  CaptureReader,
  type Packet,
  PcapError,
  PcapLinkType,
  type ReadInto,
  readCapture,
  writeCapture,
} from './pcap.js';

const testdata = new URL('../../testdata/pcap/', import.meta.url);
const sample = new Uint8Array(readFileSync(new URL('sample.pcap', testdata)));
const sampleNg = new Uint8Array(readFileSync(new URL('sample.pcapng', testdata)));

test('reads a tcpdump capture (22 packets: TCP, UDP and ICMP over IPv4 and IPv6)', () => {
  const capture = readCapture(sample);
  assert.equal(capture.format, 'pcap');
  assert.equal(capture.packets.length, 22);
  for (const packet of capture.packets) assert.equal(packet.linkType, PcapLinkType.ETHERNET);
  const ethertypes = capture.packets.map((p) => (p.data[12] << 8) | p.data[13]);
  assert.equal(ethertypes.filter((t) => t === 0x0800).length, 12);
  assert.equal(ethertypes.filter((t) => t === 0x86dd).length, 10);
});

test('the pcapng conversion of the same capture (editcap) reads to the same packets', () => {
  const classic = readCapture(sample).packets;
  const ng = readCapture(sampleNg);
  assert.equal(ng.format, 'pcapng');
  assert.deepEqual(ng.packets, classic);
});

test('timestamps match what tcpdump prints', {
  skip: spawnSync('tcpdump', ['--version']).error ? 'tcpdump not installed' : false,
}, () => {
  const out = spawnSync('tcpdump', ['-nr', 'testdata/pcap/sample.pcap', '-tt', '--nano'], {
    encoding: 'utf8',
  }).stdout;
  const stamps = out
    .trim()
    .split('\n')
    .map((line) => line.split(' ')[0].replace('.', ''));
  assert.deepEqual(
    readCapture(sample).packets.map((p) => p.timestampNs.toString()),
    stamps,
  );
});

test('write then read round-trips in both formats', () => {
  const packets = readCapture(sample).packets;
  for (const format of ['pcap', 'pcapng'] as const) {
    const again = readCapture(writeCapture(packets, { format }));
    assert.equal(again.format, format);
    assert.deepEqual(again.packets, packets);
  }
});

test('tcpdump reads what we write', {
  skip: spawnSync('tcpdump', ['--version']).error ? 'tcpdump not installed' : false,
}, () => {
  const packets = readCapture(sample).packets;
  const original = spawnSync('tcpdump', ['-nr', '-', '-tt'], { input: sample, encoding: 'utf8' }).stdout;
  for (const format of ['pcap', 'pcapng'] as const) {
    const ours = spawnSync('tcpdump', ['-nr', '-', '-tt'], {
      input: writeCapture(packets, { format }),
      encoding: 'utf8',
    });
    assert.equal(ours.stdout, original, `${format}: ${ours.stderr}`);
  }
});

test('bad input is a PcapError with the byte offset', () => {
  assert.throws(
    () => readCapture(new Uint8Array([1, 2])),
    (e: unknown) => e instanceof PcapError && e.offset === 0,
  );
  assert.throws(() => readCapture(new Uint8Array(24).fill(7)), /not a pcap or pcapng file/);
  assert.throws(
    () => readCapture(sample.subarray(0, 30)),
    (e: unknown) => e instanceof PcapError && e.offset === 24,
  );
  assert.throws(() => readCapture(sample.subarray(0, 50)), /claims \d+ bytes/);
  assert.throws(() => readCapture(sampleNg.subarray(0, sampleNg.length - 2)), PcapError);
});

test('property: random and mutated captures read or throw PcapError', () => {
  const arbitrary = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc
      .tuple(
        fc.constantFrom(sample, sampleNg),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
      )
      .map(([base, flips, cut]) => {
        const bytes = base.slice(0, Math.max(4, base.length - (cut % 64)));
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return bytes;
      }),
  );
  fc.assert(
    fc.property(arbitrary, (bytes) => {
      try {
        readCapture(bytes);
      } catch (error) {
        if (!(error instanceof PcapError)) throw error;
      }
    }),
    { numRuns: 3000 },
  );
});

test('packets written without an original length get their captured length', () => {
  const packet: Packet = {
    timestampNs: 1_500_000_000_123_456_789n,
    data: new Uint8Array([1, 2, 3]),
    originalLength: 0,
    linkType: 1,
  };
  const [back] = readCapture(writeCapture([packet])).packets;
  assert.equal(back.originalLength, 3);
  assert.equal(back.timestampNs, packet.timestampNs);
});

/** A source handing out `bytes` in chunks of the given sizes (cycled), as a file read would. */
function chunked(bytes: Uint8Array, sizes: readonly number[]): ReadInto {
  let at = 0;
  let turn = 0;
  return (buffer, offset, length) => {
    const n = Math.min(length, sizes[turn++ % sizes.length], bytes.length - at);
    buffer.set(bytes.subarray(at, at + n), offset);
    at += n;
    return n;
  };
}

/** Every packet of a streamed read, copied. */
function streamed(bytes: Uint8Array, sizes: readonly number[], buffer: number): Packet[] {
  const reader = new CaptureReader(chunked(bytes, sizes), buffer);
  const packets: Packet[] = [];
  while (reader.next()) packets.push(reader.packet());
  return packets;
}

/** The PcapError a read throws (offset and message), or undefined. */
function failure(read: () => unknown): { offset: number; message: string } | undefined {
  try {
    read();
    return undefined;
  } catch (error) {
    if (!(error instanceof PcapError)) throw error;
    return { offset: error.offset, message: error.message };
  }
}

test('a streamed read gives the packets of a whole-file read (pcap and pcapng, any chunking)', () => {
  const many: Packet[] = [];
  for (let i = 0; i < 3000; i++)
    many.push({
      timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1001n,
      data: new Uint8Array(14 + (i % 300)).fill(i & 0xff),
      originalLength: 14 + (i % 300) + (i % 3),
      linkType: 1,
    });
  const captures = [sample, sampleNg, writeCapture(many), writeCapture(many, { format: 'pcapng' })];
  for (const bytes of captures) {
    const whole = readCapture(bytes).packets;
    // Buffers smaller than a packet (they grow), odd chunk sizes, a file read in one go.
    for (const [sizes, buffer] of [
      [[1, 7, 100], 64],
      [[4096], 256],
      [[1 << 20], 1 << 20],
    ] as const)
      assert.deepEqual(streamed(bytes, sizes, buffer), whole);
  }
});

test('a truncated or corrupt capture streams to the whole-file read’s PcapError (same offset)', () => {
  const cases: Uint8Array[] = [];
  for (const base of [sample, sampleNg])
    for (let cut = 0; cut < base.length; cut += 7) cases.push(base.subarray(0, cut));
  const ng = sampleNg.slice();
  ng[4] = 13; // a block length that is not a multiple of 4
  cases.push(ng);
  for (const bytes of cases) {
    const expected = failure(() => readCapture(bytes));
    const got = failure(() => streamed(bytes, [5, 64], 64));
    assert.deepEqual(got, expected, `${bytes.length} bytes`);
  }
});

test('the streamed reader keeps one buffer: the current packet is a range of it', () => {
  const reader = new CaptureReader(chunked(sample, [1 << 16]), 1 << 16);
  const buffer = reader.bytes;
  let packets = 0;
  while (reader.next()) {
    assert.equal(reader.bytes, buffer);
    assert.equal(reader.end - reader.start, readCapture(sample).packets[packets].data.length);
    packets++;
  }
  assert.equal(packets, reader.count);
});
