/**
 * `BPF_MAP_TYPE_ARRAY` and `BPF_MAP_TYPE_PERCPU_ARRAY` (`kernel/bpf/arraymap.c`).
 *
 * All `max_entries` values are mapped at creation in one region and never move, as in the kernel:
 * element `i` is at `base + i * stride`, so `.data`/`.bss` globals (an `BPF_F_MMAPABLE` array of
 * one element) are plain memory a program addresses directly.
 *
 * ```
 *  ARRAY         | v0 (value_size, padded to 8) | v1 | … | v(max-1) |
 *  PERCPU_ARRAY  | v0 cpu0 | v0 cpu1 | … | v1 cpu0 | v1 cpu1 | … |     (each slot padded to 8)
 * ```
 *
 * Kernel behaviour (checked on Linux 6.18): an index ≥ max_entries is E2BIG on update, ENOENT on
 * lookup; every element always exists, so delete is EINVAL, `BPF_NOEXIST` is EEXIST and
 * lookup-and-delete is ENOTSUPP; the next key after the last is ENOENT, after an index out of
 * range it is 0.
 */
import { Errno } from '../../errno.js';
import { MapFlags, type MapSpec, UpdateFlags } from '../../maps/ops.js';
import type { Region, VmMemory } from '../memory.js';
import { checkStorage, type ForEachCallback, round8, VmMap, type VmMapOptions } from './base.js';

/** Bytes of one u32 index key. */
const INDEX_SIZE = 4;

/** ARRAY and PERCPU_ARRAY. */
/** See {@link ArrayMap.inlineLayout}. */
export interface InlineArrayLayout {
  readonly base: number;
  readonly maxEntries: number;
  readonly stride: number;
  readonly cpuSlot: number;
}

