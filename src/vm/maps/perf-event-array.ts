/**
 * `BPF_MAP_TYPE_PERF_EVENT_ARRAY` (since 4.3): one slot per CPU holding a perf event whose ring
 * `bpf_perf_event_output` writes samples into, and the per-CPU consumers that read them
 * (libbpf's `perf_buffer`).
 *
 * The VM has no perf events or file descriptors: {@link PerfEventArrayMap.open} puts a
 * `PERF_COUNT_SW_BPF_OUTPUT` event with a ring of `pages` × 4096 bytes into a slot and returns
 * its {@link PerfEventBuffer}. Space is accounted as the kernel's perf ring uses it: a sample is
 * a `PERF_RECORD_SAMPLE` of 8 (header) + 4 (raw size) + data bytes, rounded up to 8 — so the
 * consumer receives the data zero-padded to `round_up(size + 4, 8) - 4` bytes, as libbpf's
 * callbacks do. A sample that does not fit is lost (the helper returns -ENOSPC and the ring's
 * lost count grows); the next sample that fits is preceded by a 24-byte `PERF_RECORD_LOST`
 * carrying the count, which the consumer sees as a lost callback.
 *
 * Kernel behaviour (Linux 6.18, measured): key and value 4 bytes, max_entries ≥ 1, flags
 * `NUMA_NODE`, `RDONLY`/`WRONLY`, `PRESERVE_ELEMS` (not `MMAPABLE`); from user space a lookup
 * is ENOTSUPP, a delete of an empty slot ENOENT, an index past the end E2BIG, storing an fd that
 * is not a perf event EBADF. `bpf_perf_event_output` with `BPF_F_CURRENT_CPU` and an empty slot
 * is -ENOENT, an index ≥ max_entries -E2BIG, a flag above the low 32 bits -EINVAL.
 */
import { Errno } from '../../errno.js';
import type { MapSpec } from '../../maps/ops.js';
import type { VmMemory } from '../memory.js';
import { indexOf, nextIndex } from './array.js';
import { ENOTSUPP, VmMap, type VmMapOptions } from './base.js';

/** `BPF_F_INDEX_MASK` and `BPF_F_CURRENT_CPU`: the low 32 bits of the flags pick the slot. */
export const BPF_F_INDEX_MASK = 0xffff_ffffn;
export const BPF_F_CURRENT_CPU = 0xffff_ffffn;
const PAGE_SIZE = 4096;
/** `struct perf_event_header` + u32 raw size. */
const SAMPLE_OVERHEAD = 12;
/** `PERF_RECORD_LOST`: header, id, lost count. */
const LOST_RECORD_SIZE = 24;

/** One record a perf buffer consumer receives. */
export type PerfRecord =
  | { readonly kind: 'sample'; readonly cpu: number; readonly data: Uint8Array }
  | { readonly kind: 'lost'; readonly cpu: number; readonly count: number };

/** Options of {@link PerfEventArrayMap.open}. */
export interface PerfBufferOptions {
  /** The CPU the event counts on (`perf_event_open(…, cpu)`); default: the slot index. */
  readonly cpu?: number;
  /** Data pages of its ring (a power of 2, as libbpf requires); default 8. */
  readonly pages?: number;
}

/** The ring of one perf event: the samples and lost records a consumer has not read yet. */
export class PerfEventBuffer {
  readonly cpu: number;
  /** Bytes of the ring. */
  readonly capacity: number;
  private records: Array<{ record: PerfRecord; bytes: number }> = [];
  private used = 0;
  /** Samples lost since the last PERF_RECORD_LOST was written. */
  private pendingLost = 0;
  private totalLost = 0;
  closed = false;

