/**
 * The user-space side of a `BPF_MAP_TYPE_RINGBUF` (since 5.8), shared by both backends: the VM
 * reads its ring in VM memory (`src/vm/maps/ringbuf.ts`), the kernel backend its mmap'd pages
 * (`src/kernel/events/ringbuf.ts`). The shape is libbpf's: `ring_buffer__consume` and
 * `ring_buffer__poll`, plus async iteration as in cilium/ebpf's `ringbuf.Reader`.
 *
 * Records come out in the order they were reserved; a record still reserved (BUSY) holds back
 * the ones after it; discarded records are skipped.
 */

/**
 * Receives one record. The bytes may be a view of the ring itself, valid only during the call:
 * copy them (`record.slice()`) to keep them.
 */
export type RecordCallback = (record: Uint8Array) => void;

/** A consumer of one ring buffer map. */
export interface RingBufferReader extends AsyncIterable<Uint8Array> {
  /** Hand the committed records available now to `callback`, at most `limit`; returns how many. */
  consume(callback: RecordCallback, limit?: number): number;
  /**
   * Consume what is there; if nothing is, wait up to `timeoutMs` (default: forever) for the
   * producer's wake-up and consume again. Resolves with the number of records handed over.
   */
  poll(callback: RecordCallback, timeoutMs?: number): Promise<number>;
  /** Bytes produced and not yet consumed, headers and discarded records included (`BPF_RB_AVAIL_DATA`). */
  readonly pending: number;
  /**
   * Records the producer could not write because the ring was full. The kernel does not count
   * these (a reservation just fails), so a kernel reader reports 0.
   */
  readonly lost: number;
  /** Stop reading: pending polls resolve and iteration ends. */
  close(): void;
}
