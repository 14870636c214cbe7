/**
 * Reading a `BPF_MAP_TYPE_RINGBUF` map (since 5.8) from user space, the way libbpf's
 * `ring_buffer__poll` does: straight from the kernel's pages, no system call per record.
 *
 * ## Memory layout
 *
 * ```
 *  map fd offset 0          one page, mapped read-write   consumer_pos (u64 at +0)
 *  map fd offset page_size  one page, mapped read-only    producer_pos (u64 at +0)
 *                           2 × size bytes, read-only     the data area, mapped twice in a row
 * ```
 *
 * The kernel maps the data pages twice back to back, so a record that wraps past the end of the
 * ring is still contiguous in our view: we never copy to reassemble one.
 *
 * Each record starts with an 8-byte header at `data[pos & mask]`:
 *
 * ```
 *  bit 31     BPF_RINGBUF_BUSY_BIT     reserved, not yet submitted: stop here
 *  bit 30     BPF_RINGBUF_DISCARD_BIT  discarded: skip it
 *  bits 0-29  length of the sample (without the header)
 *  u32 @ +4   pg_off (the kernel's, to find the map from a sample; unused here)
 * ```
 *
 * and the next record starts at `pos + round_up(8 + length, 8)`.
 *
 * ## Reading shared memory from JavaScript
 *
 * `mmap` in `syscall.ts` returns a koffi *external* ArrayBuffer over the mapping
 * (`koffi.view(pointer, length)`: no copy, valid until munmap). Typed arrays over it read and
 * write the kernel's pages directly. Positions are read with `Atomics.load` on a `BigInt64Array`
 * and the consumer position written with `Atomics.store`: these are sequentially consistent,
 * which is at least the acquire/release ordering the kernel's `smp_load_acquire` /
 * `smp_store_release` pair with (Atomics work on non-shared buffers too). The header length word
 * is read with `Atomics.load` on an `Int32Array` before the sample, so the sample bytes are never
 * read ahead of the BUSY bit being clear.
 *
 * Positions are kept as JavaScript numbers: they are byte counts since the map was created and
 * stay exact up to 2^53 (over 100 days at 1 GB/s).
 */
import { TsbpfError } from '../../errors.js';
import type { RecordCallback, RingBufferReader } from '../../maps/ringbuf.js';
import { mapInfo } from '../load/map.js';
import { Mmap, mmap, munmap, native } from '../sys/syscall.js';
import { PolledReader } from './polled.js';

const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const LENGTH_MASK = 0x3fffffff;
const HEADER_SIZE = 8;
/** Bytes consumed between two stores of the consumer position (see {@link KernelRingBuffer.consume}). */
const PUBLISH_EVERY = 64 * 1024;
/** `enum bpf_map_type` `BPF_MAP_TYPE_RINGBUF`. */
const MAP_TYPE_RINGBUF = 27;

let pageSizeCache: number | undefined;

/** The system page size (`getpagesize()`), which the ring buffer's layout is built on. */
export function pageSize(): number {
  if (pageSizeCache === undefined) {
    const lib = native().koffi.load('libc.so.6');
    pageSizeCache = Number(lib.func('int getpagesize(void)')());
  }
  return pageSizeCache;
}

/** Something with a ring buffer map's fd: a `KernelMapOps`, a `BpfMap` over one, or `{ fd }`. */
export type RingBufferSource = { readonly fd: number } | { readonly ops: { readonly fd?: number } };

function fdOf(source: RingBufferSource): number {
  if ('fd' in source) return source.fd;
  const fd = source.ops.fd;
  if (typeof fd !== 'number') throw new TsbpfError('ring buffer: the map is not a kernel map (no fd)');
  return fd;
}

/**
 * A consumer of a kernel ring buffer map. Three ways to read:
 *
 * - {@link consume} delivers what is there now (fastest: a view per record, no copy);
 * - {@link poll} / {@link start} wait for the map's fd through the shared epoll
 *   {@link poller}, then consume;
 * - `for await (const record of reader)` yields copies.
 *
 * Close it when done; the map itself stays open (it belongs to its owner).
 */
