/**
 * `BPF_MAP_TYPE_QUEUE` (FIFO) and `BPF_MAP_TYPE_STACK` (LIFO) (`kernel/bpf/queue_stack_maps.c`).
 *
 * Programs only ever copy values in and out of these maps (push, pop, peek take a buffer), never
 * hold pointers into them, so the ring of values is kept in a plain byte array rather than VM
 * memory.
 *
 * Kernel behaviour (checked on Linux 6.18): key_size must be 0 and `BPF_F_NO_PREALLOC` is
 * EINVAL; push into a full map is E2BIG unless `BPF_EXIST`, which drops the oldest element (the
 * queue's head, the stack's bottom); `BPF_NOEXIST` or unknown flags are EINVAL; pop and peek of an
 * empty map are ENOENT; delete and get-next-key are EINVAL. User space peeks with a lookup and
 * pops with lookup-and-delete.
 */
import { Errno } from '../../errno.js';
import { type MapSpec, UpdateFlags } from '../../maps/ops.js';
import type { VmMemory } from '../memory.js';
import { negative, VmMap, type VmMapOptions } from './base.js';

/** QUEUE and STACK. */
export class QueueStackMap extends VmMap {
  readonly lifo: boolean;
  private readonly ring: Uint8Array;
  /** Index of the oldest element. */
  private head = 0;
  private count = 0;

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.lifo = spec.type === 'STACK';
    this.ring = new Uint8Array(spec.valueSize * spec.maxEntries);
  }

  /** Elements in the map. */
  get size(): number {
    return this.count;
  }

  protected userLookup(): Uint8Array | undefined {
    return this.next(false);
  }

  protected userUpdate(_key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const errno = this.push(value, flags);
    if (errno) throw this.error('push', errno);
  }

  protected userDelete(): void {
    throw this.error('delete', Errno.EINVAL, `${this.spec.type} elements are popped, not deleted`);
  }

  protected userNextKey(): Uint8Array | undefined {
    throw this.error('next key', Errno.EINVAL, `${this.spec.type} maps have no keys`);
  }

  protected override userLookupAndDelete(): Uint8Array | undefined {
    return this.next(true);
  }

  protected release(): void {
    this.count = 0;
  }

  lookupAddress(): number {
    // The kernel's lookup of a queue or stack yields NULL (the verifier forbids it).
    return 0;
  }

  updateFromProgram(): number {
    return -Errno.EINVAL;
  }

  deleteFromProgram(): number {
    return -Errno.EINVAL;
  }

  override pushFromProgram(valueAddress: number, flags: number): number {
    return negative(this.push(this.readProgram(valueAddress, this.spec.valueSize, 'value'), flags));
  }

  override popFromProgram(valueAddress: number): number {
    return this.copyOut(valueAddress, true);
  }

  override peekFromProgram(valueAddress: number): number {
    return this.copyOut(valueAddress, false);
  }

  private copyOut(valueAddress: number, remove: boolean): number {
    this.checkProgramPointer(valueAddress, this.spec.valueSize, 'value', true);
    const value = this.next(remove);
    if (!value) return -Errno.ENOENT;
    this.write(valueAddress, value);
    return 0;
  }

  /** `queue_stack_map_push_elem`: 0 or an errno. */
  private push(value: Uint8Array, flags: number): number {
    if (flags & UpdateFlags.NOEXIST || flags > UpdateFlags.EXIST) return Errno.EINVAL;
    const max = this.spec.maxEntries;
    if (this.count === max) {
      if (!(flags & UpdateFlags.EXIST)) return Errno.E2BIG;
      // Full with BPF_EXIST: forget the oldest element, for a stack too.
      this.head = (this.head + 1) % max;
      this.count--;
    }
    this.ring.set(value, ((this.head + this.count) % max) * this.spec.valueSize);
    this.count++;
    return 0;
  }

  /** The element a pop would return (the oldest for a queue, the newest for a stack). */
  private next(remove: boolean): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const max = this.spec.maxEntries;
    const index = this.lifo ? (this.head + this.count - 1) % max : this.head;
    const size = this.spec.valueSize;
    const value = this.ring.slice(index * size, index * size + size);
    if (remove) {
      if (!this.lifo) this.head = (this.head + 1) % max;
      this.count--;
    }
    return value;
  }
}
