/**
 * Packet captures: classic pcap and pcapng, read and written. Bytes in, packets out (and back),
 * no file system, so captures can be fed to the VM in a browser too.
 *
 * Classic pcap (one file header, then records):
 * ```
 *  header (24): magic u32 | major u16 | minor u16 | thiszone s32 | sigfigs u32 | snaplen u32 | linktype u32
 *  record (16 + n): ts_sec u32 | ts_frac u32 | incl_len u32 | orig_len u32 | data[incl_len]
 * ```
 * The magic says the byte order and the timestamp unit: a1b2c3d4 = microseconds, a1b23c4d =
 * nanoseconds.
 *
 * pcapng is a sequence of blocks `type u32 | total_length u32 | body | total_length u32`, padded to
 * 4 bytes. We read Section Header (0x0a0d0d0a, whose byte-order magic 1a2b3c4d sets the
 * endianness), Interface Description (1: linktype, snaplen, `if_tsresol` option), Enhanced Packet
 * (6) and Simple Packet (3) blocks, and skip every other block.
 */
import { TsbpfError } from '../errors.js';

/** Link types we name; the number is kept for any other. */
export const PcapLinkType = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, IPV6: 229 } as const;

export interface Packet {
  /** Capture time in nanoseconds since the epoch. */
  readonly timestampNs: bigint;
  readonly data: Uint8Array;
  /** Length on the wire; more than `data.length` when the capture was truncated. */
  readonly originalLength: number;
  /** Link type of the interface the packet was captured on. */
  readonly linkType: number;
}

export interface Capture {
  readonly format: 'pcap' | 'pcapng';
  readonly packets: readonly Packet[];
}

/** A capture that cannot be read, with the byte offset of the problem. */
export class PcapError extends TsbpfError {
  override name = 'PcapError';
  readonly offset: number;
  constructor(offset: number, reason: string) {
    super(`pcap: byte offset ${offset}: ${reason}`);
    this.offset = offset;
  }
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const NG_SHB = 0x0a0d0d0a;
const NG_BYTE_ORDER = 0x1a2b3c4d;

/** Bytes of a classic pcap file header; its records follow. */
export const PCAP_HEADER_SIZE = 24;

/** What a classic pcap file header says about the records after it. */
export interface PcapFileHeader {
  /** The byte order of every number in the file. */
  readonly littleEndian: boolean;
  /** Record timestamps' fraction is in nanoseconds (magic a1b23c4d), else microseconds. */
  readonly nanoseconds: boolean;
  readonly linkType: number;
}

/**
 * The classic pcap file header at the start of `bytes` ({@link PCAP_HEADER_SIZE} bytes), or
 * undefined when its magic is not pcap's (or the bytes are too few).
 */
export function pcapFileHeader(bytes: Uint8Array): PcapFileHeader | undefined {
  if (bytes.length < PCAP_HEADER_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, PCAP_HEADER_SIZE);
  for (const littleEndian of [true, false]) {
    const magic = view.getUint32(0, littleEndian);
    if (magic === PCAP_US || magic === PCAP_NS)
      return {
        littleEndian,
        nanoseconds: magic === PCAP_NS,
        linkType: view.getUint32(20, littleEndian) & 0x0fffffff,
      };
  }
  return undefined;
}

/** A classic pcap record's time (`ts_sec`, `ts_frac`) in nanoseconds since the epoch. */
export function pcapTimestampNs(seconds: number, fraction: number, nanoseconds: boolean): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(fraction) * (nanoseconds ? 1n : 1000n);
}

/** Read a pcap or pcapng capture, detected from its first bytes. */
export function readCapture(bytes: Uint8Array): Capture {
  const reader = new CaptureReader(bytes);
  const packets: Packet[] = [];
  while (reader.next()) packets.push(reader.packet());
  return { format: reader.format, packets };
}

/**
 * Fills `buffer[offset, offset + length)` from a source and returns how many bytes it read, 0 at
 * the end (Node: `(b, o, n) => readSync(fd, b, o, n, null)`).
 */
export type ReadInto = (buffer: Uint8Array, offset: number, length: number) => number;

interface Interface {
  readonly linkType: number;
  /** Nanoseconds per timestamp unit, as a fraction numerator/denominator. */
  readonly unitNum: bigint;
  readonly unitDen: bigint;
}

/**
 * Default size of a {@link CaptureReader}'s buffer when it streams (it grows for a larger block).
 * Fresh pages cost their first touch: 1 MiB took 15 ms, 256 KiB 2 ms.
 */
const STREAM_BUFFER = 1 << 18;

