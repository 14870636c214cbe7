/**
 * An XDP program over a classic pcap capture, streamed in large chunks straight into VM memory
 * and run by the JIT's record loop (`jit/record-loop.ts`): JavaScript acts once per chunk, not
 * once per packet. Results are those of reading the capture with a {@link CaptureReader} and
 * calling {@link XdpTestRunner.run} on each packet: the same retvals in the same order first
 * seen, the same failures with the same packet numbers, the same maps, the same capture errors
 * at the same byte offsets. Packets the loop leaves to JavaScript (shorter than an Ethernet
 * header, or longer than the linear frame) run through {@link XdpTestRunner.run}.
 */
import {
  type Packet,
  PCAP_HEADER_SIZE,
  PcapError,
  type PcapFileHeader,
  pcapTimestampNs,
  type ReadInto,
} from '../pcap/pcap.js';
import type { XdpTestRunner } from './test-run.js';

/** Where {@link runXdpCapture} reports what the packets did. */
export interface XdpCaptureSink {
  /**
   * `count` more packets ended with `retval`. A retval's first report comes at its first packet,
   * so the order of first reports is the order retvals were first seen.
   */
  verdict(retval: number, count: number): void;
  /** Packet `index` (counted from 1, as {@link CaptureReader.count}) failed with `error`. */
  failure(index: number, error: unknown): void;
  /** Which retvals' packets come back through {@link passed} (none without it). */
  readonly keep?: (retval: number) => boolean;
  /** A kept packet: its `data_out`, time, length on the wire (as recorded) and link type. */
  passed?(packet: Packet): void;
  /** Called after each chunk read from the source. */
  progress?(): void;
}

/**
 * Default bytes read per chunk (also the largest record that needs no buffer of its own). Fresh
 * pages cost their first touch (1 MiB took 15 ms, 256 KiB 2 ms here), and larger reads save
 * nothing measurable.
 */
export const CAPTURE_CHUNK = 1 << 18;
/** The loop's retval counters: 32 u32s before the chunk. */
const COUNTS_SIZE = 32 * 4;
const RECORD_HEADER = 16;

/**
 * Run `xdp` (whose {@link XdpTestRunner.records} is defined) over the records of a classic pcap
 * capture whose file header (`header`, {@link PCAP_HEADER_SIZE} bytes) was read from `source`
 * already. Returns the packets read; throws {@link PcapError} for a truncated record as
 * {@link CaptureReader} does (after the packets before it ran).
 */
