/**
 * For the ring buffer tests and benchmark (not part of the package): a tc (SCHED_CLS) program that
 * writes one 8-byte sequence number per run with bpf_ringbuf_output, so a gap in what the reader
 * receives is a drop (a full ring makes bpf_ringbuf_output fail).
 */
import { createMap, type KernelMapOps } from '../load/map.js';
import { loadProgram } from '../load/program.js';

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
export function sequenceProgram(counterFd: number, ringFd: number, outputFlags = 0): Uint8Array {
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

export interface Setup {
  readonly counter: KernelMapOps;
  readonly ring: KernelMapOps;
  readonly program: ReturnType<typeof loadProgram>;
  close(): void;
}

export function setup(ringSize: number, outputFlags = 0): Setup {
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

/** How many records the program tried to write (its counter). */
export function produced(counter: KernelMapOps): number {
  const value = counter.lookup(new Uint8Array(4));
  return value ? Number(new DataView(value.buffer).getBigUint64(0, true)) : 0;
}
