/**
 * Reading a `BPF_MAP_TYPE_PERF_EVENT_ARRAY` (what `bpf_perf_event_output` writes to), the way
 * libbpf's `perf_buffer` and bcc's `open_perf_buffer` do: one perf event per CPU of type
 * `PERF_TYPE_SOFTWARE` / `PERF_COUNT_SW_BPF_OUTPUT`, its fd stored in the map at that CPU's index,
 * and its ring mmap-ed.
 *
 * ## One CPU's ring
 *
 * ```
 *  page 0           struct perf_event_mmap_page: data_head (u64 @ 1024, written by the kernel),
 *                   data_tail (u64 @ 1032, written by us), data_offset (@ 1040), data_size (@ 1048)
 *  pages 1..n       the data: records, each a struct perf_event_header
 *                   { u32 type; u16 misc; u16 size } and a body. Not mapped twice: a record
 *                   crossing the end is copied together.
 * ```
 *
 * Records we read: `PERF_RECORD_SAMPLE` (9) with `PERF_SAMPLE_RAW` — `u32 size; u8 data[size]`
 * (the bytes the program output, padded) — and `PERF_RECORD_LOST` (2) — `u64 id; u64 lost`, the
 * number of samples dropped because this ring was full. Unlike a BPF ring buffer, perf buffers
 * do report losses, so {@link KernelPerfBuffer.lost} counts them.
 *
 * Positions are read with `Atomics.load` and the tail written with `Atomics.store` on
 * BigInt64Arrays over the mapping (see ringbuf.ts for why that is enough ordering).
 */
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../../errors.js';
import type { RecordCallback, RingBufferReader } from '../../maps/ringbuf.js';
import { openPerfEvent, PerfSwConfig, PerfType } from '../attach/attach-probes.js';
import { PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE } from '../attach/links.js';
import { type KernelMapOps, mapInfo } from '../load/map.js';
import { close, ioctl, Mmap, mmap, munmap } from '../sys/syscall.js';
import { PolledReader } from './polled.js';
import { pageSize } from './ringbuf.js';

const PERF_SAMPLE_RAW = 1 << 10;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
/** `BPF_MAP_TYPE_PERF_EVENT_ARRAY`. */
const MAP_TYPE_PERF_EVENT_ARRAY = 4;

/** Called with each sample and the CPU it came from; the view is valid only during the call. */
export type SampleCallback = (sample: Uint8Array, cpu: number) => void;

/** Options of {@link KernelPerfBuffer}. */
export interface PerfBufferOptions {
  /** Data pages per CPU, a power of two (default 64: 256 KiB with 4 KiB pages). */
  readonly pageCount?: number;
  /** Wake the reader after this many samples (default 1: every sample, as bcc). */
  readonly wakeupEvents?: number;
  /** Called with the number of samples lost on a CPU, as loss records are read. */
  readonly onLost?: (count: number, cpu: number) => void;
}

interface CpuRing {
  readonly cpu: number;
  readonly fd: number;
  readonly mapping: { address: bigint; bytes: Uint8Array };
  readonly head: BigInt64Array;
  readonly tail: BigInt64Array;
  readonly dataOffset: number;
  readonly dataSize: number;
}

function onlineCpus(): number[] {
  const list = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let cpu = from; cpu <= to; cpu++) out.push(cpu);
  }
  return out;
}

/**
 * A consumer of a perf event array map. Same reading API as {@link KernelRingBuffer}
 * (`consume`, `poll`, `start`, async iteration of copies), with the CPU of each sample passed to
 * callbacks and losses counted in {@link lost}.
 */
export class KernelPerfBuffer extends PolledReader<SampleCallback> implements RingBufferReader {
  protected readonly what = 'perf buffer';
  #lost = 0;
  readonly #map: KernelMapOps;
  readonly #rings: CpuRing[] = [];
  readonly #page: number;
  readonly #onLost: PerfBufferOptions['onLost'];
  #scratch = new Uint8Array(0);

