/**
 * The VM's flat address space.
 *
 * One growable `WebAssembly.Memory` backs everything a program can point at: stacks, input
 * memory, and (later) contexts, packets and map values. A pointer is a plain address into it,
 * so the same bytes serve the interpreter and, later, code JIT-compiled to WebAssembly.
 *
 * ```
 *  0x0000 ─ 0x0fff   never mapped: a NULL (or small-offset) dereference always faults
 *  0x1000 ─ …        regions, bump-allocated, each with its own name and permissions
 * ```
 *
 * A program may touch only the bytes of its mapped regions; every access is checked against
 * them. Regions live until {@link VmMemory.free}: maps allocate their storage once, and a run
 * reuses its stack and input regions ({@link VmMemory.scratch}) instead of allocating anew. Freed
 * ranges go on a free list and are reused first-fit, so long-lived VMs do not leak address space.
 */
import { TsbpfError } from '../errors.js';

const PAGE = 65536;
/** First mapped address: everything below is a guard so that NULL never maps. */
export const FIRST_ADDRESS = 0x1000;
/**
 * Where in the never-mapped NULL page the current simulated CPU is kept (a u32, written by the map
 * registry), for JIT-compiled per-CPU array lookups. Bytes below it are the JIT's spill area.
 */
export const CPU_ADDRESS = 112;

/** A mapped range `[start, end)` of the address space. */
export interface Region {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly writable: boolean;
  /** Read-only to programs but rewritten by the VM itself (a helper's key buffer for callbacks). */
  readonly scratch?: boolean;
}

/** Thrown when an allocation would exceed the 4 GiB a 32-bit memory can address (or the host's). */
export class OutOfMemoryError extends TsbpfError {
  override name = 'OutOfMemoryError';
}

/**
 * Thrown when an allocation would map more than the VM's memory limit ({@link VmMemory.limit}):
 * what untrusted input (a map spec, a test vector) can make a VM allocate is bounded.
 */
export class MemoryLimitError extends OutOfMemoryError {
  override name = 'MemoryLimitError';
  readonly limit: number;
  /** Bytes the allocation asked for. */
  readonly requested: number;
  constructor(name: string, requested: number, mapped: number, limit: number) {
    super(
      `alloc ${name}: ${requested} bytes more would map ${mapped + requested} bytes, over the VM's memory limit of ${limit}`,
    );
    this.limit = limit;
    this.requested = requested;
  }
}

/** Default {@link VmMemory.limit}: 512 MiB of regions (stacks, packets, contexts, maps). */
export const DEFAULT_MEMORY_LIMIT = 512 * 1024 * 1024;

export interface AllocOptions {
  readonly name: string;
  readonly writable?: boolean;
  /** See {@link Region.scratch}. */
  readonly scratch?: boolean;
  /** Alignment of the start address; default 8. */
  readonly align?: number;
}

export class VmMemory {
  readonly memory: WebAssembly.Memory;
  /** Views of the current buffer; replaced whenever the memory grows. */
  bytes: Uint8Array;
  view: DataView;
  /** Mapped regions, in address order. */
  readonly regions: Region[] = [];
  /** Unmapped ranges below `top`, as [start, end) pairs in address order. */
  private readonly holes: Array<[number, number]> = [];
  private readonly scratchRegions = new Map<string, Region>();
  private top = FIRST_ADDRESS;
  /** Bytes mapped in all regions. */
  private mapped = 0;
  /** The most bytes all regions together may map ({@link MemoryLimitError} beyond). */
  readonly limit: number;

