/**
 * What every VM map shares: the user-space side ({@link MapOps}: bytes in and out, a
 * {@link MapError} carrying the kernel's errno) and the program side the helpers call
 * ({@link ProgramMapOps}: VM addresses in, a VM address or `-errno` out, like the kernel's
 * `bpf_map_*_elem` helpers).
 *
 * Checks common to all types live here, in the order `kernel/bpf/syscall.c` makes them (Linux
 * 6.18): a map opened read-only or frozen refuses writes with EPERM before the map type is asked,
 * `BPF_F_LOCK` needs a `bpf_spin_lock` in the value (the VM has no BTF value layouts, so it is
 * always EINVAL), and a key or value of the wrong size is EINVAL.
 */
import { Errno } from '../../errno.js';
import { TsbpfError } from '../../errors.js';
import { isPerCpu, MapError, MapFlags, type MapOps, type MapSpec, UpdateFlags } from '../../maps/ops.js';
import { HelperMemoryError } from '../errors.js';
import type { VmMemory } from '../memory.js';

/** `ENOTSUPP` (524), the kernel-internal errno some map operations leak to user space. */
export const ENOTSUPP = 524;

/** How a VM map reaches the other objects of its VM: inner maps and programs by id. */
export interface VmObjects {
  /** The map with this id, for map-in-map updates. */
  mapById(id: number): VmMap | undefined;
  /** The id of a registered map (what a map-in-map lookup returns to user space). */
  idOf(map: VmMap): number | undefined;
  /** The handle address programs use for a map (what a map-in-map lookup returns to programs). */
  handleOf(map: VmMap): number | undefined;
  /** Whether a program with this id is loaded, for PROG_ARRAY updates. */
  hasProgram(id: number): boolean;
}

/** Options of {@link createVmMap} and every map constructor. */
export interface VmMapOptions {
  /** Simulated possible CPUs: the number of slots of a per-CPU value. */
  readonly cpus: number;
  /** Needed by PROG_ARRAY, ARRAY_OF_MAPS and HASH_OF_MAPS to resolve the ids they store. */
  readonly objects?: VmObjects;
}

/** A helper got a pointer argument that does not point at enough mapped memory. */
export class MapArgumentError extends TsbpfError {
  override name = 'MapArgumentError';
}

/** Called once per element by `bpf_for_each_map_elem`: (key address, value address) → 0 to go on, 1 to stop. */
export type ForEachCallback = (keyAddress: number, valueAddress: number) => bigint;

/**
 * The side of a map that programs see through helpers. Addresses are VM addresses; results are 0
 * or a negative errno, as the kernel's helpers return them (a lookup returns an address, 0 for
 * none). `cpu` is the simulated CPU the program runs on: per-CPU maps hand out its slot.
 */
export interface ProgramMapOps {
  /** `bpf_map_lookup_elem`: the address of the value (a real pointer into VM memory), or 0. */
  lookupAddress(keyAddress: number, cpu: number): number;
  /** `bpf_map_update_elem`. */
  updateFromProgram(keyAddress: number, valueAddress: number, flags: number, cpu: number): number;
  /** `bpf_map_delete_elem`. */
  deleteFromProgram(keyAddress: number): number;
  /** `bpf_map_push_elem` (queue, stack, bloom filter). */
  pushFromProgram(valueAddress: number, flags: number): number;
  /** `bpf_map_pop_elem`: copies the value to `valueAddress`. */
  popFromProgram(valueAddress: number): number;
  /** `bpf_map_peek_elem`: copies the value to `valueAddress` (bloom filter: tests it). */
  peekFromProgram(valueAddress: number): number;
  /** `bpf_for_each_map_elem`: the number of elements visited, or a negative errno. */
  forEachFromProgram(cpu: number, callback: ForEachCallback): number;
}

/** Bytes a VM refuses to give one map: the whole address space is 4 GiB and shared. */
export const VM_MAP_MEMORY_LIMIT = 256 * 1024 * 1024;