  constructor(map: KernelMapOps, options: PerfBufferOptions = {}) {
    super();
    const info = mapInfo(map.fd);
    if (info.type !== MAP_TYPE_PERF_EVENT_ARRAY) {
      throw new TsbpfError(`perf buffer: map '${info.name}' is not a PERF_EVENT_ARRAY`);
    }
    const pages = options.pageCount ?? 64;
    if (pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new TsbpfError(`perf buffer: pageCount ${pages} is not a power of two`);
    }
    this.#map = map;
    this.#page = pageSize();
    this.#onLost = options.onLost;
    const length = (1 + pages) * this.#page;
    try {
      for (const cpu of onlineCpus().filter((c) => c < info.maxEntries)) {
        const fd = openPerfEvent(
          {
            type: PerfType.SOFTWARE,
            config: PerfSwConfig.BPF_OUTPUT,
            sample_type: PERF_SAMPLE_RAW,
            sample_period: 1n,
            wakeup_events: options.wakeupEvents ?? 1,
          },
          -1,
          cpu,
        );
        let mapping: { address: bigint; bytes: Uint8Array };
        try {
          mapping = mmap(length, Mmap.PROT_READ | Mmap.PROT_WRITE, Mmap.MAP_SHARED, fd, 0);
        } catch (error) {
          close(fd);
          throw error;
        }
        const meta = new DataView(mapping.bytes.buffer, mapping.bytes.byteOffset, this.#page);
        // data_offset/data_size exist since 4.1; before that the data starts at the second page.
        const dataOffset = Number(meta.getBigUint64(1040, true)) || this.#page;
        const dataSize = Number(meta.getBigUint64(1048, true)) || pages * this.#page;
        this.#rings.push({
          cpu,
          fd,
          mapping,
          head: new BigInt64Array(mapping.bytes.buffer, mapping.bytes.byteOffset + 1024, 1),
          tail: new BigInt64Array(mapping.bytes.buffer, mapping.bytes.byteOffset + 1032, 1),
          dataOffset,
          dataSize,
        });
        const key = new Uint8Array(new Uint32Array([cpu]).buffer);
        map.update(key, new Uint8Array(new Uint32Array([fd]).buffer), 0);
        ioctl(fd, PERF_EVENT_IOC_ENABLE);
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Samples dropped because a CPU's ring was full (from `PERF_RECORD_LOST`). */
  get lost(): number {
    return this.#lost;
  }

  /** The CPUs read. */
  get cpus(): readonly number[] {
    return this.#rings.map((ring) => ring.cpu);
  }

  /** Deliver the samples available now on every CPU; returns how many. */
  consume(callback: SampleCallback | RecordCallback, limit = Number.POSITIVE_INFINITY): number {
    let count = 0;
    for (const ring of this.#rings) {
      if (this.closed || count >= limit) break;
      count += this.#consumeRing(ring, callback as SampleCallback, limit - count);
    }
    return count;
  }

  #consumeRing(ring: CpuRing, callback: SampleCallback, limit: number): number {
    const bytes = ring.mapping.bytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const { dataOffset, dataSize } = ring;
    const head = Number(Atomics.load(ring.head, 0));
    let tail = Number(Atomics.load(ring.tail, 0));
    let count = 0;
    try {
      while (tail < head && count < limit) {
        const at = tail % dataSize;
        // The 8-byte header never straddles the end (records are 8-byte aligned).
        const type = view.getUint32(dataOffset + at, true);
        const size = view.getUint16(dataOffset + at + 6, true);
        if (size === 0) break;
        let record: Uint8Array;
        if (at + size <= dataSize) {
          record = bytes.subarray(dataOffset + at, dataOffset + at + size);
        } else {
          // Wrapped: copy both parts into one scratch buffer.
          if (this.#scratch.length < size)
            this.#scratch = new Uint8Array(Math.max(size, 2 * this.#scratch.length));
          const first = dataSize - at;
          this.#scratch.set(bytes.subarray(dataOffset + at, dataOffset + dataSize), 0);
          this.#scratch.set(bytes.subarray(dataOffset, dataOffset + size - first), first);
          record = this.#scratch.subarray(0, size);
        }
        tail += size;
        const body = new DataView(record.buffer, record.byteOffset, record.byteLength);
        if (type === PERF_RECORD_SAMPLE) {
          const length = body.getUint32(8, true);
          count++;
          callback(record.subarray(12, 12 + length), ring.cpu);
        } else if (type === PERF_RECORD_LOST) {
          const lost = Number(body.getBigUint64(16, true));
          this.#lost += lost;
          this.#onLost?.(lost, ring.cpu);
        }
      }
    } finally {
      Atomics.store(ring.tail, 0, BigInt(tail));
    }
    return count;
  }

  /** Bytes written and not yet read, over all CPUs (record headers included). */
  get pending(): number {
    if (this.closed) return 0;
    let bytes = 0;
    for (const ring of this.#rings) bytes += Number(Atomics.load(ring.head, 0) - Atomics.load(ring.tail, 0));
    return bytes;
  }

  protected watchedFds(): readonly number[] {
    return this.#rings.map((ring) => ring.fd);
  }

  /** A wake-up names its CPU: read just that ring. */
  protected override deliver(listener: SampleCallback, index: number): void {
    const ring = this.#rings[index];
    if (ring) this.#consumeRing(ring, listener, Number.POSITIVE_INFINITY);
  }

  /** Remove our fds from the map, stop the events, unmap. */
  protected release(): void {
    for (const ring of this.#rings) {
      try {
        ioctl(ring.fd, PERF_EVENT_IOC_DISABLE);
        this.#map.delete(new Uint8Array(new Uint32Array([ring.cpu]).buffer));
      } catch {
        // the map may be closed already; closing the event detaches it anyway
      }
      munmap(ring.mapping.address, ring.mapping.bytes.length);
      close(ring.fd);
    }
    this.#rings.length = 0;
  }
}

/** Open a reader on a perf event array map (see {@link KernelPerfBuffer}). */
export function openPerfBuffer(map: KernelMapOps, options: PerfBufferOptions = {}): KernelPerfBuffer {
  return new KernelPerfBuffer(map, options);
}
