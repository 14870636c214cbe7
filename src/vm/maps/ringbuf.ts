/**
 * `BPF_MAP_TYPE_RINGBUF` (since 5.8) in VM memory, laid out as `kernel/bpf/ringbuf.c` lays it
 * out, with a {@link RingBufferReader} over it.
 *
 * The data area is `max_entries` bytes; the kernel maps its pages twice in a row so that a record
 * running past the end stays contiguous. The VM allocates twice the size for the same reason and,
 * when a record is committed, copies the part past the end to the start, so the first half always
 * holds what the kernel's pages would. Every record starts 8-byte aligned with this header:
 *
 * ```
 *  31 30 29                         0 31                          0
 * +--+--+----------------------------+-----------------------------+
 * |B |D |  length (sample bytes)     |  pg_off                     |  sample, padded to 8 …
 * +--+--+----------------------------+-----------------------------+
 *   B = BPF_RINGBUF_BUSY_BIT (reserved, not yet committed)
 *   D = BPF_RINGBUF_DISCARD_BIT (committed with bpf_ringbuf_discard)
 *   pg_off = page of the header counted from the start of struct bpf_ringbuf: 3 meta pages
 *            (the kernel's own, consumer_pos, producer_pos) + offset / 4096
 * ```
 *
 * Measured on Linux 6.18 with a 4096-byte ring: `reserve(10)` then reading 8 bytes before the
 * sample gave 0x3_8000000a (BUSY, len 10, pg_off 3), after submit 0x3_0000000a; a discarded
 * 4032-byte record at offset 48 read 0x3_40000fc0. Positions only grow; a reservation fails
 * (NULL, or -EAGAIN from `bpf_ringbuf_output`) when the producer would get 4096 or more bytes
 * ahead of the consumer or of the oldest uncommitted record, so a 4096-byte ring holds at most
 * 4088 bytes of records: after 48 bytes, `reserve(4040)` failed and `reserve(4032)` worked.
 * Creation: `max_entries` must be a power of 2 and a multiple of 4096, key and value size 0,
 * flags only `BPF_F_NUMA_NODE` (else EINVAL); lookups, updates, deletes and next-key from user
 * space are ENOTSUPP.
 */
import { Errno } from '../../errno.js';
import type { MapSpec } from '../../maps/ops.js';
import type { RecordCallback, RingBufferReader } from '../../maps/ringbuf.js';
import type { Region, VmMemory } from '../memory.js';
import { checkStorage, ENOTSUPP, VmMap, type VmMapOptions } from './base.js';

/** `BPF_RINGBUF_BUSY_BIT`. */
export const RINGBUF_BUSY_BIT = 0x8000_0000;
/** `BPF_RINGBUF_DISCARD_BIT`. */
export const RINGBUF_DISCARD_BIT = 0x4000_0000;
/** `BPF_RINGBUF_HDR_SZ`. */
export const RINGBUF_HDR_SZ = 8;
/** `RINGBUF_MAX_RECORD_SZ`: `UINT_MAX / 4`. */
export const RINGBUF_MAX_RECORD_SZ = 0x3fff_ffff;
/** Pages of `struct bpf_ringbuf` before the data: its own fields, consumer_pos, producer_pos. */
export const RINGBUF_META_PAGES = 3;
const PAGE_SIZE = 4096;

/** `BPF_RB_NO_WAKEUP`, `BPF_RB_FORCE_WAKEUP`: flags of submit, discard and output. */
export const RingbufFlags = { NO_WAKEUP: 1, FORCE_WAKEUP: 2 } as const;
/** `BPF_RB_AVAIL_DATA` … `BPF_RB_PROD_POS`: what `bpf_ringbuf_query` reports. */
export const RingbufQuery = { AVAIL_DATA: 0, RING_SIZE: 1, CONS_POS: 2, PROD_POS: 3 } as const;

const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