/** `BPF_F_ACCESS_MASK`: the flags limiting who may read and write a map. */
export const ACCESS_MASK = MapFlags.RDONLY | MapFlags.WRONLY | MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG;

/** `-errno` for a helper's r0, and 0 (not -0) for success. */
export function negative(errno: number): number {
  return errno === 0 ? 0 : -errno;
}

/** Round up to a multiple of 8, the kernel's element alignment (`round_up(value_size, 8)`). */
export function round8(size: number): number {
  return Math.ceil(size / 8) * 8;
}

/** A key as a string usable in a JS `Map` (one char per byte). */
export function keyString(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/** The base of every VM map: common argument, permission and lifetime checks. */
export abstract class VmMap implements MapOps, ProgramMapOps {
  readonly spec: MapSpec;
  readonly possibleCpus: number;
  readonly memory: VmMemory;
  /** Simulated CPUs of the VM (per-CPU maps keep this many value slots). */
  readonly cpus: number;
  protected readonly flags: number;
  private frozen = false;
  private closed = false;

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    this.memory = memory;
    this.spec = spec;
    this.cpus = options.cpus;
    this.possibleCpus = isPerCpu(spec.type) ? options.cpus : 1;
    this.flags = spec.flags ?? 0;
  }

  get name(): string {
    return this.spec.name;
  }

  /** Whether {@link freeze} was called: user space may no longer write. */
  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Bytes of a value as user space reads and writes it (per-CPU: all slots). */
  get userValueSize(): number {
    return isPerCpu(this.spec.type) ? round8(this.spec.valueSize) * this.cpus : this.spec.valueSize;
  }

  // ---- MapOps: argument and permission checks, then the type's own operation ----

  lookup(key: Uint8Array | null): Uint8Array | undefined {
    this.checkRead('lookup');
    return this.userLookup(this.checkKey('lookup', key));
  }

  update(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    this.checkWrite('update');
    if (flags & UpdateFlags.F_LOCK)
      throw this.error('update', Errno.EINVAL, 'BPF_F_LOCK needs a bpf_spin_lock in the value');
    if (value.length !== this.userValueSize)
      throw this.error(
        'update',
        Errno.EINVAL,
        `value is ${value.length} bytes, expected ${this.userValueSize}`,
      );
    this.userUpdate(this.checkKey('update', key), value, flags);
  }

  delete(key: Uint8Array | null): void {
    this.checkWrite('delete');
    this.userDelete(this.checkKey('delete', key));
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    this.checkOpen('next key');
    if (key !== undefined) this.checkKey('next key', key);
    return this.userNextKey(key);
  }

  lookupAndDelete(key: Uint8Array | null): Uint8Array | undefined {
    this.checkWrite('lookup and delete');
    return this.userLookupAndDelete(this.checkKey('lookup and delete', key));
  }

  freeze(): void {
    this.checkOpen('freeze');
    // A second freeze fails with EPERM: the kernel drops write permission before it checks `frozen`.
    if (this.frozen || this.flags & MapFlags.RDONLY) throw this.error('freeze', Errno.EPERM);
    this.frozen = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  /** Every element, in next-key order (for bpftool-like dumps and tests). */
  *dump(): IterableIterator<[Uint8Array, Uint8Array]> {
    let key: Uint8Array | undefined;
    for (let n = 0; n <= this.spec.maxEntries; n++) {
      key = this.nextKey(key);
      if (key === undefined) return;
      const value = this.lookup(key);
      if (value !== undefined) yield [key, value];
    }
  }

  // ---- the type's operations; defaults are the kernel's answers for types that lack them ----

  protected abstract userLookup(key: Uint8Array | null): Uint8Array | undefined;
  protected abstract userUpdate(key: Uint8Array | null, value: Uint8Array, flags: number): void;
  protected abstract userDelete(key: Uint8Array | null): void;
  protected abstract userNextKey(key: Uint8Array | undefined): Uint8Array | undefined;
  protected userLookupAndDelete(_key: Uint8Array | null): Uint8Array | undefined {
    throw this.error('lookup and delete', ENOTSUPP);
  }
  /** Free the VM memory the map holds. */
  protected abstract release(): void;

  abstract lookupAddress(keyAddress: number, cpu: number): number;
  abstract updateFromProgram(keyAddress: number, valueAddress: number, flags: number, cpu: number): number;
  abstract deleteFromProgram(keyAddress: number): number;
  pushFromProgram(_valueAddress: number, _flags: number): number {
    return -Errno.EINVAL;
  }
  popFromProgram(_valueAddress: number): number {
    return -Errno.EINVAL;
  }
  peekFromProgram(_valueAddress: number): number {
    return -Errno.EINVAL;
  }
  forEachFromProgram(_cpu: number, _callback: ForEachCallback): number {
    return -Errno.EINVAL;
  }

  // ---- shared pieces ----

  /** A {@link MapError} for this map. */
  protected error(operation: string, errno: number, detail?: string): MapError {
    return new MapError(this.name, operation, errno, detail);
  }

  /** Copy `size` bytes a program points at, or throw: the verifier would have rejected the program. */
  protected readProgram(address: number, size: number, what: string): Uint8Array {
    this.checkProgramPointer(address, size, what, false);
    return this.memory.read(address, size);
  }

  /**
   * Check that a program's pointer argument covers `size` mapped (and, to write, writable) bytes,
   * or fault as a load or store there would ({@link HelperMemoryError}).
   */
  protected checkProgramPointer(address: number, size: number, what: string, write: boolean): void {
    const fault = this.memory.accessFault(address, Math.max(size, 1), write);
    if (fault !== undefined)
      throw new HelperMemoryError(
        'map_*',
        `map '${this.name}' ${what}`,
        BigInt(address),
        Math.max(size, 1),
        write ? 'write' : 'read',
        fault,
      );
  }

  /** Write bytes into VM memory (the view may have been replaced by a grow). */
  protected write(address: number, bytes: Uint8Array, length = bytes.length): void {
    this.memory.bytes.set(length === bytes.length ? bytes : bytes.subarray(0, length), address);
  }

  private checkOpen(operation: string): void {
    if (this.closed) throw this.error(operation, Errno.EBADF, 'map is closed');
  }

  private checkRead(operation: string): void {
    this.checkOpen(operation);
    if (this.flags & MapFlags.WRONLY) throw this.error(operation, Errno.EPERM, 'map is write-only');
  }

  private checkWrite(operation: string): void {
    this.checkOpen(operation);
    if (this.flags & MapFlags.RDONLY) throw this.error(operation, Errno.EPERM, 'map is read-only');
    if (this.frozen) throw this.error(operation, Errno.EPERM, 'map is frozen');
  }

  private checkKey(operation: string, key: Uint8Array | null): Uint8Array | null {
    if (this.spec.keySize === 0) return null;
    if (key === null || key.length !== this.spec.keySize)
      throw this.error(
        operation,
        Errno.EINVAL,
        `key is ${key?.length ?? 0} bytes, expected ${this.spec.keySize}`,
      );
    return key;
  }
}

/**
 * Refuse a map whose storage would take more than {@link VM_MAP_MEMORY_LIMIT} bytes, or more
 * than the VM's memory has left under its limit ({@link VmMemory.limit}): ENOMEM before a byte is
 * allocated, as the kernel charges a preallocated map at creation.
 */
export function checkStorage(memory: VmMemory, spec: MapSpec, bytes: number): void {
  if (bytes > VM_MAP_MEMORY_LIMIT)
    throw new MapError(
      spec.name,
      'create',
      Errno.ENOMEM,
      `needs ${bytes} bytes, more than the VM gives one map (${VM_MAP_MEMORY_LIMIT})`,
    );
  if (bytes > memory.available)
    throw new MapError(
      spec.name,
      'create',
      Errno.ENOMEM,
      `needs ${bytes} bytes, more than the VM's memory limit leaves (${memory.available} of ${memory.limit})`,
    );
}
