// The kernel ring buffer reader against the running kernel: records written by a real program
// come back whole and in order. Skips with the reason when bpf() or RINGBUF is not available.
// Throughput (1 M events/s without drops) is measured by `npm run bench` (bench/ringbuf.ts).
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { createMap } from '../load/map.js';
import { bpfUnavailable } from '../sys/availability.js';
import { KernelRingBuffer } from './ringbuf.js';
import { produced, setup } from './ringbuf-sequence.fixture.js';

const unavailable: string | undefined = (() => {
  const reason = bpfUnavailable();
  if (reason) return reason;
  try {
    createMap({ name: 'probe', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: 4096 }).close();
    return undefined;
  } catch (error) {
    return `bpf() or RINGBUF not available: ${error instanceof Error ? error.message : String(error)}`;
  }
})();

function kernelTest(name: string, fn: (t: TestContext) => void | Promise<void>): void {
  test(name, (t) => {
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    return fn(t);
  });
}

/** A frame for the test runs (at least an Ethernet header). */
const FRAME = new Uint8Array(64);
kernelTest('ring buffer: consume() returns records in order, then nothing', () => {
  const s = setup(4096);
  const reader = new KernelRingBuffer(s.ring);
  try {
    s.program.testRun({ data: FRAME, repeat: 10 });
    const seen: bigint[] = [];
    const n = reader.consume((record) => {
      assert.equal(record.length, 8);
      seen.push(new DataView(record.buffer, record.byteOffset, 8).getBigUint64(0, true));
    });
    assert.equal(n, 10);
    assert.deepEqual(
      seen,
      Array.from({ length: 10 }, (_, i) => BigInt(i)),
    );
    assert.equal(
      reader.consume(() => assert.fail('no more records')),
      0,
    );
    assert.equal(reader.pending, 0);
  } finally {
    reader.close();
    s.close();
  }
});

kernelTest('ring buffer: wraps around the end of a small ring without copying', () => {
  // 4096 bytes hold 256 records of 16 bytes: 1000 records wrap the ring almost four times.
  const s = setup(4096);
  const reader = new KernelRingBuffer(s.ring);
  try {
    let expected = 0n;
    for (let round = 0; round < 10; round++) {
      s.program.testRun({ data: FRAME, repeat: 100 });
      reader.consume((record) => {
        assert.equal(new DataView(record.buffer, record.byteOffset, 8).getBigUint64(0, true), expected++);
      });
    }
    assert.equal(expected, 1000n);
  } finally {
    reader.close();
    s.close();
  }
});

kernelTest('ring buffer: a full ring drops at the producer; the reader reports lost = 0', () => {
  const s = setup(4096);
  const reader = new KernelRingBuffer(s.ring);
  try {
    s.program.testRun({ data: FRAME, repeat: 1000 });
    const got = reader.consume(() => {});
    // The kernel keeps producer - consumer <= mask (size - 1), so 4096 bytes hold 255 records of
    // 16 bytes, not 256; the rest failed in bpf_ringbuf_output.
    assert.equal(got, 255);
    assert.equal(produced(s.counter), 1000);
    assert.equal(reader.lost, 0);
  } finally {
    reader.close();
    s.close();
  }
});

kernelTest('ring buffer: poll() waits for the epoll wake-up, async iteration yields copies', async () => {
  const s = setup(64 * 1024);
  const reader = new KernelRingBuffer(s.ring);
  try {
    // Nothing there: poll times out.
    assert.equal(await reader.poll(() => {}, 50), 0);
    // A record written while we wait wakes the poll.
    setTimeout(() => s.program.testRun({ data: FRAME, repeat: 3 }), 20);
    let polled = 0;
    while (polled < 3) polled += await reader.poll(() => {}, 2000);
    assert.equal(polled, 3);

    setTimeout(() => s.program.testRun({ data: FRAME, repeat: 5 }), 20);
    const records: Uint8Array[] = [];
    for await (const record of reader) {
      records.push(record);
      if (records.length === 5) break;
    }
    assert.deepEqual(
      records.map((r) => new DataView(r.buffer).getBigUint64(0, true)),
      [3n, 4n, 5n, 6n, 7n],
    );
    // Copies: they survive the space being reused.
    s.program.testRun({ data: FRAME, repeat: 5000 });
    assert.equal(new DataView(records[0].buffer).getBigUint64(0, true), 3n);
  } finally {
    reader.close();
    s.close();
  }
});

kernelTest('ring buffer: close() ends a pending iteration and poll', async () => {
  const s = setup(4096);
  const reader = new KernelRingBuffer(s.ring);
  try {
    const iteration = (async () => {
      let n = 0;
      for await (const _ of reader) n++;
      return n;
    })();
    const polled = reader.poll(() => {});
    setTimeout(() => reader.close(), 30);
    assert.equal(await iteration, 0);
    assert.equal(await polled, 0);
    assert.equal(
      reader.consume(() => {}),
      0,
    );
  } finally {
    reader.close();
    s.close();
  }
});
