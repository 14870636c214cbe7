/**
 * Map creation: one table row per map type the VM implements, with the attribute rules the
 * kernel's `map_alloc_check` for that type enforces (Linux 6.18), then the constructor.
 */
import { Errno } from '../../errno.js';
import { MapError, MapFlags, type MapSpec } from '../../maps/ops.js';
import type { MapTypeName } from '../../uapi.js';
import type { VmMemory } from '../memory.js';
import { ArrayMap } from './array.js';
import { ACCESS_MASK, ENOTSUPP, round8, type VmMap, type VmMapOptions } from './base.js';
import { BloomFilterMap } from './bloom-filter.js';
import { FdArrayMap, HashOfMapsMap } from './fd-maps.js';
import { HashMap } from './hash.js';
import { LpmTrieMap } from './lpm-trie.js';
import { PerfEventArrayMap } from './perf-event-array.js';
import { QueueStackMap } from './queue-stack.js';
import { RingBufMap } from './ringbuf.js';
import { SlotArrayMap } from './slot-maps.js';
import { STACK_BUILD_ID, StackTraceMap } from './stack-trace.js';

/** Inclusive bounds of a size attribute. */
type Bounds = readonly [min: number, max: number];

/** How the kernel checks one map type's attributes, and how the VM builds it. */
interface TypeRule {
  readonly create: new (memory: VmMemory, spec: MapSpec, options: VmMapOptions) => VmMap;
  /** Allowed `key_size` (EINVAL outside). */
  readonly key: Bounds;
  /** Allowed `value_size` (EINVAL below, E2BIG above). */
  readonly value: Bounds;
  /** `map_flags` bits the type accepts (EINVAL for others). */
  readonly flags: number;
  /** Bits it requires (EINVAL without). */
  readonly required?: number;
  /** Further checks: an errno and why, or undefined. */
  readonly check?: (spec: MapSpec) => readonly [number, string] | undefined;
}

/** `KMALLOC_MAX_SIZE` on x86-64: the largest value most map types accept. */
const KMALLOC_MAX_SIZE = 4 << 20;
/** `PCPU_MIN_UNIT_SIZE`: the largest per-CPU value. */
const PCPU_MIN_UNIT_SIZE = 32 << 10;
/** `MAX_BPF_STACK`, subtracted from hash value limits so keys fit on the stack. */
const MAX_BPF_STACK = 512;
const ANY_SIZE = 2 ** 31 - 1;

const ARRAY_FLAGS = MapFlags.NUMA_NODE | MapFlags.MMAPABLE | ACCESS_MASK | MapFlags.INNER_MAP;
const HASH_FLAGS =
  MapFlags.NO_PREALLOC | MapFlags.NO_COMMON_LRU | MapFlags.NUMA_NODE | ACCESS_MASK | MapFlags.ZERO_SEED;

const perCpuValue = (spec: MapSpec): readonly [number, string] | undefined =>
  round8(spec.valueSize) > PCPU_MIN_UNIT_SIZE
    ? [Errno.E2BIG, `per-CPU value over ${PCPU_MIN_UNIT_SIZE} bytes`]
    : undefined;

const hashCheck = (spec: MapSpec): readonly [number, string] | undefined => {
  const flags = spec.flags ?? 0;
  const lru = spec.type === 'LRU_HASH' || spec.type === 'LRU_PERCPU_HASH';
  if (lru && flags & MapFlags.NO_PREALLOC) return [ENOTSUPP, 'LRU maps are always preallocated'];
  if (!lru && flags & MapFlags.NO_COMMON_LRU) return [Errno.EINVAL, 'BPF_F_NO_COMMON_LRU is for LRU maps'];
  if (spec.maxEntries > 2 ** 31) return [Errno.E2BIG, 'too many buckets'];
  return spec.type.includes('PERCPU') ? perCpuValue(spec) : undefined;
};

const innerCheck = (spec: MapSpec): readonly [number, string] | undefined => {
  if (!spec.innerMap) return [Errno.EINVAL, 'a map-in-map needs an inner map template'];
  const inner = spec.innerMap.type;
  if (inner === 'ARRAY_OF_MAPS' || inner === 'HASH_OF_MAPS' || inner === 'PROG_ARRAY')
    return [Errno.EINVAL, `inner maps cannot be ${inner}`];
  return undefined;
};

/** RINGBUF: `max_entries` a power of 2 and a multiple of the 4 KiB page (Linux 6.18: EINVAL). */
const ringbufCheck = (spec: MapSpec): readonly [number, string] | undefined =>
  spec.maxEntries % 4096 !== 0 || (spec.maxEntries & (spec.maxEntries - 1)) !== 0
    ? [Errno.EINVAL, `ring size ${spec.maxEntries} is not a power-of-2 multiple of 4096`]
    : undefined;

