/**
 * The kernel ring buffer reader: a child process runs a tc program that writes one 8-byte
 * sequence number per run (BPF_PROG_TEST_RUN in batches, paced to the target rate) while this
 * process consumes. Target: 1 M events/s on a 1 MiB ring with no record dropped and none out of
 * order. Needs bpf() (root). `TSBPF_RINGBUF_RATE` and `TSBPF_RINGBUF_SECONDS` change the run.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { KernelRingBuffer } from '../src/kernel/events/ringbuf.js';
import { produced, setup } from '../src/kernel/events/ringbuf-sequence.fixture.js';
import { bpfUnavailable } from '../src/kernel/sys/availability.js';
import type { Bench } from './bench.js';

const RATE = Number(process.env.TSBPF_RINGBUF_RATE ?? 1_000_000);

/** The producer: runs the program (its fd 3) paced to `rate` events/s and prints how many it ran. */
const PRODUCER = `
const { KernelProgram } = await import(${JSON.stringify(pathToFileURL(new URL('../src/kernel/load/program.ts', import.meta.url).pathname).href)});
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

export const bench: Bench = {
  description: `ring buffer: ${RATE / 1e6} M events/s on a 1 MiB ring without drops`,
  unavailable: () => bpfUnavailable(),
  async run({ seconds: scale }) {
    const seconds = Number(process.env.TSBPF_RINGBUF_SECONDS ?? 2 * scale);
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
        ['--import', 'tsx', '--input-type=module', '-e', PRODUCER, String(RATE), String(seconds)],
        { stdio: ['ignore', 'pipe', 'inherit', s.program.fd] },
      );
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      if (code !== 0) throw new Error(`producer failed: ${out}`);
      const report = JSON.parse(out) as { done: number; ms: number };
      // Let the reader drain what is left.
      for (let i = 0; i < 100 && received < report.done; i++) await new Promise((r) => setTimeout(r, 10));
      const elapsed = (performance.now() - started) / 1000;
      reader.stop();
      const total = produced(s.counter);
      const rate = report.done / (report.ms / 1000);
      return {
        rows: [
          {
            'produced M/s': Number((rate / 1e6).toFixed(2)),
            produced: total,
            received,
            dropped: total - received,
            'out of order': outOfOrder,
            'received M/s': Number((received / elapsed / 1e6).toFixed(2)),
          },
        ],
        met: received === total && outOfOrder === 0 && rate >= RATE * 0.95,
        summary: `target ${RATE / 1e6} M events/s with 0 dropped, 0 out of order`,
      };
    } finally {
      reader.close();
      s.close();
    }
  },
};
