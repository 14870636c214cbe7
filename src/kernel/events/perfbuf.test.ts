// The perf buffer reader against the running kernel: samples written by bpf_perf_event_output come
// back whole, per CPU, and a full ring reports its losses. Skips when bpf() is not permitted.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { createMap, possibleCpus } from '../load/map.js';
import { loadProgram } from '../load/program.js';
import { bpfUnavailable } from '../sys/availability.js';
import { addressOf, rawSyscall } from '../sys/syscall.js';
import { KernelPerfBuffer } from './perfbuf.js';

const unavailable = bpfUnavailable();

function kernelTest(name: string, fn: (t: TestContext) => void | Promise<void>): void {
  test(name, (t) => {
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    return fn(t);
  });
}

function insn(opcode: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  out[0] = opcode;
  out[1] = (src << 4) | dst;
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return out;
}
const ldMapFd = (dst: number, fd: number) => [insn(0x18, dst, 1, 0, fd), insn(0, 0, 0, 0, 0)];

/** tc: seq = counter[0]++; bpf_perf_event_output(skb, &events, BPF_F_CURRENT_CPU, &seq, 8). */
function program(counterFd: number, eventsFd: number): Uint8Array {
  const parts = [
    insn(0xbf, 6, 1, 0, 0), // r6 = ctx
    insn(0x62, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0
    insn(0xbf, 2, 10, 0, 0),
    insn(0x07, 2, 0, 0, -4),
    ...ldMapFd(1, counterFd),
    insn(0x85, 0, 0, 0, 1), // bpf_map_lookup_elem
    insn(0x15, 0, 0, 11, 0), // if r0 == 0 goto exit
    insn(0xb7, 1, 0, 0, 1),
    insn(0xdb, 0, 1, 0, 1), // r1 = atomic_fetch_add(*r0, 1)
    insn(0x7b, 10, 1, -16, 0), // *(u64 *)(r10 - 16) = r1
    insn(0xbf, 1, 6, 0, 0), // r1 = ctx
    ...ldMapFd(2, eventsFd),
    insn(0xb4, 3, 0, 0, -1), // w3 = BPF_F_CURRENT_CPU (0xffffffff, no skb bytes)
    insn(0xbf, 4, 10, 0, 0),
    insn(0x07, 4, 0, 0, -16), // r4 = &seq
    insn(0xb7, 5, 0, 0, 8), // r5 = 8
    insn(0x85, 0, 0, 0, 25), // bpf_perf_event_output
    insn(0xb7, 0, 0, 0, 0), // exit: r0 = 0
    insn(0x95, 0, 0, 0, 0),
  ];
  const out = new Uint8Array(parts.length * 8);
  parts.forEach((part, i) => {
    out.set(part, i * 8);
  });
  return out;
}

function setup() {
  const counter = createMap({ name: 'seq', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1 });
  const events = createMap({
    name: 'events',
    type: 'PERF_EVENT_ARRAY',
    keySize: 4,
    valueSize: 4,
    maxEntries: possibleCpus(),
  });
  const prog = loadProgram({ type: 'SCHED_CLS', insns: program(counter.fd, events.fd), license: 'GPL' });
  return {
    events,
    run: (repeat: number) => prog.testRun({ data: new Uint8Array(64), repeat }),
    close() {
      prog.close();
      events.close();
      counter.close();
    },
  };
}

/**
 * Keep this thread on one CPU while `fn` runs. A test run may migrate between CPUs on a busy
 * machine, and each CPU has its own ring: the loss record lands only on the ring that overflowed.
 */
async function onOneCpu(fn: () => Promise<void>): Promise<void> {
  const nr = { x64: 203, arm64: 122 }[process.arch as 'x64' | 'arm64'];
  if (nr === undefined) return fn();
  const saved = new Uint8Array(Math.max(8, Math.ceil(possibleCpus() / 64) * 8));
  rawSyscall('sched_getaffinity', nr + 1, 0, saved.length, addressOf(saved));
  const byte = saved.findIndex((b) => b !== 0);
  const one = new Uint8Array(saved.length);
  one[byte] = saved[byte]! & -saved[byte]!; // the lowest CPU we may run on
  rawSyscall('sched_setaffinity', nr, 0, one.length, addressOf(one));
  try {
    await fn();
  } finally {
    rawSyscall('sched_setaffinity', nr, 0, saved.length, addressOf(saved));
  }
}

const seqOf = (sample: Uint8Array) => new DataView(sample.buffer, sample.byteOffset, 8).getBigUint64(0, true);

kernelTest('perf buffer: samples come back in order with their CPU', async () => {
  const s = setup();
  const reader = new KernelPerfBuffer(s.events, { pageCount: 8 });
  try {
    s.run(100);
    const seen: bigint[] = [];
    const cpus = new Set<number>();
    const n = await reader.poll((sample, cpu) => {
      // Raw samples are padded so the record stays 8-byte aligned: 8 bytes of ours, then zeros.
      assert.ok(sample.length >= 8);
      seen.push(seqOf(sample));
      cpus.add(cpu);
    }, 1000);
    assert.equal(n, 100);
    assert.deepEqual(
      seen,
      Array.from({ length: 100 }, (_, i) => BigInt(i)),
    );
    assert.equal(cpus.size, 1);
    assert.ok(reader.cpus.includes([...cpus][0]));
    assert.equal(reader.lost, 0);
  } finally {
    reader.close();
    s.close();
  }
});

kernelTest('perf buffer: a full ring reports PERF_RECORD_LOST; iteration yields copies', () =>
  onOneCpu(async () => {
    const s = setup();
    const lostEvents: number[] = [];
    const reader = new KernelPerfBuffer(s.events, { pageCount: 1, onLost: (n) => lostEvents.push(n) });
    try {
      s.run(1000); // 4 KiB hold ~170 samples of 24 bytes
      const first = reader.consume(() => {});
      assert.ok(first > 100 && first < 1000, `first batch: ${first}`);
      // The kernel writes the loss record before the next sample that fits.
      s.run(1);
      let more = 0;
      more += reader.consume(() => {});
      assert.equal(more, 1);
      assert.equal(reader.lost, 1000 - first);
      assert.deepEqual(lostEvents, [1000 - first]);

      setTimeout(() => s.run(3), 20);
      const samples: Uint8Array[] = [];
      for await (const sample of reader) {
        samples.push(sample);
        if (samples.length === 3) break;
      }
      assert.deepEqual(samples.map(seqOf), [1001n, 1002n, 1003n]);
    } finally {
      reader.close();
      s.close();
    }
  }),
);