/** Redirect maps take only these value sizes; anything else is EINVAL (not E2BIG) in Linux 6.18. */
const valueSizes =
  (...sizes: number[]) =>
  (spec: MapSpec): readonly [number, string] | undefined =>
    sizes.includes(spec.valueSize)
      ? undefined
      : [Errno.EINVAL, `value_size ${spec.valueSize} (must be ${sizes.join(' or ')})`];

/** Flags the kernel accepts on DEVMAP, DEVMAP_HASH, CPUMAP and XSKMAP. */
const REDIRECT_FLAGS = MapFlags.NUMA_NODE | MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG;

/** The map types the VM implements, and the kernel's rules for each. */
export const VM_MAP_TYPES: Readonly<Partial<Record<MapTypeName, TypeRule>>> = {
  ARRAY: { create: ArrayMap, key: [4, 4], value: [1, ANY_SIZE], flags: ARRAY_FLAGS },
  PERCPU_ARRAY: {
    create: ArrayMap,
    key: [4, 4],
    value: [1, ANY_SIZE],
    flags: ARRAY_FLAGS & ~MapFlags.MMAPABLE,
    check: perCpuValue,
  },
  HASH: {
    create: HashMap,
    key: [1, ANY_SIZE],
    value: [1, KMALLOC_MAX_SIZE - MAX_BPF_STACK - 1],
    flags: HASH_FLAGS,
    check: hashCheck,
  },
  PERCPU_HASH: {
    create: HashMap,
    key: [1, ANY_SIZE],
    value: [1, ANY_SIZE],
    flags: HASH_FLAGS,
    check: hashCheck,
  },
  LRU_HASH: {
    create: HashMap,
    key: [1, ANY_SIZE],
    value: [1, KMALLOC_MAX_SIZE - MAX_BPF_STACK - 1],
    flags: HASH_FLAGS,
    check: hashCheck,
  },
  LRU_PERCPU_HASH: {
    create: HashMap,
    key: [1, ANY_SIZE],
    value: [1, ANY_SIZE],
    flags: HASH_FLAGS,
    check: hashCheck,
  },
  LPM_TRIE: {
    create: LpmTrieMap,
    key: [4 + 1, 4 + 256],
    value: [1, KMALLOC_MAX_SIZE - MAX_BPF_STACK - 64],
    flags: MapFlags.NO_PREALLOC | MapFlags.NUMA_NODE | ACCESS_MASK,
    required: MapFlags.NO_PREALLOC,
  },
  QUEUE: {
    create: QueueStackMap,
    key: [0, 0],
    value: [1, KMALLOC_MAX_SIZE],
    flags: MapFlags.NUMA_NODE | ACCESS_MASK,
  },
  STACK: {
    create: QueueStackMap,
    key: [0, 0],
    value: [1, KMALLOC_MAX_SIZE],
    flags: MapFlags.NUMA_NODE | ACCESS_MASK,
  },
  BLOOM_FILTER: {
    create: BloomFilterMap,
    key: [0, 0],
    value: [1, KMALLOC_MAX_SIZE],
    flags: MapFlags.NUMA_NODE | MapFlags.ZERO_SEED | ACCESS_MASK,
    check: (spec) =>
      (spec.mapExtra ?? 0n) & ~0xfn ? [Errno.EINVAL, 'map_extra above the hash count bits'] : undefined,
  },
  PROG_ARRAY: { create: FdArrayMap, key: [4, 4], value: [4, 4], flags: ARRAY_FLAGS & ~MapFlags.MMAPABLE },
  ARRAY_OF_MAPS: {
    create: FdArrayMap,
    key: [4, 4],
    value: [4, 4],
    flags: ARRAY_FLAGS & ~MapFlags.MMAPABLE,
    check: innerCheck,
  },
  HASH_OF_MAPS: {
    create: HashOfMapsMap,
    key: [1, ANY_SIZE],
    value: [4, 4],
    flags: HASH_FLAGS & ~MapFlags.NO_COMMON_LRU,
    check: innerCheck,
  },
  // Redirect targets: the VM has no devices or CPUs to send to, so these hold their values (ifindex,
  // queue size, socket id) for `bpf_redirect_map`, which records the target in the test run.
  DEVMAP: {
    create: ArrayMap,
    key: [4, 4],
    value: [1, ANY_SIZE],
    flags: REDIRECT_FLAGS,
    check: valueSizes(4, 8),
  },
  DEVMAP_HASH: {
    create: HashMap,
    key: [4, 4],
    value: [1, ANY_SIZE],
    flags: REDIRECT_FLAGS,
    check: valueSizes(4, 8),
  },
  CPUMAP: {
    create: ArrayMap,
    key: [4, 4],
    value: [1, ANY_SIZE],
    flags: REDIRECT_FLAGS,
    check: valueSizes(4, 8),
  },
  XSKMAP: {
    create: SlotArrayMap,
    key: [4, 4],
    value: [1, ANY_SIZE],
    flags: REDIRECT_FLAGS,
    check: valueSizes(4),
  },
  CGROUP_ARRAY: {
    create: SlotArrayMap,
    key: [4, 4],
    value: [4, 4],
    flags: ARRAY_FLAGS & ~MapFlags.MMAPABLE,
  },
  STACK_TRACE: {
    create: StackTraceMap,
    key: [4, 4],
    value: [8, ANY_SIZE],
    flags: MapFlags.NUMA_NODE | MapFlags.RDONLY | MapFlags.WRONLY | STACK_BUILD_ID,
    check: (spec) => {
      const record = (spec.flags ?? 0) & STACK_BUILD_ID ? 32 : 8;
      if (spec.valueSize % record !== 0 || spec.valueSize / record > 127)
        return [Errno.EINVAL, `value_size ${spec.valueSize} (1-127 records of ${record} bytes)`];
      return spec.maxEntries > 2 ** 31 ? [Errno.E2BIG, 'too many buckets'] : undefined;
    },
  },
  RINGBUF: { create: RingBufMap, key: [0, 0], value: [0, 0], flags: MapFlags.NUMA_NODE, check: ringbufCheck },
  PERF_EVENT_ARRAY: {
    create: PerfEventArrayMap,
    key: [4, 4],
    value: [4, 4],
    flags:
      MapFlags.NUMA_NODE | MapFlags.RDONLY | MapFlags.WRONLY | MapFlags.PRESERVE_ELEMS | MapFlags.INNER_MAP,
  },
};