export function runXdpCapture(
  xdp: XdpTestRunner,
  header: PcapFileHeader,
  source: ReadInto,
  sink: XdpCaptureSink,
  chunkSize = CAPTURE_CHUNK,
): number {
  const loop = xdp.records;
  if (!loop) throw new Error('runXdpCapture: the program has no record loop');
  const memory = xdp.memory;
  // 16 bytes of slack after the chunk: the loop copies packets in 16-byte steps.
  const area = memory.alloc(COUNTS_SIZE + chunkSize + 16, { name: 'capture chunk', writable: false });
  const counts = area.start;
  const base = counts + COUNTS_SIZE;
  const top = base + chunkSize;
  const le = header.littleEndian;
  const keep = sink.keep;
  let keepMask = 0;
  for (let r = 0; keep && r < 32; r++) if (keep(r)) keepMask |= 1 << r;
  /** Retvals below 32 reported to the sink (bit r). */
  let seen = 0;
  /** The next record, the end of the bytes held, and the capture offset of `base`. */
  let pos = base;
  let limit = base;
  let offset = PCAP_HEADER_SIZE;
  let eof = false;
  let total = 0;
  const u32 = (at: number) => memory.view.getUint32(at, le);

  const report = (retval: number) => {
    sink.verdict(retval, 1);
    if (retval < 32) seen |= 1 << retval;
  };
  /** A kept packet: the record header at `view[record]`, `data_out` from the last run. */
  const pass = (view: DataView, record: number) => {
    sink.passed?.({
      timestampNs: pcapTimestampNs(
        view.getUint32(record, le),
        view.getUint32(record + 4, le),
        header.nanoseconds,
      ),
      data: xdp.dataOut(),
      originalLength: view.getUint32(record + 12, le),
      linkType: header.linkType,
    });
  };
  /** One packet through {@link XdpTestRunner.run}: `bytes[record]` is its record. */
  const runOne = (bytes: Uint8Array, record: number, length: number) => {
    total++;
    let retval: number;
    try {
      retval = xdp.run(bytes, record + RECORD_HEADER, record + RECORD_HEADER + length);
    } catch (error) {
      sink.failure(total, error);
      return;
    }
    report(retval);
    if (keep?.(retval))
      pass(bytes === memory.bytes ? memory.view : new DataView(bytes.buffer, bytes.byteOffset), record);
  };
  const drain = () => {
    const view = memory.view;
    for (let r = 0; r < 32; r++) {
      const n = view.getUint32(counts + 4 * r, true);
      if (n === 0) continue;
      sink.verdict(r, n);
      view.setUint32(counts + 4 * r, 0, true);
    }
  };

  try {
    for (;;) {
      // The unread bytes to the front, then read until the chunk is full or the capture ends.
      if (pos > base) {
        memory.bytes.copyWithin(base, pos, limit);
        offset += pos - base;
        limit -= pos - base;
        pos = base;
      }
      while (!eof && limit < top) {
        const got = source(memory.bytes, limit, top - limit);
        if (got <= 0) eof = true;
        else limit += got;
      }
      sink.progress?.();
      let status: number;
      for (;;) {
        try {
          status = xdp.runRecords({ pos, limit, swap: !le, counts, seen, keep: keepMask });
        } catch (error) {
          // The packet at `record` faulted; its count is in `packets`.
          if (loop.packets === 0) throw error;
          total += loop.packets;
          pos = loop.next;
          sink.failure(total, error);
          continue;
        }
        total += loop.packets;
        pos = loop.next;
        if (status === 0) break;
        if (status === 1) {
          const length = u32(pos + 8);
          runOne(memory.bytes, pos, length);
          pos += RECORD_HEADER + length;
        } else {
          if (status === 2) report(loop.retval);
          // The memory's own view: a new view of its buffer costs microseconds.
          if (status === 3 || keep?.(loop.retval)) pass(memory.view, loop.record);
        }
      }
      drain();
      if (pos === limit && eof) return total;
      if (eof) {
        const at = offset + pos - base;
        if (limit - pos < RECORD_HEADER)
          throw new PcapError(at, `truncated record header (packet ${total + 1})`);
        throw new PcapError(
          at,
          `packet ${total + 1} claims ${u32(pos + 8)} bytes, ${limit - pos - RECORD_HEADER} remain`,
        );
      }
      if (pos === base && limit === top) {
        // A record larger than the chunk: read it whole into a buffer of its own.
        const at = offset;
        const length = u32(pos + 8);
        const whole = readRecord(memory.bytes.slice(base, top), length, source, () => total + 1, at);
        runOne(whole, 0, length);
        offset += RECORD_HEADER + length;
        pos = limit = base;
      }
    }
  } finally {
    memory.free(area);
  }
}

/**
 * A record of `length` bytes of data whose first bytes are `held`: the rest read from `source`,
 * the buffer doubling only as bytes arrive (a corrupt length cannot make it allocate more than
 * the capture holds), as {@link CaptureReader} grows its own.
 */
function readRecord(
  held: Uint8Array,
  length: number,
  source: ReadInto,
  index: () => number,
  at: number,
): Uint8Array {
  const need = RECORD_HEADER + length;
  let bytes = held;
  let have = held.length;
  while (have < need) {
    if (have === bytes.length) {
      const grown = new Uint8Array(bytes.length * 2);
      grown.set(bytes);
      bytes = grown;
    }
    const got = source(bytes, have, Math.min(bytes.length, need) - have);
    if (got <= 0)
      throw new PcapError(at, `packet ${index()} claims ${length} bytes, ${have - RECORD_HEADER} remain`);
    have += got;
  }
  return bytes;
}