/** A ring buffer map in VM memory. */
export class RingBufMap extends VmMap {
  /** Bytes of the data area (`max_entries`). */
  readonly size: number;
  /** The data area, mapped twice over (2 × size bytes). */
  readonly data: Region;
  private consumerPos = 0;
  private producerPos = 0;
  private pendingPos = 0;
  private lostRecords = 0;
  /** Wake-ups the producer sent (the kernel's irq_work), for tests and pollers. */
  wakeups = 0;
  private waiters: Array<() => void> = [];
  private closedReaders = false;

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.size = spec.maxEntries;
    checkStorage(memory, spec, 2 * this.size);
    this.data = memory.alloc(2 * this.size, { name: `ringbuf '${spec.name}' data`, align: 8 });
  }

  /** Bytes produced and not yet consumed. */
  get available(): number {
    return this.producerPos - this.consumerPos;
  }

  /** Reservations that failed for lack of room. */
  get lost(): number {
    return this.lostRecords;
  }

  /** Whether `address` is a sample of this ring (what submit and discard receive). */
  ownsSample(address: number): boolean {
    return (
      address - RINGBUF_HDR_SZ >= this.data.start && address - RINGBUF_HDR_SZ < this.data.start + this.size
    );
  }

  /** `bpf_ringbuf_reserve`: the sample's address, or 0 (NULL). */
  reserve(size: number, flags: bigint): number {
    if (flags !== 0n || size > RINGBUF_MAX_RECORD_SZ) return 0;
    const length = roundUp8(size + RINGBUF_HDR_SZ);
    if (length > this.size) return 0;
    const view = this.memory.view;
    // Advance past committed records so a long-held reservation bounds the producer.
    while (this.pendingPos < this.producerPos) {
      const header = view.getUint32(this.data.start + (this.pendingPos % this.size), true);
      if (header & RINGBUF_BUSY_BIT) break;
      this.pendingPos += roundUp8((header & ~RINGBUF_DISCARD_BIT) + RINGBUF_HDR_SZ);
    }
    const next = this.producerPos + length;
    if (next - this.consumerPos > this.size - 1 || next - this.pendingPos > this.size - 1) {
      this.lostRecords++;
      return 0;
    }
    const offset = this.producerPos % this.size;
    const header = this.data.start + offset;
    view.setUint32(header, (size | RINGBUF_BUSY_BIT) >>> 0, true);
    view.setUint32(header + 4, RINGBUF_META_PAGES + Math.floor(offset / PAGE_SIZE), true);
    this.producerPos = next;
    return header + RINGBUF_HDR_SZ;
  }

  /** `bpf_ringbuf_submit` / `bpf_ringbuf_discard` of the sample at `address`. */
  commit(address: number, flags: bigint, discard: boolean): void {
    const header = address - RINGBUF_HDR_SZ;
    const view = this.memory.view;
    const word = view.getUint32(header, true);
    const length = word & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
    // The part of a record past the end of the area belongs at its start (the second mapping).
    const end = header + RINGBUF_HDR_SZ + length;
    const wrapEnd = this.data.start + this.size;
    if (end > wrapEnd) this.memory.bytes.copyWithin(this.data.start, wrapEnd, end);
    view.setUint32(header, ((word ^ RINGBUF_BUSY_BIT) | (discard ? RINGBUF_DISCARD_BIT : 0)) >>> 0, true);
    const position = header - this.data.start;
    if (flags & BigInt(RingbufFlags.FORCE_WAKEUP)) this.wake();
    else if (this.consumerPos % this.size === position && !(flags & BigInt(RingbufFlags.NO_WAKEUP)))
      this.wake();
  }

  /** `bpf_ringbuf_output`: copy `bytes` in as one record; 0, -EINVAL or -EAGAIN. */
  output(bytes: Uint8Array, flags: bigint): number {
    if (flags & ~BigInt(RingbufFlags.NO_WAKEUP | RingbufFlags.FORCE_WAKEUP)) return -Errno.EINVAL;
    const sample = this.reserve(bytes.length, 0n);
    if (sample === 0) return -Errno.EAGAIN;
    this.memory.bytes.set(bytes, sample);
    this.commit(sample, flags, false);
    return 0;
  }

  /** `bpf_ringbuf_query`. */
  query(flags: bigint): bigint {
    switch (flags) {
      case BigInt(RingbufQuery.AVAIL_DATA):
        return BigInt(this.available);
      case BigInt(RingbufQuery.RING_SIZE):
        return BigInt(this.size);
      case BigInt(RingbufQuery.CONS_POS):
        return BigInt(this.consumerPos);
      case BigInt(RingbufQuery.PROD_POS):
        return BigInt(this.producerPos);
      default:
        return 0n;
    }
  }

  /** A reader of this ring (libbpf's `ring_buffer__new` for one map). */
  reader(): RingBufferReader {
    this.closedReaders = false;
    return new VmRingBufferReader(this);
  }

  /** Consume up to `limit` committed records, as libbpf's `ringbuf_process_ring`. */
  consume(callback: RecordCallback, limit = Number.POSITIVE_INFINITY): number {
    const view = this.memory.view;
    let count = 0;
    while (this.consumerPos < this.producerPos && count < limit) {
      const header = this.data.start + (this.consumerPos % this.size);
      const word = view.getUint32(header, true);
      if (word & RINGBUF_BUSY_BIT) break;
      const length = word & ~RINGBUF_DISCARD_BIT;
      this.consumerPos += roundUp8(length + RINGBUF_HDR_SZ);
      if (word & RINGBUF_DISCARD_BIT) continue;
      count++;
      // Committed records are whole in the first half (commit copied any wrapped tail there).
      const start = header + RINGBUF_HDR_SZ - this.data.start;
      const record = new Uint8Array(length);
      for (let i = 0; i < length; i++)
        record[i] = this.memory.bytes[this.data.start + ((start + i) % this.size)];
      callback(record);
    }
    return count;
  }

  /** Resolve when the producer wakes consumers or `timeoutMs` passes; false on timeout or close. */
  waitForWakeup(timeoutMs: number | undefined): Promise<boolean> {
    if (this.closedReaders) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (woken: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        this.waiters = this.waiters.filter((waiter) => waiter !== wake);
        resolve(woken);
      };
      const wake = () => done(!this.closedReaders);
      this.waiters.push(wake);
      if (timeoutMs !== undefined) timer = setTimeout(() => done(false), timeoutMs);
    });
  }

  /** End every pending wait (a reader was closed). */
  closeReaders(): void {
    this.closedReaders = true;
    for (const waiter of [...this.waiters]) waiter();
  }

  private wake(): void {
    this.wakeups++;
    for (const waiter of [...this.waiters]) waiter();
  }

  // ---- user-space map operations: none, as in the kernel ----

  protected userLookup(): Uint8Array | undefined {
    throw this.error('lookup', ENOTSUPP);
  }
  protected userUpdate(): void {
    throw this.error('update', ENOTSUPP);
  }
  protected userDelete(): void {
    throw this.error('delete', ENOTSUPP);
  }
  protected userNextKey(): Uint8Array | undefined {
    throw this.error('next key', ENOTSUPP);
  }
  protected release(): void {
    this.closeReaders();
    this.memory.free(this.data);
  }

  // The verifier keeps map_*_elem helpers away from ring buffers.
  lookupAddress(): number {
    return 0;
  }
  updateFromProgram(): number {
    return -Errno.EINVAL;
  }
  deleteFromProgram(): number {
    return -Errno.EINVAL;
  }
}

/** {@link RingBufferReader} over a {@link RingBufMap}. Records are copies. */
class VmRingBufferReader implements RingBufferReader {
  private closed = false;
  constructor(private readonly map: RingBufMap) {}

  get pending(): number {
    return this.closed ? 0 : this.map.available;
  }

  get lost(): number {
    return this.map.lost;
  }

  consume(callback: RecordCallback, limit?: number): number {
    return this.closed ? 0 : this.map.consume(callback, limit);
  }

  async poll(callback: RecordCallback, timeoutMs?: number): Promise<number> {
    const now = this.consume(callback);
    if (now > 0 || this.closed) return now;
    // Like epoll on the map fd: ready at once while the producer is ahead, else wait to be woken.
    if (this.map.available === 0) await this.map.waitForWakeup(timeoutMs);
    return this.consume(callback);
  }

  close(): void {
    this.closed = true;
    this.map.closeReaders();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (!this.closed) {
      const batch: Uint8Array[] = [];
      this.consume((record) => {
        batch.push(record);
      });
      yield* batch;
      if (batch.length === 0 && !(await this.map.waitForWakeup(undefined))) return;
    }
  }
}
