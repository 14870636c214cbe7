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

/** Read a pcap or pcapng capture, detected from its first bytes. */
export function readCapture(bytes: Uint8Array): Capture {
  if (bytes.length < 4) throw new PcapError(0, `${bytes.length} bytes is too short for a capture`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic === NG_SHB) return { format: 'pcapng', packets: readPcapng(bytes, view) };
  return { format: 'pcap', packets: readPcap(bytes, view) };
}

function readPcap(bytes: Uint8Array, view: DataView): Packet[] {
  if (bytes.length < 24) throw new PcapError(0, 'truncated pcap file header (24 bytes needed)');
  let le: boolean;
  let nanos: boolean;
  const magicLe = view.getUint32(0, true);
  const magicBe = view.getUint32(0, false);
  if (magicLe === PCAP_US || magicLe === PCAP_NS) {
    le = true;
    nanos = magicLe === PCAP_NS;
  } else if (magicBe === PCAP_US || magicBe === PCAP_NS) {
    le = false;
    nanos = magicBe === PCAP_NS;
  } else {
    throw new PcapError(0, `not a pcap or pcapng file (magic 0x${magicLe.toString(16).padStart(8, '0')})`);
  }
  const linkType = view.getUint32(20, le) & 0x0fffffff;
  const packets: Packet[] = [];
  let offset = 24;
  while (offset < bytes.length) {
    if (offset + 16 > bytes.length)
      throw new PcapError(offset, `truncated record header (packet ${packets.length + 1})`);
    const seconds = view.getUint32(offset, le);
    const fraction = view.getUint32(offset + 4, le);
    const captured = view.getUint32(offset + 8, le);
    const original = view.getUint32(offset + 12, le);
    const start = offset + 16;
    if (start + captured > bytes.length) {
      throw new PcapError(
        offset,
        `packet ${packets.length + 1} claims ${captured} bytes, ${bytes.length - start} remain`,
      );
    }
    packets.push({
      timestampNs: BigInt(seconds) * 1_000_000_000n + BigInt(fraction) * (nanos ? 1n : 1000n),
      data: bytes.slice(start, start + captured),
      originalLength: original,
      linkType,
    });
    offset = start + captured;
  }
  return packets;
}

interface Interface {
  readonly linkType: number;
  /** Nanoseconds per timestamp unit, as a fraction numerator/denominator. */
  readonly unitNum: bigint;
  readonly unitDen: bigint;
}

function readPcapng(bytes: Uint8Array, view: DataView): Packet[] {
  const packets: Packet[] = [];
  let interfaces: Interface[] = [];
  let le = true;
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 12 > bytes.length) throw new PcapError(offset, 'truncated pcapng block header');
    const type = view.getUint32(offset, le);
    if (type === NG_SHB || view.getUint32(offset, !le) === NG_SHB) {
      if (offset + 12 > bytes.length) throw new PcapError(offset, 'truncated section header block');
      const order = view.getUint32(offset + 8, true);
      if (order === NG_BYTE_ORDER) le = true;
      else if (order === 0x4d3c2b1a) le = false;
      else throw new PcapError(offset + 8, `bad pcapng byte-order magic 0x${order.toString(16)}`);
      interfaces = [];
    }
    const length = view.getUint32(offset + 4, le);
    if (length < 12 || length % 4 !== 0 || offset + length > bytes.length) {
      throw new PcapError(
        offset + 4,
        `pcapng block length ${length} is invalid (${bytes.length - offset} bytes remain)`,
      );
    }
    if (view.getUint32(offset + length - 4, le) !== length) {
      throw new PcapError(
        offset + length - 4,
        'pcapng block trailing length does not match its leading length',
      );
    }
    const body = offset + 8;
    const bodyEnd = offset + length - 4;
    const blockType = view.getUint32(offset, le);
    if (blockType === 1) {
      if (body + 8 > bodyEnd) throw new PcapError(body, 'truncated interface description block');
      let unitNum = 1000n;
      let unitDen = 1n;
      for (const [code, valueOffset, valueLength] of options(view, body + 8, bodyEnd, le)) {
        if (code === 9 && valueLength >= 1) {
          const resolution = bytes[valueOffset];
          const exponent = BigInt(resolution & 0x7f);
          // Units of 10^-n or 2^-n seconds, expressed in nanoseconds as num/den.
          if (resolution & 0x80) [unitNum, unitDen] = [1_000_000_000n, 1n << exponent];
          else if (exponent <= 9n) [unitNum, unitDen] = [10n ** (9n - exponent), 1n];
          else [unitNum, unitDen] = [1n, 10n ** (exponent - 9n)];
        }
      }
      interfaces.push({ linkType: view.getUint16(body, le), unitNum, unitDen });
    } else if (blockType === 6) {
      if (body + 20 > bodyEnd) throw new PcapError(body, 'truncated enhanced packet block');
      const id = view.getUint32(body, le);
      const iface = interfaces[id];
      if (!iface)
        throw new PcapError(
          body,
          `enhanced packet block names interface ${id}, ${interfaces.length} described`,
        );
      const ts = (BigInt(view.getUint32(body + 4, le)) << 32n) | BigInt(view.getUint32(body + 8, le));
      const captured = view.getUint32(body + 12, le);
      const original = view.getUint32(body + 16, le);
      if (body + 20 + captured > bodyEnd)
        throw new PcapError(body + 12, `packet of ${captured} bytes overruns its block`);
      packets.push({
        timestampNs: (ts * iface.unitNum) / iface.unitDen,
        data: bytes.slice(body + 20, body + 20 + captured),
        originalLength: original,
        linkType: iface.linkType,
      });
    } else if (blockType === 3) {
      const iface = interfaces[0];
      if (!iface) throw new PcapError(body, 'simple packet block before any interface description');
      const original = view.getUint32(body, le);
      const captured = Math.min(original, bodyEnd - body - 4);
      packets.push({
        timestampNs: 0n,
        data: bytes.slice(body + 4, body + 4 + captured),
        originalLength: original,
        linkType: iface.linkType,
      });
    }
    offset += length;
  }
  return packets;
}

/** The options of a pcapng block body: [code, value offset, value length]. */
function* options(
  view: DataView,
  start: number,
  end: number,
  le: boolean,
): Generator<[number, number, number]> {
  let offset = start;
  while (offset + 4 <= end) {
    const code = view.getUint16(offset, le);
    const length = view.getUint16(offset + 2, le);
    if (code === 0) return;
    if (offset + 4 + length > end)
      throw new PcapError(offset, `option ${code} of ${length} bytes overruns its block`);
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
