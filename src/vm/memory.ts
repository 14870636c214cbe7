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
 * them. Regions are released in LIFO order with {@link VmMemory.mark}/{@link VmMemory.release},
 * which is what a run needs (stack and input copy live exactly as long as the run).
 */
import { TsbpfError } from '../errors.js';

const PAGE = 65536;
/** First mapped address: everything below is a guard so that NULL never maps. */
export const FIRST_ADDRESS = 0x1000;

/** A mapped range `[start, end)` of the address space. */
export interface Region {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly writable: boolean;
}

/** Thrown when an allocation would exceed the 4 GiB a 32-bit memory can address. */
export class OutOfMemoryError extends TsbpfError {
  override name = 'OutOfMemoryError';
}

export interface AllocOptions {
  readonly name: string;
  readonly writable?: boolean;
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
  private top = FIRST_ADDRESS;

  constructor(initialPages = 1) {
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: 65536 });
    this.bytes = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
  }

  /** Map a new zero-filled region of `size` bytes. */
  alloc(size: number, options: AllocOptions): Region {
    const align = options.align ?? 8;
    const start = Math.ceil(this.top / align) * align;
    const end = start + size;
    if (end > 2 ** 32 - PAGE)
      throw new OutOfMemoryError(`alloc ${options.name}: ${size} bytes exceed the 4 GiB address space`);
    this.ensure(end);
    this.bytes.fill(0, start, end);
    const region: Region = { name: options.name, start, end, writable: options.writable ?? true };
    this.regions.push(region);
    this.top = end;
    return region;
  }

  /** Map a region holding a copy of `data`. */
  allocCopy(data: Uint8Array, options: AllocOptions): Region {
    const region = this.alloc(data.length, options);
    this.bytes.set(data, region.start);
    return region;
  }

  /** A token for the current allocation state; {@link release} returns to it. */
  mark(): number {
    return this.regions.length;
  }

  /** Unmap every region allocated since `mark`. */
  release(mark: number): void {
    this.regions.length = mark;
    const last = this.regions[mark - 1];
    this.top = last ? last.end : FIRST_ADDRESS;
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

  /** Copy of the bytes of a region (or any range). */
  read(start: number, length: number): Uint8Array {
    // `slice`/`subarray` of a view of wasm memory cost about a microsecond each; a loop is
    // faster for the small buffers a run returns.
    const copy = new Uint8Array(length);
    const bytes = this.bytes;
    if (length > 4096) copy.set(bytes.subarray(start, start + length));
    else for (let i = 0; i < length; i++) copy[i] = bytes[start + i];
    return copy;
  }

  private ensure(end: number): void {
    // Reading `memory.buffer` is a slow accessor: compare with the cached view instead.
    const have = this.bytes.length;
    if (end <= have) return;
    const needPages = Math.ceil((end - have) / PAGE);
    // Grow at least geometrically so repeated small allocations do not grow page by page.
    this.memory.grow(Math.max(needPages, Math.min(have / PAGE, 1024)));
    this.bytes = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
  }
}