/**
 * Reads a capture one packet at a time, from bytes in memory or streamed from a source
 * ({@link ReadInto}) through one buffer that grows only to the largest block: a capture of any
 * size in bounded memory, with no allocation per packet. The current packet is
 * `bytes[start, end)`, valid until the next {@link next}; {@link packet} copies it.
 * Errors are {@link readCapture}'s, with the same byte offsets from the start of the capture.
 */
export class CaptureReader {
  readonly format: 'pcap' | 'pcapng';
  /** The buffer holding the current packet. */
  bytes: Uint8Array;
  /** The current packet's bytes in {@link bytes}. */
  start = 0;
  end = 0;
  /** The current packet's length on the wire. */
  originalLength = 0;
  /** Link type of the interface the current packet was captured on. */
  linkType = 0;
  /** Packets read so far. */
  count = 0;
  private readonly source: ReadInto | undefined;
  private view: DataView;
  /** Next unread byte in {@link bytes}, end of the bytes held, and the capture offset of `bytes[0]`. */
  private pos = 0;
  private limit: number;
  private base = 0;
  private eof: boolean;
  /** Bytes of the current record still to skip on the next call. */
  private pending = 0;
  private le = true;
  // Classic pcap.
  private nanos = false;
  private pcapLinkType = 0;
  // pcapng.
  private interfaces: Interface[] = [];
  /** Timestamp of the current packet: pcap seconds and fraction, or pcapng's high and low words. */
  private tsHigh = 0;
  private tsLow = 0;
  private unitNum = 1000n;
  private unitDen = 1n;

  /** Read `input`: the whole capture's bytes, or a source to stream it from. */
  constructor(input: Uint8Array | ReadInto, bufferSize = STREAM_BUFFER) {
    if (input instanceof Uint8Array) {
      this.bytes = input;
      this.limit = input.length;
      this.eof = true;
      this.source = undefined;
    } else {
      this.bytes = new Uint8Array(Math.max(bufferSize, 64));
      this.limit = 0;
      this.eof = false;
      this.source = input;
    }
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    if (!this.fill(4)) throw new PcapError(0, `${this.limit - this.pos} bytes is too short for a capture`);
    if (this.view.getUint32(0, true) === NG_SHB) {
      this.format = 'pcapng';
      return;
    }
    this.format = 'pcap';
    this.readPcapHeader();
  }

  /** Advance to the next packet; false at the end of the capture. */
  next(): boolean {
    this.pos += this.pending;
    this.pending = 0;
    return this.format === 'pcap' ? this.nextPcap() : this.nextPcapng();
  }

  /** The current packet's capture time in nanoseconds since the epoch. */
  timestampNs(): bigint {
    if (this.format === 'pcap') return pcapTimestampNs(this.tsHigh, this.tsLow, this.nanos);
    const ts = (BigInt(this.tsHigh) << 32n) | BigInt(this.tsLow);
    return (ts * this.unitNum) / this.unitDen;
  }

  /** A copy of the current packet. */
  packet(): Packet {
    return {
      timestampNs: this.timestampNs(),
      data: this.bytes.slice(this.start, this.end),
      originalLength: this.originalLength,
      linkType: this.linkType,
    };
  }

  /**
   * Capture offset of `bytes[index]`: a method, not a closure made per block (under tsx, naming
   * each closure made reading a pcapng capture 7 times slower).
   */
  private captureOffset(index: number): number {
    return this.base + index;
  }

  /** Capture offset of `bytes[pos + at]`. */
  private offset(at = 0): number {
    return this.base + this.pos + at;
  }

  /**
   * Whether `n` bytes from {@link pos} are held, reading (and moving the unread bytes to the
   * front, or growing the buffer) as needed.
   */
  private fill(n: number): boolean {
    while (this.limit - this.pos < n) {
      const source = this.source;
      if (this.eof || !source) return false;
      let bytes = this.bytes;
      if (this.pos > 0) {
        bytes.copyWithin(0, this.pos, this.limit);
        this.base += this.pos;
        this.limit -= this.pos;
        this.pos = 0;
      }
      if (this.limit === bytes.length) {
        // A block larger than the buffer: grow step by step, so a corrupt length cannot make
        // the reader allocate more than the capture holds.
        const grown = new Uint8Array(bytes.length * 2);
        grown.set(bytes.subarray(0, this.limit));
        bytes = this.bytes = grown;
        this.view = new DataView(grown.buffer);
      }
      const got = source(bytes, this.limit, bytes.length - this.limit);
      if (got <= 0) this.eof = true;
      else this.limit += got;
    }
    return true;
  }

  /** Bytes left in the capture from {@link pos} (reads to its end: for error messages). */
  private remaining(): number {
    this.fill(Number.MAX_SAFE_INTEGER);
    return this.limit - this.pos;
  }

