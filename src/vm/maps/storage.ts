/**
 * Fixed-size element slots in VM memory, for maps whose elements come and go (hash maps, LPM
 * tries). Programs get real pointers into these slots, so a slot lives as long as the map; a
 * deleted element's slot goes on a free list and is reused by the next insertion, as the
 * kernel's preallocated hash maps reuse their elements.
 *
 * Preallocated pools (the kernel's default for hash maps) map all `capacity` slots at creation in
 * one region; others (`BPF_F_NO_PREALLOC`, LPM tries) map regions on demand, each twice the size of
 * the ones before, so `n` insertions cost `O(log n)` regions.
 */
import type { Region, VmMemory } from '../memory.js';

export interface SlotPoolOptions {
  /** Region name prefix, for fault messages (`map 'counts'`). */
  readonly name: string;
  /** Map every slot now (default) or as they are needed. */
  readonly prealloc: boolean;
  /** Whether programs may write the slots. */
  readonly writable: boolean;
}

/** A pool of `capacity` slots of `slotSize` bytes in VM memory. */
export class SlotPool {
  readonly slotSize: number;
  readonly capacity: number;
  private readonly memory: VmMemory;
  private readonly options: SlotPoolOptions;
  /** Free slot addresses; popped from the end, so the lowest address is handed out first. */
  private readonly free: number[] = [];
  private readonly regions: Region[] = [];
  private mapped = 0;

  constructor(memory: VmMemory, slotSize: number, capacity: number, options: SlotPoolOptions) {
    this.memory = memory;
    this.slotSize = slotSize;
    this.capacity = capacity;
    this.options = options;
    if (options.prealloc) this.grow(capacity);
  }

  /** Slots in use. */
  get used(): number {
    return this.mapped - this.free.length;
  }

  /** A zero-filled slot's address, or undefined when all `capacity` slots are in use. */
  alloc(): number | undefined {
    if (this.free.length === 0) {
      if (this.mapped >= this.capacity) return undefined;
      this.grow(Math.min(this.capacity - this.mapped, Math.max(8, this.mapped)));
    }
    const address = this.free.pop()!;
    this.memory.bytes.fill(0, address, address + this.slotSize);
    return address;
  }

  /** Return a slot to the pool; the next {@link alloc} reuses it. */
  release(address: number): void {
    this.free.push(address);
  }

  /** Unmap every region. */
  dispose(): void {
    for (const region of this.regions) this.memory.free(region);
    this.regions.length = 0;
    this.free.length = 0;
    this.mapped = 0;
  }

  private grow(count: number): void {
    const region = this.memory.alloc(count * this.slotSize, {
      name: `${this.options.name} elements`,
      writable: this.options.writable,
    });
    this.regions.push(region);
    for (let i = count - 1; i >= 0; i--) this.free.push(region.start + i * this.slotSize);
    this.mapped += count;
  }
}
