/**
 * Kernel maps: {@link MapOps} over a map file descriptor, so `new BpfMap(ops)` works the same on
 * the kernel as on the VM. Failures become {@link MapError}s with the kernel's errno.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { TsbpfError } from '../../errors.js';
import { isKeyless, isPerCpu, MapError, type MapOps, type MapSpec, perCpuSlotSize } from '../../maps/ops.js';
import { enumName, MapType, type MapTypeName } from '../../uapi.js';
import { BPF_MAP_INFO, COMMAND_LAYOUTS, readField } from '../sys/attr.js';
import { SyscallError } from '../sys/errors.js';
import {
  bpfCall,
  bpfTry,
  FdOwner,
  fdFromId,
  getPinnedObject,
  objectInfo,
  pinObject,
  sanitizeName,
} from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';

let cpuCount: number | undefined;

/**
 * Parse a kernel CPU list (`0-3,8-11`) into the number of CPUs in it. The kernel copies one value
 * per *possible* CPU (`num_possible_cpus()`, the weight of this mask) for per-CPU maps.
 */
export function parseCpuList(list: string): number {
  let count = 0;
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [from, to = from] = part.split('-').map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from)
      throw new TsbpfError(`parse CPU list: bad range '${part}' in '${list.trim()}'`);
    count += to - from + 1;
  }
  return count;
}

/** Number of possible CPUs (`/sys/devices/system/cpu/possible`), read once. */
export function possibleCpus(): number {
  cpuCount ??= parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  return cpuCount;
}

/** What `BPF_OBJ_GET_INFO_BY_FD` says about a map. */
export interface MapInfo {
  /** `enum bpf_map_type` value. */
  readonly type: number;
  /** Its name, when this kernel's type is one we know. */
  readonly typeName: MapTypeName | undefined;
  readonly id: number;
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly ifindex: number;
  readonly btfId: number;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  readonly btfVmlinuxValueTypeId: number;
  readonly mapExtra: bigint;
}

/** Read a map's info by fd. */
export function mapInfo(fd: number, sys?: Sys): MapInfo {
  const raw = objectInfo(fd, BPF_MAP_INFO, {}, sys);
  return {
    type: raw.type,
    typeName: enumName(MapType, raw.type),
    id: raw.id,
    name: raw.name,
    keySize: raw.key_size,
    valueSize: raw.value_size,
    maxEntries: raw.max_entries,
    flags: raw.map_flags,
    ifindex: raw.ifindex,
    btfId: raw.btf_id,
    btfKeyTypeId: raw.btf_key_type_id,
    btfValueTypeId: raw.btf_value_type_id,
    btfVmlinuxValueTypeId: raw.btf_vmlinux_value_type_id,
    mapExtra: raw.map_extra,
  };
}

/** Options of {@link createMap} beyond the {@link MapSpec}. */
export interface CreateMapOptions {
  /** The system calls to use (a fake in unit tests); default the real kernel. */
  readonly sys?: Sys;
  /** BTF object holding `spec.btfKeyTypeId`/`btfValueTypeId`. */
  readonly btfFd?: number;
  /** A kernel struct's BTF id for `STRUCT_OPS` maps. */
  readonly btfVmlinuxValueTypeId?: number;
  /** Create the map on a network device (offload). */
  readonly ifindex?: number;
  /** Inner map template fd for map-of-maps; default: created from `spec.innerMap`. */
  readonly innerMapFd?: number;
  /** Override the number of possible CPUs (tests). */
  readonly possibleCpus?: number;
}

/** Options of the batch operations (`BPF_MAP_*_BATCH`, since 5.6). */
export interface BatchOptions {
  /** Elements per `bpf()` call; default 256 (grown automatically on ENOSPC). */
  readonly batchSize?: number;
  /** `elem_flags` (`BPF_F_LOCK`). */
  readonly elemFlags?: number;
}

/**
 * A kernel map as {@link MapOps}. Also exposes the fd, pinning, info and real batch operations.
 * Close it (or let it be garbage-collected) to release the map.
 */
export class KernelMapOps implements MapOps {
  readonly spec: MapSpec;
  readonly possibleCpus: number;
  readonly #owner: FdOwner;
  readonly #valueBytes: number;
  #id: number | undefined;

  /** Wrap an open map fd (ownership passes to the new object). */
  constructor(fd: number, spec: MapSpec, options: { sys?: Sys; possibleCpus?: number } = {}) {
    this.spec = spec;
    this.#owner = new FdOwner(fd, getSys(options.sys));
    this.possibleCpus = isPerCpu(spec.type) ? (options.possibleCpus ?? possibleCpus()) : 1;
    this.#valueBytes = isPerCpu(spec.type)
      ? perCpuSlotSize(spec.valueSize) * this.possibleCpus
      : spec.valueSize;
  }

