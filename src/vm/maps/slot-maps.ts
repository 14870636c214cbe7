/**
 * Arrays of kernel objects the VM has none of: `BPF_MAP_TYPE_CGROUP_ARRAY` (cgroups, for
 * `bpf_current_task_under_cgroup`; since 4.8) and `BPF_MAP_TYPE_XSKMAP` (AF_XDP sockets, for
 * `bpf_redirect_map`; since 4.18). User space writes a file descriptor into a slot; the VM has no
 * file descriptors, so the 4-byte value stands for the object: a cgroup id for CGROUP_ARRAY (the
 * VM's task is under it when its `cgroupId` is equal, or the value is 1, the root), a socket
 * number for XSKMAP. Slots start empty, and a program's lookup of an empty slot is NULL.
 *
 * Kernel behaviour (checked on Linux 6.18 with the same calls as `slot-maps.test.ts`):
 *
 * | | CGROUP_ARRAY | XSKMAP |
 * |---|---|---|
 * | lookup from user space | ENOTSUPP | EOPNOTSUPP |
 * | update flags | only BPF_ANY (EINVAL) | ANY, NOEXIST (EEXIST), EXIST (ENOENT) |
 * | update index ≥ max_entries | E2BIG | E2BIG |
 * | a value that is no such object (here 0) | EBADF | ENOTSOCK |
 * | delete of an empty slot | ENOENT | 0 |
 * | delete index ≥ max_entries | E2BIG | EINVAL |
 */
import { Errno } from '../../errno.js';
import { type MapSpec, UpdateFlags } from '../../maps/ops.js';
import type { Region, VmMemory } from '../memory.js';
import { indexOf, nextIndex } from './array.js';
import { ENOTSUPP, VmMap, type VmMapOptions } from './base.js';

/** How one slot-array type answers where the two differ (the table above). */
interface SlotRules {
  readonly lookup: number;
  readonly anyFlagsOnly: boolean;
  readonly badValue: number;
  readonly deleteEmpty: number | undefined;
  readonly deleteOutOfRange: number;
}

const RULES: Readonly<Record<'CGROUP_ARRAY' | 'XSKMAP', SlotRules>> = {
  CGROUP_ARRAY: {
    lookup: ENOTSUPP,
    anyFlagsOnly: true,
    badValue: Errno.EBADF,
    deleteEmpty: Errno.ENOENT,
    deleteOutOfRange: Errno.E2BIG,
  },
  XSKMAP: {
    lookup: Errno.EOPNOTSUPP,
    anyFlagsOnly: false,
    badValue: Errno.ENOTSOCK,
    deleteEmpty: undefined,
    deleteOutOfRange: Errno.EINVAL,
  },
};

/** CGROUP_ARRAY and XSKMAP: an array of optional object stand-ins. */
export class SlotArrayMap extends VmMap {
  private readonly rules: SlotRules;
  /** The values user space stored; 0 is an empty slot. */
  private readonly slots: Uint32Array;
  /** What a program's lookup of a filled slot points at: 8 read-only bytes per slot holding the value. */
  private readonly objects: Region;

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    if (spec.type !== 'CGROUP_ARRAY' && spec.type !== 'XSKMAP')
      throw new Error(`SlotArrayMap cannot hold a ${spec.type}`);
    this.rules = RULES[spec.type];
    this.slots = new Uint32Array(spec.maxEntries);
    this.objects = memory.alloc(8 * spec.maxEntries, { name: `map '${spec.name}' objects`, writable: false });
  }

  /** The value in slot `index`, or undefined when it is empty or out of range. */
  valueAt(index: number): number | undefined {
    return index < this.slots.length && this.slots[index] ? this.slots[index] : undefined;
  }

  protected userLookup(): Uint8Array | undefined {
    throw this.error('lookup', this.rules.lookup);
  }

  protected userUpdate(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const index = indexOf(key);
    if (this.rules.anyFlagsOnly ? flags !== UpdateFlags.ANY : flags > UpdateFlags.EXIST)
      throw this.error('update', Errno.EINVAL, `flags ${flags}`);
    if (index >= this.slots.length) throw this.error('update', Errno.E2BIG);
    const stored = indexOf(value);
    if (stored === 0) throw this.error('update', this.rules.badValue, 'value 0 names no object');
    if (flags === UpdateFlags.NOEXIST && this.slots[index]) throw this.error('update', Errno.EEXIST);
    if (flags === UpdateFlags.EXIST && !this.slots[index]) throw this.error('update', Errno.ENOENT);
    this.slots[index] = stored;
    new DataView(this.memory.bytes.buffer).setUint32(this.objects.start + index * 8, stored, true);
  }

  protected userDelete(key: Uint8Array | null): void {
    const index = indexOf(key);
    if (index >= this.slots.length) throw this.error('delete', this.rules.deleteOutOfRange);
    if (!this.slots[index] && this.rules.deleteEmpty) throw this.error('delete', this.rules.deleteEmpty);
    this.slots[index] = 0;
  }

  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndex(key, this.spec.maxEntries);
  }

  protected release(): void {
    this.slots.fill(0);
  }

  lookupAddress(keyAddress: number): number {
    const index = indexOf(this.readProgram(keyAddress, 4, 'key'));
    return this.valueAt(index) === undefined ? 0 : this.objects.start + index * 8;
  }

  updateFromProgram(): number {
    return -Errno.EINVAL;
  }

  deleteFromProgram(): number {
    return -Errno.EINVAL;
  }
}