  constructor(cpu: number, pages: number) {
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0)
      throw new RangeError(`perf buffer: ${pages} pages is not a power of 2`);
    this.cpu = cpu;
    this.capacity = pages * PAGE_SIZE;
  }

  /** Samples lost in total. */
  get lost(): number {
    return this.totalLost;
  }

  /** Bytes in use in the ring. */
  get pending(): number {
    return this.used;
  }

  /** `perf_event_output`: 0, or -ENOSPC when the sample does not fit (it is counted lost). */
  write(data: Uint8Array): number {
    const raw = Math.ceil((data.length + 4) / 8) * 8 - 4;
    const size = SAMPLE_OVERHEAD + raw;
    const needed = size + (this.pendingLost > 0 ? LOST_RECORD_SIZE : 0);
    if (this.used + needed > this.capacity) {
      this.pendingLost++;
      this.totalLost++;
      return -Errno.ENOSPC;
    }
    if (this.pendingLost > 0) {
      this.records.push({
        record: { kind: 'lost', cpu: this.cpu, count: this.pendingLost },
        bytes: LOST_RECORD_SIZE,
      });
      this.used += LOST_RECORD_SIZE;
      this.pendingLost = 0;
    }
    const padded = new Uint8Array(raw);
    padded.set(data);
    this.records.push({ record: { kind: 'sample', cpu: this.cpu, data: padded }, bytes: size });
    this.used += size;
    return 0;
  }

  /** Hand every record to `callback` and free its space; returns how many. */
  consume(callback: (record: PerfRecord) => void): number {
    const records = this.records;
    this.records = [];
    this.used = 0;
    for (const { record } of records) callback(record);
    return records.length;
  }
}

/** A perf event array in the VM: slots of {@link PerfEventBuffer}s. */
export class PerfEventArrayMap extends VmMap {
  private readonly events: Array<PerfEventBuffer | undefined>;

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.events = new Array(spec.maxEntries).fill(undefined);
  }

  /** Put a new BPF_OUTPUT perf event into slot `index` (libbpf's `perf_buffer__new` per CPU). */
  open(index: number, options: PerfBufferOptions = {}): PerfEventBuffer {
    if (!Number.isInteger(index) || index < 0 || index >= this.spec.maxEntries)
      throw this.error('update', Errno.E2BIG, `index ${index}`);
    const buffer = new PerfEventBuffer(options.cpu ?? index, options.pages ?? 8);
    this.events[index] = buffer;
    return buffer;
  }

  /** The event in slot `index`, if any. */
  eventAt(index: number): PerfEventBuffer | undefined {
    return this.events[index];
  }

  /** Drain every slot's ring: samples and lost records, slot by slot. */
  consume(callback: (record: PerfRecord) => void): number {
    let count = 0;
    for (const event of this.events) if (event) count += event.consume(callback);
    return count;
  }

  /** Samples lost over all slots. */
  get lost(): number {
    return this.events.reduce((sum, event) => sum + (event?.lost ?? 0), 0);
  }

  /** `bpf_perf_event_output` from a program running on `cpu`: 0 or -errno. */
  output(cpu: number, flags: bigint, data: Uint8Array): number {
    if (flags & ~BPF_F_INDEX_MASK) return -Errno.EINVAL;
    const index = (flags & BPF_F_INDEX_MASK) === BPF_F_CURRENT_CPU ? cpu : Number(flags);
    if (index >= this.spec.maxEntries) return -Errno.E2BIG;
    const event = this.events[index];
    if (!event || event.closed) return -Errno.ENOENT;
    // A perf event counts on one CPU; the kernel refuses to write to it from another.
    if (event.cpu !== cpu) return -Errno.EOPNOTSUPP;
    return event.write(data);
  }

  // ---- user-space operations, as for the kernel's fd arrays ----

  protected userLookup(): Uint8Array | undefined {
    throw this.error('lookup', ENOTSUPP);
  }
  protected userUpdate(key: Uint8Array | null): void {
    const index = indexOf(key);
    if (index >= this.spec.maxEntries) throw this.error('update', Errno.E2BIG);
    throw this.error('update', Errno.EBADF, 'the VM has no perf event fds: use open()');
  }
  protected userDelete(key: Uint8Array | null): void {
    const index = indexOf(key);
    if (index >= this.spec.maxEntries) throw this.error('delete', Errno.E2BIG);
    const event = this.events[index];
    if (!event) throw this.error('delete', Errno.ENOENT);
    event.closed = true;
    this.events[index] = undefined;
  }
  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndex(key, this.spec.maxEntries);
  }
  protected release(): void {
    this.events.fill(undefined);
  }

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
