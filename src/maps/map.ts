/**
 * The one user-facing map API, the same over the userspace VM and the kernel: `get`, `set`,
 * `delete`, `has`, iteration, batches, queue/stack operations, with keys and values as bytes or
 * through codecs.
 */
import { bytesCodec, type Codec, perCpu } from './codec.js';
import { isKeyless, isPerCpu, MapError, type MapOps, type MapSpec, UpdateFlags } from './ops.js';

/** How `set` treats an existing or missing element. */
export type UpdateMode = 'any' | 'noexist' | 'exist';

const updateFlag: Readonly<Record<UpdateMode, number>> = {
  any: UpdateFlags.ANY,
  noexist: UpdateFlags.NOEXIST,
  exist: UpdateFlags.EXIST,
};

export interface SetOptions {
  /** `any` (default) creates or replaces; `noexist` only creates; `exist` only replaces. */
  readonly mode?: UpdateMode;
  /** Take the value's `bpf_spin_lock` while updating (BPF_F_LOCK). */
  readonly lock?: boolean;
}

/**
 * A map, typed by its key and value codecs. Per-CPU maps have array values (one per CPU)
 * unless given a value codec of their own.
 */
export class BpfMap<K = Uint8Array, V = Uint8Array> {
  readonly ops: MapOps;
  readonly key: Codec<K>;
  readonly value: Codec<V>;

  constructor(ops: MapOps, codecs: { key?: Codec<K>; value?: Codec<V> } = {}) {
    this.ops = ops;
    this.key = codecs.key ?? (bytesCodec(ops.spec.keySize) as unknown as Codec<K>);
    const raw = bytesCodec(ops.spec.valueSize);
    this.value =
      codecs.value ??
      ((isPerCpu(ops.spec.type) ? perCpu(raw, ops.possibleCpus) : raw) as unknown as Codec<V>);
  }

  get spec(): MapSpec {
    return this.ops.spec;
  }

  get name(): string {
    return this.ops.spec.name;
  }

  /** The value stored under `key`, or undefined. */
  get(key: K): V | undefined {
    const bytes = this.ops.lookup(this.encodeKey(key));
    return bytes === undefined ? undefined : this.value.decode(bytes);
  }

  /** Store `value` under `key`. Throws {@link MapError} (EEXIST, ENOENT, E2BIG…) as the kernel does. */
  set(key: K, value: V, options: SetOptions = {}): this {
    const flags = updateFlag[options.mode ?? 'any'] | (options.lock ? UpdateFlags.F_LOCK : 0);
    this.ops.update(this.encodeKey(key), this.value.encode(value), flags);
    return this;
  }

  /** Delete `key`; false if there was no such element. */
  delete(key: K): boolean {
    try {
      this.ops.delete(this.encodeKey(key));
      return true;
    } catch (error) {
      if (error instanceof MapError && error.is('ENOENT')) return false;
      throw error;
    }
  }

  has(key: K): boolean {
    return this.ops.lookup(this.encodeKey(key)) !== undefined;
  }

  /** Keys in the backend's iteration order (get-next-key order). */
  *keys(): IterableIterator<K> {
    let key: Uint8Array | undefined;
    // Bound the walk: a map being modified while iterated may restart from the first key.
    for (let seen = 0; seen <= this.ops.spec.maxEntries; seen++) {
      key = this.ops.nextKey(key);
      if (key === undefined) return;
      yield this.key.decode(key);
    }
  }

  /** `[key, value]` pairs; elements deleted during iteration are skipped. */
  *entries(): IterableIterator<[K, V]> {
    for (const key of this.keys()) {
      const value = this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Look up many keys at once (all keys when omitted); missing keys are left out. */
  lookupBatch(keys?: Iterable<K>): Array<[K, V]> {
    const out: Array<[K, V]> = [];
    for (const key of keys ?? this.keys()) {
      const value = this.get(key);
      if (value !== undefined) out.push([key, value]);
    }
    return out;
  }

  /** Delete many keys (all keys when omitted); returns how many were deleted. */
  deleteBatch(keys?: Iterable<K>): number {
    const list = [...(keys ?? this.keys())];
    let deleted = 0;
    for (const key of list) if (this.delete(key)) deleted++;
    return deleted;
  }

  /** Store many entries; stops at the first failure, which it throws. */
  updateBatch(entries: Iterable<readonly [K, V]>, options: SetOptions = {}): void {
    for (const [key, value] of entries) this.set(key, value, options);
  }

  /** Queue/stack: add a value (`BPF_EXIST` in `mode` replaces the oldest when full). */
  push(value: V, options: SetOptions = {}): void {
    this.ops.update(null, this.value.encode(value), updateFlag[options.mode ?? 'any']);
  }

  /** Queue/stack: remove and return the next value, or undefined when empty. */
  pop(): V | undefined {
    const bytes = this.ops.lookupAndDelete(null);
    return bytes === undefined ? undefined : this.value.decode(bytes);
  }

  /** Queue/stack: the next value without removing it. */
  peek(): V | undefined {
    const bytes = this.ops.lookup(null);
    return bytes === undefined ? undefined : this.value.decode(bytes);
  }

  /** Make the map read-only for user space. */
  freeze(): void {
    this.ops.freeze();
  }

  close(): void {
    this.ops.close();
  }

  private encodeKey(key: K): Uint8Array | null {
    return isKeyless(this.ops.spec.type) ? null : this.key.encode(key);
  }
}