  private readPcapHeader(): void {
    if (!this.fill(24)) throw new PcapError(0, 'truncated pcap file header (24 bytes needed)');
    const header = pcapFileHeader(this.bytes);
    if (!header) {
      const magic = this.view.getUint32(0, true);
      throw new PcapError(0, `not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, '0')})`);
    }
    this.le = header.littleEndian;
    this.nanos = header.nanoseconds;
    this.pcapLinkType = header.linkType;
    this.pos = PCAP_HEADER_SIZE;
  }

  private nextPcap(): boolean {
    if (!this.fill(1)) return false;
    if (!this.fill(16))
      throw new PcapError(this.offset(), `truncated record header (packet ${this.count + 1})`);
    const { le, pos } = this;
    const captured = this.view.getUint32(pos + 8, le);
    if (!this.fill(16 + captured)) {
      throw new PcapError(
        this.offset(),
        `packet ${this.count + 1} claims ${captured} bytes, ${this.limit - this.pos - 16} remain`,
      );
    }
    // fill may have moved the bytes: read the header where they are now.
    const view = this.view;
    const at = this.pos;
    this.tsHigh = view.getUint32(at, le);
    this.tsLow = view.getUint32(at + 4, le);
    this.originalLength = view.getUint32(at + 12, le);
    this.linkType = this.pcapLinkType;
    this.start = at + 16;
    this.end = at + 16 + captured;
    this.pending = 16 + captured;
    this.count++;
    return true;
  }

  private nextPcapng(): boolean {
    for (;;) {
      if (!this.fill(1)) return false;
      if (!this.fill(12)) throw new PcapError(this.offset(), 'truncated pcapng block header');
      let view = this.view;
      let at = this.pos;
      const type = view.getUint32(at, this.le);
      if (type === NG_SHB || view.getUint32(at, !this.le) === NG_SHB) {
        const order = view.getUint32(at + 8, true);
        if (order === NG_BYTE_ORDER) this.le = true;
        else if (order === 0x4d3c2b1a) this.le = false;
        else throw new PcapError(this.offset(8), `bad pcapng byte-order magic 0x${order.toString(16)}`);
        this.interfaces = [];
      }
      const le = this.le;
      const length = view.getUint32(at + 4, le);
      if (length < 12 || length % 4 !== 0 || !this.fill(length)) {
        throw new PcapError(
          this.offset(4),
          `pcapng block length ${length} is invalid (${this.remaining()} bytes remain)`,
        );
      }
      view = this.view;
      at = this.pos;
      if (view.getUint32(at + length - 4, le) !== length) {
        throw new PcapError(
          this.offset(length - 4),
          'pcapng block trailing length does not match its leading length',
        );
      }
      const body = at + 8;
      const bodyEnd = at + length - 4;
      const blockType = view.getUint32(at, le);
      this.pending = length;
      if (blockType === 1) {
        if (body + 8 > bodyEnd)
          throw new PcapError(this.captureOffset(body), 'truncated interface description block');
        let unitNum = 1000n;
        let unitDen = 1n;
        for (const [code, valueOffset, valueLength] of options(view, body + 8, bodyEnd, le, this.base)) {
          if (code === 9 && valueLength >= 1) {
            const resolution = this.bytes[valueOffset];
            const exponent = BigInt(resolution & 0x7f);
            // Units of 10^-n or 2^-n seconds, expressed in nanoseconds as num/den.
            if (resolution & 0x80) [unitNum, unitDen] = [1_000_000_000n, 1n << exponent];
            else if (exponent <= 9n) [unitNum, unitDen] = [10n ** (9n - exponent), 1n];
            else [unitNum, unitDen] = [1n, 10n ** (exponent - 9n)];
          }
        }
        this.interfaces.push({ linkType: view.getUint16(body, le), unitNum, unitDen });
      } else if (blockType === 6) {
        if (body + 20 > bodyEnd)
          throw new PcapError(this.captureOffset(body), 'truncated enhanced packet block');
        const id = view.getUint32(body, le);
        const iface = this.interfaces[id];
        if (!iface)
          throw new PcapError(
            this.captureOffset(body),
            `enhanced packet block names interface ${id}, ${this.interfaces.length} described`,
          );
        const captured = view.getUint32(body + 12, le);
        if (body + 20 + captured > bodyEnd)
          throw new PcapError(
            this.captureOffset(body + 12),
            `packet of ${captured} bytes overruns its block`,
          );
        this.tsHigh = view.getUint32(body + 4, le);
        this.tsLow = view.getUint32(body + 8, le);
        this.unitNum = iface.unitNum;
        this.unitDen = iface.unitDen;
        this.originalLength = view.getUint32(body + 16, le);
        this.linkType = iface.linkType;
        this.start = body + 20;
        this.end = body + 20 + captured;
        this.count++;
        return true;
      } else if (blockType === 3) {
        const iface = this.interfaces[0];
        if (!iface)
          throw new PcapError(
            this.captureOffset(body),
            'simple packet block before any interface description',
          );
        const original = view.getUint32(body, le);
        const captured = Math.min(original, bodyEnd - body - 4);
        this.tsHigh = this.tsLow = 0;
        this.unitNum = iface.unitNum;
        this.unitDen = iface.unitDen;
        this.originalLength = original;
        this.linkType = iface.linkType;
        this.start = body + 4;
        this.end = body + 4 + captured;
        this.count++;
        return true;
      }
      this.pos += length;
      this.pending = 0;
    }
  }
}