export class KernelRingBuffer extends PolledReader<RecordCallback> implements RingBufferReader {
  protected readonly what = 'ring buffer';
  /** Size of the data area (the map's `max_entries`). */
  readonly size: number;
  readonly lost = 0;
  readonly #fd: number;
  readonly #mask: number;
  readonly #page: number;
  readonly #consumerMap: { address: bigint; bytes: Uint8Array };
  readonly #producerMap: { address: bigint; bytes: Uint8Array };
  readonly #consumerPos: BigInt64Array;
  readonly #producerPos: BigInt64Array;
  readonly #words: Int32Array;
  readonly #data: Uint8Array;
  #consumed: number;

  /** Map the ring buffer of `source` (any map whose fd is a `RINGBUF`). */
  constructor(source: RingBufferSource) {
    super();
    this.#fd = fdOf(source);
    const info = mapInfo(this.#fd);
    if (info.type !== MAP_TYPE_RINGBUF) {
      throw new TsbpfError(
        `ring buffer: map '${info.name}' is not a RINGBUF (type ${info.typeName ?? info.type})`,
      );
    }
    this.size = info.maxEntries;
    this.#mask = this.size - 1;
    this.#page = pageSize();
    this.#consumerMap = mmap(this.#page, Mmap.PROT_READ | Mmap.PROT_WRITE, Mmap.MAP_SHARED, this.#fd, 0);
    try {
      this.#producerMap = mmap(
        this.#page + 2 * this.size,
        Mmap.PROT_READ,
        Mmap.MAP_SHARED,
        this.#fd,
        this.#page,
      );
    } catch (error) {
      munmap(this.#consumerMap.address, this.#page);
      throw error;
    }
    const consumer = this.#consumerMap.bytes;
    const producer = this.#producerMap.bytes;
    this.#consumerPos = new BigInt64Array(consumer.buffer, consumer.byteOffset, 1);
    this.#producerPos = new BigInt64Array(producer.buffer, producer.byteOffset, 1);
    this.#words = new Int32Array(producer.buffer, producer.byteOffset, producer.length / 4);
    this.#data = producer;
    this.#consumed = Number(Atomics.load(this.#consumerPos, 0));
  }

  /** Bytes submitted but not yet consumed (including headers and discarded records). */
  get pending(): number {
    if (this.closed) return 0;
    return Number(Atomics.load(this.#producerPos, 0)) - this.#consumed;
  }

  /**
   * Deliver the records available now, in order; stops at a record still being written (BUSY)
   * and after `limit` records. The consumer position is published every quarter ring (at most 64 KiB)
   * and when the call returns.
   */
  consume(callback: RecordCallback, limit = Number.POSITIVE_INFINITY): number {
    if (this.closed) return 0;
    const words = this.#words;
    const data = this.#data;
    const mask = this.#mask;
    const base = this.#page;
    let cons = this.#consumed;
    let published = cons;
    const publishEvery = Math.min(PUBLISH_EVERY, this.size / 4);
    let count = 0;
    for (;;) {
      const prod = Number(Atomics.load(this.#producerPos, 0));
      if (cons >= prod) break;
      let progressed = false;
      try {
        while (cons < prod && count < limit) {
          const at = base + (cons & mask);
          const header = Atomics.load(words, at >> 2) >>> 0;
          // A producer reserved this record and has not committed it; everything after it waits.
          if (header & BUSY_BIT) return count;
          const length = header & LENGTH_MASK;
          cons += (HEADER_SIZE + length + 7) & ~7;
          progressed = true;
          if (!(header & DISCARD_BIT)) {
            count++;
            callback(data.subarray(at + HEADER_SIZE, at + HEADER_SIZE + length));
          }
          // libbpf publishes after every record; a BigInt store per record costs JavaScript a
          // third of its time, so we publish every quarter ring (at most 64 KiB) instead.
          if (cons - published >= publishEvery) {
            Atomics.store(this.#consumerPos, 0, BigInt(cons));
            published = cons;
          }
        }
      } finally {
        // Also when the callback throws: the records up to here were delivered.
        this.#consumed = cons;
        if (cons !== published) {
          Atomics.store(this.#consumerPos, 0, BigInt(cons));
          published = cons;
        }
      }
      if (!progressed || count >= limit) break;
    }
    return count;
  }

  protected watchedFds(): readonly number[] {
    return [this.#fd];
  }

  protected release(): void {
    munmap(this.#producerMap.address, this.#page + 2 * this.size);
    munmap(this.#consumerMap.address, this.#page);
  }
}

/** Open a reader on a ring buffer map (see {@link KernelRingBuffer}). */
export function openRingBuffer(source: RingBufferSource): KernelRingBuffer {
  return new KernelRingBuffer(source);
}
