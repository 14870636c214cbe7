/**
 * `BPF_MAP_TYPE_STACK_TRACE` (since 4.6): stack ids → the return addresses `bpf_get_stackid`
 * recorded (`kernel/bpf/stackmap.c`). A stack's id is `jhash2` of its addresses, masked to the
 * power-of-two bucket count, so the same stack always gets the same id.
 *
 * Kernel rules (Linux 6.18): `key_size` 4; `value_size` a non-zero multiple of 8 (of 32 with
 * `BPF_F_STACK_BUILD_ID`) holding at most 127 frames (EINVAL); user space may look up (ENOENT for
 * an empty bucket; the value is the addresses, zero-padded), delete and iterate, but not update
 * (EINVAL); programs may not look up, update or delete (the verifier refuses).
 */
import { Errno } from '../../errno.js';
import type { MapSpec } from '../../maps/ops.js';
import type { VmMemory } from '../memory.js';
import { indexKey, indexOf } from './array.js';
import { VmMap, type VmMapOptions } from './base.js';

/** `BPF_F_STACK_BUILD_ID`: values are `struct bpf_stack_build_id` records. */
export const STACK_BUILD_ID = 1 << 5;

/** `jhash2(k, length, initval)` of `include/linux/jhash.h` over 32-bit words. */
export function jhash2(words: Uint32Array, initval: number): number {
  const rol = (x: number, k: number) => (x << k) | (x >>> (32 - k));
  let a = (0xdeadbeef + (words.length << 2) + initval) | 0;
  let b = a;
  let c = a;
  let i = 0;
  let length = words.length;
  while (length > 3) {
    a = (a + words[i]) | 0;
    b = (b + words[i + 1]) | 0;
    c = (c + words[i + 2]) | 0;
    // __jhash_mix
    a = (a - c) | 0;
    a ^= rol(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rol(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rol(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rol(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rol(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rol(b, 4);
    b = (b + a) | 0;
    length -= 3;
    i += 3;
  }
  if (length === 0) return c >>> 0;
  if (length >= 3) c = (c + words[i + 2]) | 0;
  if (length >= 2) b = (b + words[i + 1]) | 0;
  a = (a + words[i]) | 0;
  // __jhash_final
  c ^= b;
  c = (c - rol(b, 14)) | 0;
  a ^= c;
  a = (a - rol(c, 11)) | 0;
  b ^= a;
  b = (b - rol(a, 25)) | 0;
  c ^= b;
  c = (c - rol(b, 16)) | 0;
  a ^= c;
  a = (a - rol(c, 4)) | 0;
  b ^= a;
  b = (b - rol(a, 14)) | 0;
  c ^= b;
  c = (c - rol(b, 24)) | 0;
  return c >>> 0;
}

/** The stack buckets of a STACK_TRACE map. */
export class StackTraceMap extends VmMap {
  /** Bucket count: max_entries rounded up to a power of two. */
  readonly buckets: number;
  private readonly stacks = new Map<number, readonly bigint[]>();

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.buckets = 2 ** Math.ceil(Math.log2(Math.max(spec.maxEntries, 1)));
  }

  /**
   * `bpf_get_stackid`'s bucket step: the id of `ips` (innermost first), or -EEXIST when its
   * bucket holds another stack and `reuse` (BPF_F_REUSE_STACKID) is not set.
   */
  record(ips: readonly bigint[], reuse: boolean): number {
    const words = new Uint32Array(ips.length * 2);
    for (const [i, ip] of ips.entries()) {
      words[2 * i] = Number(ip & 0xffffffffn);
      words[2 * i + 1] = Number((ip >> 32n) & 0xffffffffn);
    }
    const id = jhash2(words, 0) & (this.buckets - 1);
    const old = this.stacks.get(id);
    if (old && old.length === ips.length && old.every((ip, i) => ip === ips[i])) return id;
    if (old && !reuse) return -Errno.EEXIST;
    this.stacks.set(id, ips.slice(0, this.spec.valueSize / 8));
    return id;
  }

  protected userLookup(key: Uint8Array | null): Uint8Array | undefined {
    const stack = this.stacks.get(indexOf(key));
    if (!stack) return undefined;
    const value = new Uint8Array(this.spec.valueSize);
    const view = new DataView(value.buffer);
    for (const [i, ip] of stack.entries()) view.setBigUint64(8 * i, ip, true);
    return value;
  }

  protected userUpdate(): void {
    throw this.error('update', Errno.EINVAL, 'stack traces are written by bpf_get_stackid only');
  }

  protected userDelete(key: Uint8Array | null): void {
    if (!this.stacks.delete(indexOf(key))) throw this.error('delete', Errno.ENOENT);
  }

  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const ids = [...this.stacks.keys()].sort((x, y) => x - y);
    // An unknown key starts over from the first stack, as the kernel's get_next_key does.
    const after = key === undefined || !this.stacks.has(indexOf(key)) ? -1 : indexOf(key);
    const next = ids.find((id) => id > after);
    return next === undefined ? undefined : indexKey(next);
  }

  protected release(): void {
    this.stacks.clear();
  }

  lookupAddress(): number {
    return 0;
  }

  updateFromProgram(): number {
    return -Errno.EINVAL;
  }

  deleteFromProgram(): number {
    return -Errno.EINVAL;
  }
}