export class ArrayMap extends VmMap {
  private readonly perCpu: boolean;
  /** Bytes from one element (all its CPU slots) to the next. */
  private readonly stride: number;
  private readonly slot: number;
  private readonly values: Region;
  /** Where `bpf_for_each_map_elem` puts the current index for the callback to read. */
  private readonly keyScratch: Region;

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.perCpu = spec.type === 'PERCPU_ARRAY';
    this.slot = round8(spec.valueSize);
    this.stride = this.perCpu ? this.slot * options.cpus : this.slot;
    checkStorage(memory, spec, this.stride * spec.maxEntries);
    // BPF_F_RDONLY_PROG (`.rodata`) makes the values read-only to programs: stores fault.
    const writable = (this.flags & MapFlags.RDONLY_PROG) === 0;
    this.values = memory.alloc(this.stride * spec.maxEntries, { name: `map '${spec.name}'`, writable });
    this.keyScratch = memory.alloc(INDEX_SIZE, {
      name: `map '${spec.name}' key`,
      writable: false,
      scratch: true,
    });
  }

  /**
   * The address of byte `offset` of element 0: what an lddw of `BPF_PSEUDO_MAP_VALUE` loads
   * (`array_map_direct_value_addr` allows it only for single-element, non-per-CPU arrays).
   */
  directValueAddress(offset: number): number | undefined {
    if (this.perCpu || this.spec.maxEntries !== 1 || offset < 0 || offset >= this.spec.valueSize)
      return undefined;
    return this.values.start + offset;
  }

  /**
   * Where the values lie, for lookups compiled inline by the JIT: element `index` (below
   * `maxEntries`) of CPU `cpu` is at `base + index * stride + cpu * cpuSlot`.
   */
  inlineLayout(): InlineArrayLayout {
    return {
      base: this.values.start,
      maxEntries: this.spec.maxEntries,
      stride: this.stride,
      cpuSlot: this.perCpu ? this.slot : 0,
    };
  }

  /** The address of element `index` as CPU `cpu` sees it. */
  valueAddress(index: number, cpu = 0): number {
    return this.values.start + index * this.stride + (this.perCpu ? cpu * this.slot : 0);
  }

  protected userLookup(key: Uint8Array | null): Uint8Array | undefined {
    const index = indexOf(key);
    if (index >= this.spec.maxEntries) return undefined;
    if (this.perCpu) return this.memory.read(this.valueAddress(index), this.stride);
    return this.memory.read(this.valueAddress(index), this.spec.valueSize);
  }

  protected userUpdate(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const errno = this.checkUpdate(indexOf(key), flags);
    if (errno) throw this.error('update', errno);
    // Per-CPU values arrive as all CPUs' slots, padded: the same layout as the element.
    this.write(this.valueAddress(indexOf(key)), value);
  }

  protected userDelete(_key: Uint8Array | null): void {
    throw this.error('delete', Errno.EINVAL, 'array elements cannot be deleted');
  }

  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndex(key, this.spec.maxEntries);
  }

  protected release(): void {
    this.memory.free(this.values);
    this.memory.free(this.keyScratch);
  }

  lookupAddress(keyAddress: number, cpu: number): number {
    // The key read in place (no copy): a lookup per packet is the common case.
    this.checkProgramPointer(keyAddress, INDEX_SIZE, 'key', false);
    const index = this.memory.view.getUint32(keyAddress, true);
    return index < this.spec.maxEntries ? this.valueAddress(index, cpu) : 0;
  }

  updateFromProgram(keyAddress: number, valueAddress: number, flags: number, cpu: number): number {
    const index = indexOf(this.readProgram(keyAddress, INDEX_SIZE, 'key'));
    const value = this.readProgram(valueAddress, this.spec.valueSize, 'value');
    if (this.flags & MapFlags.RDONLY_PROG) return -Errno.EPERM;
    const errno = this.checkUpdate(index, flags & ~UpdateFlags.F_LOCK);
    if (errno) return -errno;
    if (flags & UpdateFlags.F_LOCK) return -Errno.EINVAL;
    // A program writes only its own CPU's slot.
    this.write(this.valueAddress(index, cpu), value);
    return 0;
  }

  deleteFromProgram(keyAddress: number): number {
    this.readProgram(keyAddress, INDEX_SIZE, 'key');
    return -Errno.EINVAL;
  }

  override forEachFromProgram(cpu: number, callback: ForEachCallback): number {
    let visited = 0;
    for (let index = 0; index < this.spec.maxEntries; index++) {
      // The view is read anew each time: the callback may have grown the memory.
      this.memory.view.setUint32(this.keyScratch.start, index, true);
      visited++;
      if (callback(this.keyScratch.start, this.valueAddress(index, cpu)) !== 0n) break;
    }
    return visited;
  }

  /** `array_map_update_elem`'s checks, in its order; 0 when the update may go ahead. */
  private checkUpdate(index: number, flags: number): number {
    if (flags & ~(UpdateFlags.NOEXIST | UpdateFlags.EXIST) || flags === 3) return Errno.EINVAL;
    if (index >= this.spec.maxEntries) return Errno.E2BIG;
    if (flags === UpdateFlags.NOEXIST) return Errno.EEXIST;
    return 0;
  }
}

/** The u32 index a 4-byte key holds. */
export function indexOf(key: Uint8Array | null): number {
  if (key === null) return 0;
  return (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;
}

/** An index as a 4-byte key. */
export function indexKey(index: number): Uint8Array {
  const key = new Uint8Array(INDEX_SIZE);
  new DataView(key.buffer).setUint32(0, index, true);
  return key;
}

/** Next key of an array-like map: 0 first and after an out-of-range index, none after the last. */
export function nextIndex(key: Uint8Array | undefined, maxEntries: number): Uint8Array | undefined {
  const index = key === undefined ? maxEntries : indexOf(key);
  if (index >= maxEntries) return indexKey(0);
  return index + 1 < maxEntries ? indexKey(index + 1) : undefined;
}