  constructor(initialPages = 1, limit = DEFAULT_MEMORY_LIMIT) {
    this.limit = limit;
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: 65536 });
    this.bytes = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
  }

  /** Map a new zero-filled region of `size` bytes. */
  alloc(size: number, options: AllocOptions): Region {
    const align = options.align ?? 8;
    if (!(size >= 0) || this.mapped + size > this.limit)
      throw new MemoryLimitError(options.name, size, this.mapped, this.limit);
    const start = this.place(Math.max(size, 1), align, options.name);
    this.mapped += size;
    const end = start + size;
    this.bytes.fill(0, start, end);
    const region: Region = {
      name: options.name,
      start,
      end,
      writable: options.writable ?? true,
      ...(options.scratch ? { scratch: true } : {}),
    };
    this.regions.splice(this.indexAfter(start), 0, region);
    return region;
  }

  /** Map a region holding a copy of `data`. */
  allocCopy(data: Uint8Array, options: AllocOptions): Region {
    const region = this.alloc(data.length, options);
    this.bytes.set(data, region.start);
    return region;
  }

  /** Unmap a region; its addresses fault from now on and may be reused by later allocations. */
  free(region: Region): void {
    const index = this.regions.indexOf(region);
    if (index < 0) return;
    this.regions.splice(index, 1);
    this.mapped -= region.end - region.start;
    this.addHole(region.start, Math.max(region.end, region.start + 1));
  }

  /**
   * A reusable region named `name` of at least `size` bytes, for per-run data (stack, input
   * memory, packets). The returned region is exactly `size` long and zero-filled when `zero`.
   */
  scratch(name: string, size: number, zero = true): Region {
    const current = this.scratchRegions.get(name);
    if (current && current.end - current.start === size) {
      if (zero) this.bytes.fill(0, current.start, current.end);
      return current;
    }
    if (current) this.free(current);
    const region = this.alloc(size, { name, align: 16 });
    this.scratchRegions.set(name, region);
    return region;
  }

  /** The region containing `[address, address + size)`, if one does. */
  find(address: number, size: number): Region | undefined {
    // Binary search: regions are in address order and do not overlap.
    let lo = 0;
    let hi = this.regions.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const region = this.regions[mid];
      if (address < region.start) hi = mid - 1;
      else if (address >= region.end) lo = mid + 1;
      else return address + size <= region.end ? region : undefined;
    }
    return undefined;
  }

  /**
   * Why a program may not access `[address, address + size)` (`write`: store into it), or
   * undefined when it may. One check for everything: the interpreter's faults and every helper's
   * pointer arguments are worded from it.
   */
  accessFault(address: bigint | number, size: number, write: boolean): string | undefined {
    const a = typeof address === 'bigint' ? (address < 2n ** 32n ? Number(address) : -1) : address;
    const region = a >= 0 ? this.find(a, size) : undefined;
    if (region) return write && !region.writable ? `region '${region.name}' is read-only` : undefined;
    const start = a >= 0 ? this.find(a, 1) : undefined;
    if (start) return `crosses the end of region '${start.name}'`;
    return BigInt(address) < BigInt(FIRST_ADDRESS) ? 'null pointer dereference' : 'address not mapped';
  }

  /** Copy of a range of bytes. */
  read(start: number, length: number): Uint8Array {
    // `slice` of the wasm memory's view: on Node 20 as fast as a byte loop for 8-byte copies
    // (75-130 ns) and faster past them, and no loop for V8 to optimize: printing a 256-entry
    // per-CPU array's map made this loop hot enough for TurboFan (6 ms) in `tsbpf run`'s start-up.
    const bytes = this.bytes;
    if (start >= 0 && start + length <= bytes.length) return bytes.slice(start, start + length);
    // Past the memory (callers check ranges first): bytes that are not there read as zero.
    const copy = new Uint8Array(length);
    for (let i = 0; i < length; i++) copy[i] = bytes[start + i] ?? 0;
    return copy;
  }

  /** Bytes mapped in all regions (for tests and statistics). */
  get mappedBytes(): number {
    return this.mapped;
  }

  /** Bytes that may still be mapped before the {@link limit}. */
  get available(): number {
    return this.limit - this.mapped;
  }

  private indexAfter(start: number): number {
    let lo = 0;
    let hi = this.regions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.regions[mid].start < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First fit in a hole, else at the top (growing the memory). */
  private place(size: number, align: number, name: string): number {
    for (let i = 0; i < this.holes.length; i++) {
      const [holeStart, holeEnd] = this.holes[i];
      const start = Math.ceil(holeStart / align) * align;
      if (start + size > holeEnd) continue;
      const pieces: Array<[number, number]> = [];
      if (start > holeStart) pieces.push([holeStart, start]);
      if (start + size < holeEnd) pieces.push([start + size, holeEnd]);
      this.holes.splice(i, 1, ...pieces);
      return start;
    }
    const start = Math.ceil(this.top / align) * align;
    const end = start + size;
    if (end > 2 ** 32 - PAGE)
      throw new OutOfMemoryError(`alloc ${name}: ${size} bytes exceed the 4 GiB address space`);
    this.ensure(end);
    if (start > this.top) this.addHole(this.top, start);
    this.top = end;
    return start;
  }

  private addHole(start: number, end: number): void {
    if (end === this.top) {
      // Freeing the topmost range lowers the top instead (and swallows a hole just below it).
      this.top = start;
      const last = this.holes[this.holes.length - 1];
      if (last && last[1] === start) {
        this.top = last[0];
        this.holes.pop();
      }
      return;
    }
    let i = 0;
    while (i < this.holes.length && this.holes[i][0] < start) i++;
    this.holes.splice(i, 0, [start, end]);
    // Merge with neighbours so holes stay maximal.
    if (i + 1 < this.holes.length && this.holes[i][1] === this.holes[i + 1][0]) {
      this.holes[i][1] = this.holes[i + 1][1];
      this.holes.splice(i + 1, 1);
    }
    if (i > 0 && this.holes[i - 1][1] === this.holes[i][0]) {
      this.holes[i - 1][1] = this.holes[i][1];
      this.holes.splice(i, 1);
    }
  }

  private ensure(end: number): void {
    // Reading `memory.buffer` is a slow accessor: compare with the cached view instead.
    const have = this.bytes.length;
    if (end <= have) return;
    const needPages = Math.ceil((end - have) / PAGE);
    // Grow at least geometrically so repeated small allocations do not grow page by page.
    const grow = Math.max(needPages, Math.min(have / PAGE, 1024));
    try {
      this.memory.grow(Math.min(grow, 65536 - have / PAGE));
    } catch (error) {
      // The engine could not give the pages (the host is out of memory, or caps wasm memory).
      throw new OutOfMemoryError(`grow the VM's memory to ${end} bytes: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.bytes = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
  }
}
