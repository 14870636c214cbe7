/**
 * `BPF_MAP_TYPE_HASH`, `PERCPU_HASH`, `LRU_HASH` and `LRU_PERCPU_HASH` (`kernel/bpf/hashtab.c`).
 *
 * Each element is a slot of a {@link SlotPool} in VM memory, its key followed by its value, so a
 * program's lookup returns a real pointer and `bpf_for_each_map_elem` can pass the key's address:
 *
 * ```
 *  | key (key_size, padded to 8) | value (padded to 8)                 |   HASH, LRU_HASH
 *  | key (key_size, padded to 8) | cpu0 value | cpu1 value | …         |   PERCPU_HASH, LRU_PERCPU_HASH
 * ```
 *
 * Like the kernel by default, all `max_entries` slots are mapped at creation; with
 * `BPF_F_NO_PREALLOC` they are mapped as the map fills. A deleted element's slot is reused.
 * An update of an existing element writes its value in place (the kernel swaps in a fresh
 * element; either way a program never sees a torn value in a single-threaded VM).
 *
 * Kernel behaviour (checked on Linux 6.18): `BPF_NOEXIST` on an existing key is EEXIST,
 * `BPF_EXIST` on a missing one ENOENT, both together or unknown bits EINVAL; inserting into a
 * full map is E2BIG — except LRU maps, which evict instead; LRU maps refuse `BPF_F_NO_PREALLOC`
 * with ENOTSUPP; the next key after a missing key is the first key.
 *
 * Two documented differences from the kernel, both deterministic where the kernel is not:
 * - **Next-key order is creation order** (an updated key keeps its place; a deleted and re-added
 *   key moves to the end). The kernel walks its buckets in hash order, which nothing may rely on.
 * - **LRU eviction is exact LRU**: the victim is the element least recently created, updated, or
 *   looked up by a program (user-space lookups do not count, as in the kernel). The kernel's LRU
 *   is approximate, per-CPU, and may evict before the map is full.
 */
import { Errno } from '../../errno.js';
import { MapFlags, type MapSpec, UpdateFlags } from '../../maps/ops.js';
import { MemoryLimitError, type VmMemory } from '../memory.js';
import { checkStorage, type ForEachCallback, keyString, round8, VmMap, type VmMapOptions } from './base.js';
import { SlotPool } from './storage.js';

interface Element {
  readonly key: Uint8Array;
  /** Address of the element's slot: the key, then the value at `+ keyPad`. */
  readonly address: number;
  /** Neighbours in creation order, so next-key is O(1) (a JS Map cannot resume from a key). */
  prev: Element | undefined;
  next: Element | undefined;
}

/** HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH. */
export class HashMap extends VmMap {
  readonly lru: boolean;
  private readonly perCpu: boolean;
  private readonly keyPad: number;
  private readonly slot: number;
  private readonly pool: SlotPool;
  /** Elements by key; also linked in creation order (= next-key order) from `first`. */
  private readonly elements = new Map<string, Element>();
  private first: Element | undefined;
  private last: Element | undefined;
  /** LRU maps: elements from least to most recently used. */
  private readonly recency = new Map<string, Element>();

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.lru = spec.type === 'LRU_HASH' || spec.type === 'LRU_PERCPU_HASH';
    this.perCpu = spec.type === 'PERCPU_HASH' || spec.type === 'LRU_PERCPU_HASH';
    this.keyPad = round8(spec.keySize);
    this.slot = round8(spec.valueSize);
    const slotSize = this.keyPad + (this.perCpu ? this.slot * options.cpus : this.slot);
    const prealloc = (this.flags & MapFlags.NO_PREALLOC) === 0;
    // A preallocated map is charged in full when created, within the VM's memory limit (ENOMEM
    // otherwise); a BPF_F_NO_PREALLOC one maps elements as they arrive, -ENOMEM at the limit.
    if (prealloc) checkStorage(memory, spec, slotSize * spec.maxEntries);
    this.pool = new SlotPool(memory, slotSize, spec.maxEntries, {
      name: `map '${spec.name}'`,
      prealloc,
      writable: (this.flags & MapFlags.RDONLY_PROG) === 0,
    });
  }

  /** Elements in the map. */
  get size(): number {
    return this.elements.size;
  }

  protected userLookup(key: Uint8Array | null): Uint8Array | undefined {
    // User-space lookups do not make an LRU element recent (`htab_lru_map_lookup_elem_sys`).
    const element = this.elements.get(keyString(key!));
    return element && this.memory.read(element.address + this.keyPad, this.userValueSize);
  }

  protected userUpdate(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const result = this.upsert(key!, flags);
    if (result < 0) throw this.error('update', -result);
    // Per-CPU values arrive as all CPUs' slots, padded: the same layout as the element.
    this.write(result + this.keyPad, value);
  }

  protected userDelete(key: Uint8Array | null): void {
    if (!this.remove(keyString(key!))) throw this.error('delete', Errno.ENOENT);
  }

  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const current = key === undefined ? undefined : this.elements.get(keyString(key));
    // No key, or a key not in the map: the first key (`htab_map_get_next_key`).
    const next = current ? current.next : this.first;
    return next?.key.slice();
  }

  protected override userLookupAndDelete(key: Uint8Array | null): Uint8Array | undefined {
    const text = keyString(key!);
    const element = this.elements.get(text);
    if (!element) return undefined;
    const value = this.memory.read(element.address + this.keyPad, this.userValueSize);
    this.remove(text);
    return value;
  }

  protected release(): void {
    this.pool.dispose();
    this.elements.clear();
    this.recency.clear();
    this.first = this.last = undefined;
  }

  lookupAddress(keyAddress: number, cpu: number): number {
    const text = keyString(this.readProgram(keyAddress, this.spec.keySize, 'key'));
    const element = this.elements.get(text);
    if (!element) return 0;
    this.touch(text, element);
    return this.valueAddress(element, cpu);
  }

  updateFromProgram(keyAddress: number, valueAddress: number, flags: number, cpu: number): number {
    const key = this.readProgram(keyAddress, this.spec.keySize, 'key');
    const value = this.readProgram(valueAddress, this.spec.valueSize, 'value');
    if (this.flags & MapFlags.RDONLY_PROG) return -Errno.EPERM;
    if (flags & UpdateFlags.F_LOCK) return -Errno.EINVAL;
    const address = this.upsert(key, flags);
    if (address < 0) return address;
    // Only this CPU's slot is written: a new per-CPU element is zero on the others, as in the
    // kernel since 5.x (`pcpu_init_value`), because its slot was zero-filled.
    this.write(address + this.keyPad + (this.perCpu ? cpu * this.slot : 0), value);
    return 0;
  }

  deleteFromProgram(keyAddress: number): number {
    const key = this.readProgram(keyAddress, this.spec.keySize, 'key');
    if (this.flags & MapFlags.RDONLY_PROG) return -Errno.EPERM;
    return this.remove(keyString(key)) ? 0 : -Errno.ENOENT;
  }

  override forEachFromProgram(cpu: number, callback: ForEachCallback): number {
    let visited = 0;
    // A snapshot: the callback may delete elements (the kernel allows it) or add some.
    for (const [text, element] of [...this.elements]) {
      if (this.elements.get(text) !== element) continue;
      visited++;
      if (callback(element.address, this.valueAddress(element, cpu)) !== 0n) break;
    }
    return visited;
  }

  private valueAddress(element: Element, cpu: number): number {
    return element.address + this.keyPad + (this.perCpu ? cpu * this.slot : 0);
  }

  /**
   * Find or create the element for `key` under `flags` (`htab_map_update_elem`'s checks, in its
   * order): its slot address, or a negative errno. A new element's value is zero.
   */
  private upsert(key: Uint8Array, flags: number): number {
    if (flags & ~(UpdateFlags.NOEXIST | UpdateFlags.EXIST) || flags === 3) return -Errno.EINVAL;
    const text = keyString(key);
    const existing = this.elements.get(text);
    if (existing) {
      if (flags === UpdateFlags.NOEXIST) return -Errno.EEXIST;
      this.touch(text, existing);
      return existing.address;
    }
    if (flags === UpdateFlags.EXIST) return -Errno.ENOENT;
    let address: number | undefined;
    try {
      address = this.pool.alloc();
    } catch (error) {
      // The VM's memory limit is reached: the kernel's allocation failure.
      if (error instanceof MemoryLimitError) return -Errno.ENOMEM;
      throw error;
    }
    if (address === undefined) {
      if (!this.lru) return -Errno.E2BIG;
      // Full LRU map: evict the least recently used element and take its slot.
      const [victim] = this.recency.keys();
      this.remove(victim);
      address = this.pool.alloc()!;
    }
    const element: Element = { key: key.slice(), address, prev: this.last, next: undefined };
    this.memory.bytes.set(key, address);
    this.elements.set(text, element);
    if (this.last) this.last.next = element;
    else this.first = element;
    this.last = element;
    if (this.lru) this.recency.set(text, element);
    return address;
  }

  private touch(text: string, element: Element): void {
    if (!this.lru) return;
    this.recency.delete(text);
    this.recency.set(text, element);
  }

  private remove(text: string): boolean {
    const element = this.elements.get(text);
    if (!element) return false;
    this.elements.delete(text);
    this.recency.delete(text);
    if (element.prev) element.prev.next = element.next;
    else this.first = element.next;
    if (element.next) element.next.prev = element.prev;
    else this.last = element.prev;
    this.pool.release(element.address);
    return true;
  }
}