/** Default number of simulated CPUs. */
export const DEFAULT_CPUS = 2;

/**
 * Create a VM map for `spec`, checking its attributes as `BPF_MAP_CREATE` does: a
 * {@link MapError} with the kernel's errno when they are invalid, EOPNOTSUPP for a type the VM
 * does not implement, ENOMEM when its storage would not fit the VM.
 */
export function createVmMap(memory: VmMemory, spec: MapSpec, options: Partial<VmMapOptions> = {}): VmMap {
  const fail = (errno: number, detail: string): MapError => new MapError(spec.name, 'create', errno, detail);
  const rule = VM_MAP_TYPES[spec.type];
  if (!rule) throw fail(Errno.EOPNOTSUPP, `map type ${spec.type} is not implemented by the VM`);
  const cpus = options.cpus ?? DEFAULT_CPUS;
  if (!Number.isInteger(cpus) || cpus < 1) throw fail(Errno.EINVAL, `${cpus} CPUs`);
  const flags = spec.flags ?? 0;
  if (!Number.isInteger(spec.maxEntries) || spec.maxEntries < 1 || spec.maxEntries > 2 ** 32 - 1)
    throw fail(Errno.EINVAL, `max_entries ${spec.maxEntries}`);
  if (spec.keySize < rule.key[0] || spec.keySize > rule.key[1])
    throw fail(Errno.EINVAL, `key_size ${spec.keySize} (${spec.type} takes ${rule.key[0]}-${rule.key[1]})`);
  if (spec.valueSize < rule.value[0]) throw fail(Errno.EINVAL, `value_size ${spec.valueSize}`);
  // A fixed size (an id, an index) is EINVAL when wrong; a variable one is E2BIG when too large.
  if (spec.valueSize > rule.value[1])
    throw fail(rule.value[0] === rule.value[1] ? Errno.EINVAL : Errno.E2BIG, `value_size ${spec.valueSize}`);
  if (flags & ~rule.flags) throw fail(Errno.EINVAL, `map_flags 0x${flags.toString(16)}`);
  if (rule.required && (flags & rule.required) !== rule.required)
    throw fail(Errno.EINVAL, `${spec.type} needs map_flags 0x${rule.required.toString(16)}`);
  if (
    (flags & MapFlags.RDONLY && flags & MapFlags.WRONLY) ||
    (flags & MapFlags.RDONLY_PROG && flags & MapFlags.WRONLY_PROG)
  )
    throw fail(Errno.EINVAL, 'both read-only and write-only');
  if (spec.type !== 'BLOOM_FILTER' && (spec.mapExtra ?? 0n) !== 0n)
    throw fail(Errno.EINVAL, 'map_extra is for bloom filters and arenas');
  const problem = rule.check?.(spec);
  if (problem) throw fail(problem[0], problem[1]);
  return new rule.create(memory, spec, { cpus, objects: options.objects });
}