  /** The map's file descriptor. */
  get fd(): number {
    return this.#owner.fd;
  }

  /** The map's kernel id (from its info; cached). */
  get id(): number {
    this.#id ??= this.info().id;
    return this.#id;
  }

  /** Bytes of the value buffer lookups return (all CPUs' slots for per-CPU maps). */
  get valueBytes(): number {
    return this.#valueBytes;
  }

  get closed(): boolean {
    return this.#owner.closed;
  }

  private get sys(): Sys {
    return this.#owner.sys;
  }

  /** `BPF_OBJ_GET_INFO_BY_FD`. */
  info(): MapInfo {
    try {
      return mapInfo(this.fd, this.sys);
    } catch (error) {
      this.fail('info', error);
    }
  }

  /** Pin the map at `path` in a bpffs (`/sys/fs/bpf/…`). */
  pin(path: string): void {
    try {
      pinObject(this.fd, path, this.sys);
    } catch (error) {
      this.fail(`pin ${path}`, error);
    }
  }

  lookup(key: Uint8Array | null): Uint8Array | undefined {
    const value = new Uint8Array(new ArrayBuffer(this.#valueBytes));
    try {
      bpfCall(this.sys, 'MAP_LOOKUP_ELEM', { map_fd: this.fd, key: this.key(key, 'lookup'), value });
      return value;
    } catch (error) {
      if (error instanceof SyscallError && error.is('ENOENT')) return undefined;
      this.fail('lookup', error);
    }
  }

  update(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    try {
      bpfCall(this.sys, 'MAP_UPDATE_ELEM', {
        map_fd: this.fd,
        key: this.key(key, 'update'),
        value: this.value(value, 'update'),
        flags,
      });
    } catch (error) {
      this.fail('update', error);
    }
  }

  delete(key: Uint8Array | null): void {
    try {
      bpfCall(this.sys, 'MAP_DELETE_ELEM', { map_fd: this.fd, key: this.key(key, 'delete') });
    } catch (error) {
      this.fail('delete', error);
    }
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const next = new Uint8Array(new ArrayBuffer(this.spec.keySize));
    try {
      bpfCall(this.sys, 'MAP_GET_NEXT_KEY', {
        map_fd: this.fd,
        key: key === undefined ? null : this.key(key, 'next key'),
        next_key: next,
      });
      return next;
    } catch (error) {
      if (error instanceof SyscallError && error.is('ENOENT')) return undefined;
      this.fail('next key', error);
    }
  }

  lookupAndDelete(key: Uint8Array | null): Uint8Array | undefined {
    const value = new Uint8Array(new ArrayBuffer(this.#valueBytes));
    try {
      bpfCall(this.sys, 'MAP_LOOKUP_AND_DELETE_ELEM', {
        map_fd: this.fd,
        key: this.key(key, 'lookup and delete'),
        value,
      });
      return value;
    } catch (error) {
      if (error instanceof SyscallError && error.is('ENOENT')) return undefined;
      this.fail('lookup and delete', error);
    }
  }

  freeze(): void {
    try {
      bpfCall(this.sys, 'MAP_FREEZE', { map_fd: this.fd });
    } catch (error) {
      this.fail('freeze', error);
    }
  }

  /** Close the map's fd (the map lives on while pinned or used by a loaded program). Idempotent. */
  close(): void {
    this.#owner.close();
  }

  /**
   * All elements through `BPF_MAP_LOOKUP_BATCH`: far fewer system calls than get-next-key plus
   * lookup, and a consistent view of each hash bucket. Throws {@link MapError} (EINVAL or
   * ENOTSUPP) for map types without batch support.
   */
  lookupBatch(options: BatchOptions = {}): Array<[Uint8Array, Uint8Array]> {
    return this.batchWalk('MAP_LOOKUP_BATCH', 'lookup batch', options);
  }

  /** Like {@link lookupBatch}, deleting what it returns (`BPF_MAP_LOOKUP_AND_DELETE_BATCH`). */
  lookupAndDeleteBatch(options: BatchOptions = {}): Array<[Uint8Array, Uint8Array]> {
    return this.batchWalk('MAP_LOOKUP_AND_DELETE_BATCH', 'lookup and delete batch', options);
  }

  /** Store many elements in one call (`BPF_MAP_UPDATE_BATCH`); `flags` as for update. */
  updateBatch(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, flags = 0): number {
    const keys = new Uint8Array(new ArrayBuffer(entries.length * this.spec.keySize));
    const values = new Uint8Array(new ArrayBuffer(entries.length * this.#valueBytes));
    entries.forEach(([key, value], i) => {
      keys.set(this.key(key, 'update batch') ?? new Uint8Array(0), i * this.spec.keySize);
      values.set(this.value(value, 'update batch'), i * this.#valueBytes);
    });
    return this.batchOnce('MAP_UPDATE_BATCH', 'update batch', entries.length, keys, values, flags);
  }

  /** Delete many keys in one call (`BPF_MAP_DELETE_BATCH`); ENOENT for a missing key. */
  deleteBatch(keyList: readonly Uint8Array[]): number {
    const keys = new Uint8Array(new ArrayBuffer(keyList.length * this.spec.keySize));
    keyList.forEach((key, i) => {
      keys.set(this.key(key, 'delete batch') ?? new Uint8Array(0), i * this.spec.keySize);
    });
    return this.batchOnce('MAP_DELETE_BATCH', 'delete batch', keyList.length, keys, null, 0);
  }

  private batchOnce(
    command: 'MAP_UPDATE_BATCH' | 'MAP_DELETE_BATCH',
    operation: string,
    count: number,
    keys: Uint8Array,
    values: Uint8Array | null,
    elemFlags: number,
  ): number {
    if (count === 0) return 0;
    const call = bpfTry(this.sys, command, { map_fd: this.fd, keys, values, count, elem_flags: elemFlags });
    const done = readField(COMMAND_LAYOUTS.MAP_UPDATE_BATCH, call.attr, 'count');
    if (call.error) this.fail(operation, call.error, `after ${done} of ${count} elements`);
    return done;
  }

  private batchWalk(
    command: 'MAP_LOOKUP_BATCH' | 'MAP_LOOKUP_AND_DELETE_BATCH',
    operation: string,
    options: BatchOptions,
  ): Array<[Uint8Array, Uint8Array]> {
    const { keySize } = this.spec;
    let size = Math.max(1, Math.min(options.batchSize ?? 256, this.spec.maxEntries || 1));
    // The cursor is opaque: a u32 bucket index for hash maps, the last key for the generic walk.
    const cursorSize = Math.max(keySize, 4);
    let inBatch: Uint8Array | null = null;
    const out: Array<[Uint8Array, Uint8Array]> = [];
    for (;;) {
      const keys = new Uint8Array(new ArrayBuffer(size * keySize));
      const values = new Uint8Array(new ArrayBuffer(size * this.#valueBytes));
      const outBatch = new Uint8Array(new ArrayBuffer(cursorSize));
      const call = bpfTry(this.sys, command, {
        map_fd: this.fd,
        in_batch: inBatch,
        out_batch: outBatch,
        keys,
        values,
        count: size,
        elem_flags: options.elemFlags ?? 0,
      });
      // ENOENT marks the end; the kernel still reports how many it filled in that last batch.
      const end = call.error?.is('ENOENT') ?? false;
      if (call.error && !end) {
        if (call.error.is('ENOSPC') && size < 1 << 20) {
          // One hash bucket holds more elements than fit: retry the same cursor with more room.
          size *= 2;
          continue;
        }
        this.fail(operation, call.error);
      }
      const got = readField(COMMAND_LAYOUTS.MAP_LOOKUP_BATCH, call.attr, 'count');
      for (let i = 0; i < got; i++) {
        out.push([
          keys.slice(i * keySize, (i + 1) * keySize),
          values.slice(i * this.#valueBytes, (i + 1) * this.#valueBytes),
        ]);
      }
      if (end) return out;
      inBatch = outBatch;
    }
  }

  /** Check a key against the spec: a short buffer would let the kernel read past its end. */
  private key(key: Uint8Array | null, operation: string): Uint8Array | null {
    if (isKeyless(this.spec.type) || this.spec.keySize === 0) return null;
    if (key === null || key.length !== this.spec.keySize) {
      throw new MapError(
        this.spec.name,
        operation,
        22,
        `key is ${key === null ? 'null' : `${key.length} bytes`}, the map's key_size is ${this.spec.keySize}`,
      );
    }
    return key;
  }

  private value(value: Uint8Array, operation: string): Uint8Array {
    if (value.length !== this.#valueBytes) {
      const perCpu = isPerCpu(this.spec.type)
        ? ` (${this.possibleCpus} CPUs × ${perCpuSlotSize(this.spec.valueSize)})`
        : '';
      throw new MapError(
        this.spec.name,
        operation,
        22,
        `value is ${value.length} bytes, expected ${this.#valueBytes}${perCpu}`,
      );
    }
    return value;
  }

  private fail(operation: string, error: unknown, detail?: string): never {
    if (error instanceof SyscallError) {
      const text = [detail, error.hint].filter(Boolean).join('; ');
      throw new MapError(this.spec.name, operation, error.errno, text || undefined, { cause: error });
    }
    throw error;
  }
}

/**
 * `BPF_MAP_CREATE` from a {@link MapSpec}. For a map-of-maps without `innerMapFd`, a template
 * inner map is created from `spec.innerMap` and closed once the outer map exists.
 */
export function createMap(spec: MapSpec, options: CreateMapOptions = {}): KernelMapOps {
  const sys = getSys(options.sys);
  let inner: KernelMapOps | undefined;
  try {
    if (options.innerMapFd === undefined && spec.innerMap) inner = createMap(spec.innerMap, { sys });
    const { result: fd } = bpfCall(sys, 'MAP_CREATE', {
      map_type: MapType[spec.type],
      key_size: spec.keySize,
      value_size: spec.valueSize,
      max_entries: spec.maxEntries,
      map_flags: spec.flags ?? 0,
      inner_map_fd: options.innerMapFd ?? inner?.fd ?? 0,
      numa_node: spec.numaNode ?? 0,
      map_name: sanitizeName(spec.name),
      map_ifindex: options.ifindex ?? 0,
      btf_fd: options.btfFd ?? 0,
      btf_key_type_id: spec.btfKeyTypeId ?? 0,
      btf_value_type_id: spec.btfValueTypeId ?? 0,
      btf_vmlinux_value_type_id: options.btfVmlinuxValueTypeId ?? 0,
      map_extra: spec.mapExtra ?? 0n,
    });
    return new KernelMapOps(fd, spec, { sys, possibleCpus: options.possibleCpus });
  } catch (error) {
    if (error instanceof SyscallError) {
      throw new MapError(spec.name, `create ${spec.type}`, error.errno, error.hint, { cause: error });
    }
    throw error;
  } finally {
    inner?.close();
  }
}

/** A {@link MapSpec} describing an existing map, from its info. */
function specFromInfo(info: MapInfo, fallbackName: string): MapSpec {
  if (!info.typeName) throw new TsbpfError(`map ${info.id}: unknown map type ${info.type}`);
  return {
    name: info.name || fallbackName,
    type: info.typeName,
    keySize: info.keySize,
    valueSize: info.valueSize,
    maxEntries: info.maxEntries,
    flags: info.flags,
    mapExtra: info.mapExtra,
    ...(info.btfKeyTypeId ? { btfKeyTypeId: info.btfKeyTypeId } : {}),
    ...(info.btfValueTypeId ? { btfValueTypeId: info.btfValueTypeId } : {}),
  };
}

function adopt(fd: number, fallbackName: string, sys: Sys, cpus?: number): KernelMapOps {
  try {
    return new KernelMapOps(fd, specFromInfo(mapInfo(fd, sys), fallbackName), { sys, possibleCpus: cpus });
  } catch (error) {
    sys.close(fd);
    throw error;
  }
}

/** Open the map pinned at `path` (`BPF_OBJ_GET`); its spec comes from the kernel's info. */
export function openPinnedMap(
  path: string,
  options: { flags?: number; sys?: Sys; possibleCpus?: number } = {},
): KernelMapOps {
  const sys = getSys(options.sys);
  let fd: number;
  try {
    fd = getPinnedObject(path, { flags: options.flags, sys });
  } catch (error) {
    if (error instanceof SyscallError) {
      throw new MapError(basename(path), `open pinned ${path}`, error.errno, error.hint, { cause: error });
    }
    throw error;
  }
  return adopt(fd, basename(path), sys, options.possibleCpus);
}

/** Open a map by its kernel id (`BPF_MAP_GET_FD_BY_ID`; needs CAP_SYS_ADMIN). */
export function mapFromId(
  id: number,
  options: { flags?: number; sys?: Sys; possibleCpus?: number } = {},
): KernelMapOps {
  const sys = getSys(options.sys);
  let fd: number;
  try {
    fd = fdFromId('map', id, { flags: options.flags, sys });
  } catch (error) {
    if (error instanceof SyscallError) {
      throw new MapError(`id ${id}`, 'open by id', error.errno, error.hint, { cause: error });
    }
    throw error;
  }
  return adopt(fd, `map_${id}`, sys, options.possibleCpus);
}
