// The kernel ring buffer reader against the running kernel: records written by a real program
// come back whole, in order, and fast enough. Skips with the reason when bpf() is not permitted.
//
// Throughput: a tc (SCHED_CLS) program writes one 8-byte sequence number per run with bpf_ringbuf_output;
// a child process runs it with BPF_PROG_TEST_RUN (repeat = a batch) paced to a target rate, while
// this process consumes. Every sequence number must arrive (no drops: a full ring makes
// bpf_ringbuf_output fail, so a gap in the sequence is a drop). TSBPF_RINGBUF_SECONDS and
// TSBPF_RINGBUF_RATE change the run (default 2 s at 1 M events/s).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createMap, type KernelMapOps } from './map.js';
import { loadProgram } from './program.js';
import { KernelRingBuffer } from './ringbuf.js';

const unavailable: string | undefined = (() => {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
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

/** One raw instruction. */
function insn(opcode: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  out[0] = opcode;
  out[1] = (src << 4) | dst;
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return out;
}
/** `r<dst> = map fd` (two slots). */
const ldMapFd = (dst: number, fd: number) => [insn(0x18, dst, 1, 0, fd), insn(0, 0, 0, 0, 0)];

/**
 * seq = atomic_fetch_add(&counter[0], 1); bpf_ringbuf_output(&rb, &seq, 8, flags); return 2.
 *
 * A SCHED_CLS program, not XDP: an XDP test run with repeat > 1 swaps the XDP dispatcher, which
 * waits for an RCU grace period (~20 ms per run here), so XDP cannot produce faster than ~0.8 M/s
 * through test runs. SCHED_CLS test runs cost ~100 ns per repetition (~9 M/s).
 */
function sequenceProgram(counterFd: number, ringFd: number, outputFlags = 0): Uint8Array {
  const parts = [
    insn(0x62, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0
    insn(0xbf, 2, 10, 0, 0), // r2 = r10
    insn(0x07, 2, 0, 0, -4), // r2 += -4
    ...ldMapFd(1, counterFd),
    insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
    insn(0x15, 0, 0, 10, 0), // if r0 == 0 goto exit
    insn(0xb7, 1, 0, 0, 1), // r1 = 1
    insn(0xdb, 0, 1, 0, 1), // r1 = atomic_fetch_add((u64 *)(r0 + 0), r1)
    insn(0x7b, 10, 1, -16, 0), // *(u64 *)(r10 - 16) = r1
    insn(0xbf, 2, 10, 0, 0), // r2 = r10
    insn(0x07, 2, 0, 0, -16), // r2 += -16
    ...ldMapFd(1, ringFd),
    insn(0xb7, 3, 0, 0, 8), // r3 = 8
    insn(0xb7, 4, 0, 0, outputFlags), // r4 = flags
    insn(0x85, 0, 0, 0, 130), // call bpf_ringbuf_output
    insn(0xb7, 0, 0, 0, 2), // exit: r0 = 2 (TC_ACT_SHOT; the verdict does not matter)
    insn(0x95, 0, 0, 0, 0), // exit
  ];
  const out = new Uint8Array(parts.length * 8);
  parts.forEach((part, i) => {
    out.set(part, i * 8);
  });
  return out;
}

interface Setup {
  readonly counter: KernelMapOps;
  readonly ring: KernelMapOps;
  readonly program: ReturnType<typeof loadProgram>;
  close(): void;
}

function setup(ringSize: number, outputFlags = 0): Setup {
  const counter = createMap({ name: 'seq', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1 });
  const ring = createMap({ name: 'rb', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: ringSize });
  const program = loadProgram({
    type: 'SCHED_CLS',
    insns: sequenceProgram(counter.fd, ring.fd, outputFlags),
    license: 'GPL',
    name: 'rb_seq',
  });
  return {
    counter,
    ring,
    program,
    close() {
      program.close();
      ring.close();
      counter.close();
    },
  };
}

/** A frame for the test runs (at least an Ethernet header). */
const FRAME = new Uint8Array(64);

function produced(counter: KernelMapOps): number {
  const value = counter.lookup(new Uint8Array(4));
  return value ? Number(new DataView(value.buffer).getBigUint64(0, true)) : 0;
}

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
    const started = Date.now();
    assert.equal(await reader.poll(() => {}, 50), 0);
    assert.ok(Date.now() - started >= 40);
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

const SECONDS = Number(process.env.TSBPF_RINGBUF_SECONDS ?? 2);
const RATE = Number(process.env.TSBPF_RINGBUF_RATE ?? 1_000_000);

/**
 * The producer: runs the program (our fd 3) with BPF_PROG_TEST_RUN in batches, paced to `rate`
 * events per second, and prints how many it ran. A separate process, so that producing and
 * consuming really run concurrently.
 */
const PRODUCER = `
const { KernelProgram } = await import(${JSON.stringify(pathToFileURL(new URL('./program.ts', import.meta.url).pathname).href)});
const [rate, seconds] = process.argv.slice(-2).map(Number);
const program = new KernelProgram(3, 'rb_seq', 'SCHED_CLS');
const batch = Math.max(1, Math.round(rate / 200));
const frame = new Uint8Array(64);
const start = performance.now();
let done = 0;
while (done < rate * seconds) {
  program.testRun({ data: frame, repeat: batch });
  done += batch;
  const due = start + (done / rate) * 1000;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
}
console.log(JSON.stringify({ done, ms: performance.now() - start }));
`;

kernelTest(`ring buffer: keeps up with ${RATE / 1e6} M events/s on a 1 MiB ring without drops`, async (t) => {
  const s = setup(1 << 20);
  const reader = new KernelRingBuffer(s.ring);
  try {
    let received = 0;
    let next = 0n;
    let outOfOrder = 0;
    reader.start((record) => {
      const seq = new DataView(record.buffer, record.byteOffset, 8).getBigUint64(0, true);
      if (seq !== next) outOfOrder++;
      next = seq + 1n;
      received++;
    });
    const started = performance.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', PRODUCER, String(RATE), String(SECONDS)],
      { stdio: ['ignore', 'pipe', 'inherit', s.program.fd] },
    );
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, `producer failed: ${out}`);
    const report = JSON.parse(out) as { done: number; ms: number };
    // Let the reader drain what is left.
    for (let i = 0; i < 100 && received < report.done; i++) await new Promise((r) => setTimeout(r, 10));
    const elapsed = (performance.now() - started) / 1000;
    reader.stop();
    const total = produced(s.counter);
    const rate = report.done / (report.ms / 1000);
    t.diagnostic(
      `produced ${total} in ${(report.ms / 1000).toFixed(2)} s (${(rate / 1e6).toFixed(2)} M/s), ` +
        `received ${received} (${(received / elapsed / 1e6).toFixed(2)} M/s over ${elapsed.toFixed(2)} s)`,
    );
    console.log(
      `# ring buffer: produced ${(rate / 1e6).toFixed(2)} M events/s, received ${received}/${total}`,
    );
    assert.equal(total, report.done);
    assert.equal(received, total, `dropped ${total - received} of ${total}`);
    assert.equal(outOfOrder, 0);
  } finally {
    reader.close();
    s.close();
  }
});
