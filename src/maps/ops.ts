/**
 * The contract between a map's user-facing API ({@link BpfMap}) and a backend that stores it:
 * the userspace VM's maps or a kernel map behind a file descriptor. Byte keys and values in,
 * byte values out; failures are {@link MapError}s carrying the errno the kernel would return.
 */

import { Errno, type ErrnoName, errnoName } from '../errno.js';
import { TsbpfError } from '../errors.js';
import type { MapTypeName } from '../uapi.js';

/** `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`: flags of a map update. */
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2, F_LOCK: 4 } as const;

/** Map creation flags (`BPF_F_*` of `map_flags`). */
export const MapFlags = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
  LINK: 1 << 13,
  PATH_FD: 1 << 14,
  VTYPE_BTF_OBJ_FD: 1 << 15,
  TOKEN_FD: 1 << 16,
  SEGV_ON_FAULT: 1 << 17,
  NO_USER_CONV: 1 << 18,
} as const;

/** What a map is: the attributes `BPF_MAP_CREATE` takes. */
export interface MapSpec {
  readonly name: string;
  readonly type: MapTypeName;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags?: number;
  /** Bloom filter hash count, arena address… (`map_extra`). */
  readonly mapExtra?: bigint;
  readonly numaNode?: number;
  /** `LIBBPF_PIN_BY_NAME` in a BTF map definition. */
  readonly pinning?: 'none' | 'by_name';
  /** The inner map of an ARRAY_OF_MAPS / HASH_OF_MAPS. */
  readonly innerMap?: MapSpec;
  /** BTF type ids of the key and value in the object's BTF, when known. */
  readonly btfKeyTypeId?: number;
  readonly btfValueTypeId?: number;
}

/** A map operation failed the way the kernel fails it (`-ENOENT`, `-EEXIST`, `-E2BIG`, …). */
export class MapError extends TsbpfError {
  override name = 'MapError';
  readonly errno: number;
  readonly code: string;
  readonly map: string;
  readonly operation: string;
  constructor(map: string, operation: string, errno: number, detail?: string, options?: { cause?: unknown }) {
    const code = errnoName(errno);
    super(`map '${map}': ${operation}: ${code}${detail ? ` (${detail})` : ''}`, options);
    this.errno = Math.abs(errno);
    this.code = code;
    this.map = map;
    this.operation = operation;
  }

  /** Whether this is the given errno. */
  is(name: ErrnoName): boolean {
    return this.errno === Errno[name];
  }
}

/**
 * The byte-level operations of one map. Per-CPU maps take and return `possibleCpus` values, each
 * padded to a multiple of 8 bytes, concatenated — the layout the `bpf()` syscall uses.
 */
export interface MapOps {
  readonly spec: MapSpec;
  /** Value slots of a per-CPU map's lookups and updates; 1 for other maps. */
  readonly possibleCpus: number;
  /** The value of `key` (`null` for keyless maps: queue, stack, bloom filter peek), or undefined. */
  lookup(key: Uint8Array | null): Uint8Array | undefined;
  /** Create or replace an element; `flags` are {@link UpdateFlags}. */
  update(key: Uint8Array | null, value: Uint8Array, flags: number): void;
  /** Delete an element; throws ENOENT if there is none (EINVAL for keyless maps). */
  delete(key: Uint8Array | null): void;
  /** The key after `key` (the first key for undefined), or undefined at the end. */
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined;
  /** Look up and delete (pop for queue/stack with a `null` key). */
  lookupAndDelete(key: Uint8Array | null): Uint8Array | undefined;
  /** Make the map read-only for user space (`BPF_MAP_FREEZE`). */
  freeze(): void;
  /** Release the backend's resources (a kernel fd). */
  close(): void;
}

/** Bytes of one per-CPU value slot: the value size rounded up to 8. */
export function perCpuSlotSize(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}

/** Whether a map type keeps one value per CPU. */
export function isPerCpu(type: MapTypeName): boolean {
  return (
    type === 'PERCPU_ARRAY' ||
    type === 'PERCPU_HASH' ||
    type === 'LRU_PERCPU_HASH' ||
    type === 'PERCPU_CGROUP_STORAGE'
  );
}

/** Map types whose elements have no key (`key_size` must be 0). */
export function isKeyless(type: MapTypeName): boolean {
  return (
    type === 'QUEUE' ||
    type === 'STACK' ||
    type === 'BLOOM_FILTER' ||
    type === 'RINGBUF' ||
    type === 'USER_RINGBUF'
  );
}