/** The options of a pcapng block body: [code, value offset, value length]; `base` turns offsets into capture offsets for errors. */
function* options(
  view: DataView,
  start: number,
  end: number,
  le: boolean,
  base: number,
): Generator<[number, number, number]> {
  let offset = start;
  while (offset + 4 <= end) {
    const code = view.getUint16(offset, le);
    const length = view.getUint16(offset + 2, le);
    if (code === 0) return;
    if (offset + 4 + length > end)
      throw new PcapError(base + offset, `option ${code} of ${length} bytes overruns its block`);
    yield [code, offset + 4, length];
    offset += 4 + Math.ceil(length / 4) * 4;
  }
}

export interface WriteOptions {
  readonly format?: 'pcap' | 'pcapng';
  /** Link type of the output (default: the first packet's, or Ethernet). */
  readonly linkType?: number;
  readonly snaplen?: number;
}

/** Write packets as a nanosecond-resolution pcap (default) or a pcapng capture. */
export function writeCapture(packets: readonly Packet[], options: WriteOptions = {}): Uint8Array {
  const linkType = options.linkType ?? packets[0]?.linkType ?? PcapLinkType.ETHERNET;
  const snaplen = options.snaplen ?? 262144;
  return options.format === 'pcapng'
    ? writePcapng(packets, linkType, snaplen)
    : writePcap(packets, linkType, snaplen);
}

function writePcap(packets: readonly Packet[], linkType: number, snaplen: number): Uint8Array {
  const size = 24 + packets.reduce((sum, p) => sum + 16 + p.data.length, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, PCAP_NS, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, snaplen, true);
  view.setUint32(20, linkType, true);
  let offset = 24;
  for (const packet of packets) {
    view.setUint32(offset, Number(packet.timestampNs / 1_000_000_000n), true);
    view.setUint32(offset + 4, Number(packet.timestampNs % 1_000_000_000n), true);
    view.setUint32(offset + 8, packet.data.length, true);
    view.setUint32(offset + 12, Math.max(packet.originalLength, packet.data.length), true);
    bytes.set(packet.data, offset + 16);
    offset += 16 + packet.data.length;
  }
  return bytes;
}

function writePcapng(packets: readonly Packet[], linkType: number, snaplen: number): Uint8Array {
  const padded = (n: number) => Math.ceil(n / 4) * 4;
  // SHB (28) + IDB with if_tsresol=9 (20 + 8 option + 4 end) + EPBs.
  const idbLength = 20 + 8 + 4;
  const size = 28 + idbLength + packets.reduce((sum, p) => sum + 32 + padded(p.data.length), 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, NG_SHB, true);
  view.setUint32(4, 28, true);
  view.setUint32(8, NG_BYTE_ORDER, true);
  view.setUint16(12, 1, true);
  view.setUint16(14, 0, true);
  view.setBigInt64(16, -1n, true);
  view.setUint32(24, 28, true);
  let offset = 28;
  view.setUint32(offset, 1, true);
  view.setUint32(offset + 4, idbLength, true);
  view.setUint16(offset + 8, linkType, true);
  view.setUint32(offset + 12, snaplen, true);
  view.setUint16(offset + 16, 9, true); // if_tsresol
  view.setUint16(offset + 18, 1, true);
  bytes[offset + 20] = 9; // 10^-9 s: nanoseconds
  view.setUint32(offset + idbLength - 4, idbLength, true);
  offset += idbLength;
  for (const packet of packets) {
    const length = 32 + padded(packet.data.length);
    view.setUint32(offset, 6, true);
    view.setUint32(offset + 4, length, true);
    view.setUint32(offset + 8, 0, true);
    view.setUint32(offset + 12, Number(packet.timestampNs >> 32n), true);
    view.setUint32(offset + 16, Number(packet.timestampNs & 0xffffffffn), true);
    view.setUint32(offset + 20, packet.data.length, true);
    view.setUint32(offset + 24, Math.max(packet.originalLength, packet.data.length), true);
    bytes.set(packet.data, offset + 28);
    view.setUint32(offset + length - 4, length, true);
    offset += length;
  }
  return bytes;
}
