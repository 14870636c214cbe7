/**
 * `BPF_MAP_TYPE_LPM_TRIE` (`kernel/bpf/lpm_trie.c`): longest-prefix match.
 *
 * A key is `struct bpf_lpm_trie_key_u8 { __u32 prefixlen; __u8 data[]; }` (prefixlen in host
 * byte order, data in network order, most significant bit first); the largest prefix length is
 * `(key_size - 4) * 8`. Values live in VM memory slots, mapped as the trie fills.
 *
 * Kernel behaviour (checked on Linux 6.18):
 * - creation needs `BPF_F_NO_PREALLOC` and `5 ≤ key_size ≤ 4 + 256` (else EINVAL);
 * - lookup returns the value of the longest stored prefix that matches the key's first
 *   `prefixlen` bits (so a lookup key's own prefixlen caps the match; one above the maximum finds
 *   nothing, ENOENT);
 * - update and delete act on the exact prefix (bits beyond the prefix length are ignored when
 *   matching, but an update stores the key bytes it was given); a prefix length above the maximum
 *   is EINVAL; a new prefix in a full trie is ENOSPC; lookup-and-delete is ENOTSUPP;
 * - get-next-key walks the trie in post-order, 0-branch first: a more specific prefix comes before
 *   the prefix containing it (`10.1.0.0/16` before `10.0.0.0/8`, `/0` last); a missing key, or one
 *   with a prefix length above the maximum, restarts from the first.
 *
 * The trie is kept as one table per prefix length (lookup probes the stored lengths, longest
 * first) plus the elements sorted in next-key order; both are exact, and simpler than a trie.
 */
import { Errno } from '../../errno.js';
import { type MapSpec, UpdateFlags } from '../../maps/ops.js';
import { MemoryLimitError, type VmMemory } from '../memory.js';
import { type ForEachCallback, keyString, negative, round8, VmMap, type VmMapOptions } from './base.js';
import { SlotPool } from './storage.js';

/** Bytes of the `prefixlen` field in front of the data. */
const PREFIXLEN_SIZE = 4;

interface Prefix {
  /** The key as last stored (prefixlen + data, host bits included). */
  key: Uint8Array;
  readonly prefixlen: number;
  /** The first `prefixlen` bits of the data, the rest zero. */
  readonly masked: Uint8Array;
  readonly address: number;
}

/** LPM_TRIE. */
export class LpmTrieMap extends VmMap {
  /** The longest prefix length a key may have. */
  readonly maxPrefixlen: number;
  private readonly pool: SlotPool;
  private readonly byLength = new Map<number, Map<string, Prefix>>();
  /** Prefix lengths present, longest first. */
  private lengths: number[] = [];
  /** All prefixes in next-key (post-)order. */
  private readonly ordered: Prefix[] = [];

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.maxPrefixlen = (spec.keySize - PREFIXLEN_SIZE) * 8;
    this.pool = new SlotPool(memory, round8(spec.keySize) + round8(spec.valueSize), spec.maxEntries, {
      name: `map '${spec.name}'`,
      prealloc: false,
      writable: true,
    });
  }

  get size(): number {
    return this.ordered.length;
  }

  protected userLookup(key: Uint8Array | null): Uint8Array | undefined {
    const match = this.longestMatch(key!);
    return match && this.memory.read(this.valueAddress(match), this.spec.valueSize);
  }

  protected userUpdate(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const result = this.upsert(key!, flags);
    if (typeof result === 'number') throw this.error('update', result);
    this.write(this.valueAddress(result), value);
  }

  protected userDelete(key: Uint8Array | null): void {
    const errno = this.remove(key!);
    if (errno) throw this.error('delete', errno);
  }

  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const current = key && this.exact(key);
    const index = current ? this.insertionIndex(current) + 1 : 0;
    return this.ordered[index]?.key.slice();
  }

  protected release(): void {
    this.pool.dispose();
    this.byLength.clear();
    this.lengths = [];
    this.ordered.length = 0;
  }

  lookupAddress(keyAddress: number): number {
    const match = this.longestMatch(this.readProgram(keyAddress, this.spec.keySize, 'key'));
    return match ? this.valueAddress(match) : 0;
  }

  updateFromProgram(keyAddress: number, valueAddress: number, flags: number): number {
    const key = this.readProgram(keyAddress, this.spec.keySize, 'key');
    const value = this.readProgram(valueAddress, this.spec.valueSize, 'value');
    const result = this.upsert(key, flags);
    if (typeof result === 'number') return negative(result);
    this.write(this.valueAddress(result), value);
    return 0;
  }

  deleteFromProgram(keyAddress: number): number {
    return negative(this.remove(this.readProgram(keyAddress, this.spec.keySize, 'key')));
  }

  override forEachFromProgram(_cpu: number, _callback: ForEachCallback): number {
    // `bpf_for_each_map_elem` does not support LPM tries (the verifier rejects it).
    return -Errno.EINVAL;
  }

  private valueAddress(prefix: Prefix): number {
    return prefix.address + round8(this.spec.keySize);
  }

  private prefixlenOf(key: Uint8Array): number {
    return new DataView(key.buffer, key.byteOffset, PREFIXLEN_SIZE).getUint32(0, true);
  }

  /** The first `prefixlen` bits of the key's data, the rest zeroed. */
  private mask(key: Uint8Array, prefixlen: number): Uint8Array {
    const masked = new Uint8Array(this.spec.keySize - PREFIXLEN_SIZE);
    const whole = prefixlen >> 3;
    masked.set(key.subarray(PREFIXLEN_SIZE, PREFIXLEN_SIZE + whole));
    const bits = prefixlen & 7;
    if (bits) masked[whole] = key[PREFIXLEN_SIZE + whole] & (0xff << (8 - bits));
    return masked;
  }

  private exact(key: Uint8Array): Prefix | undefined {
    const prefixlen = this.prefixlenOf(key);
    if (prefixlen > this.maxPrefixlen) return undefined;
    return this.byLength.get(prefixlen)?.get(keyString(this.mask(key, prefixlen)));
  }

  private longestMatch(key: Uint8Array): Prefix | undefined {
    const prefixlen = this.prefixlenOf(key);
    if (prefixlen > this.maxPrefixlen) return undefined;
    for (const length of this.lengths) {
      if (length > prefixlen) continue;
      const match = this.byLength.get(length)!.get(keyString(this.mask(key, length)));
      if (match) return match;
    }
    return undefined;
  }

  /** `trie_update_elem`'s checks in its order: the prefix to write the value to, or an errno. */
  private upsert(key: Uint8Array, flags: number): Prefix | number {
    if (flags > UpdateFlags.EXIST) return Errno.EINVAL;
    const prefixlen = this.prefixlenOf(key);
    if (prefixlen > this.maxPrefixlen) return Errno.EINVAL;
    const masked = this.mask(key, prefixlen);
    const text = keyString(masked);
    const existing = this.byLength.get(prefixlen)?.get(text);
    if (existing) {
      if (flags === UpdateFlags.NOEXIST) return Errno.EEXIST;
      // The kernel replaces the node, so the stored key becomes the one just given.
      existing.key = key.slice();
      this.memory.bytes.set(key, existing.address);
      return existing;
    }
    if (flags === UpdateFlags.EXIST) return Errno.ENOENT;
    let address: number | undefined;
    try {
      address = this.pool.alloc();
    } catch (error) {
      if (error instanceof MemoryLimitError) return Errno.ENOMEM;
      throw error;
    }
    if (address === undefined) return Errno.ENOSPC;
    const prefix: Prefix = { key: key.slice(), prefixlen, masked, address };
    this.memory.bytes.set(key, address);
    let table = this.byLength.get(prefixlen);
    if (!table) {
      table = new Map();
      this.byLength.set(prefixlen, table);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    table.set(text, prefix);
    this.ordered.splice(this.insertionIndex(prefix), 0, prefix);
    return prefix;
  }

  private remove(key: Uint8Array): number {
    const prefixlen = this.prefixlenOf(key);
    if (prefixlen > this.maxPrefixlen) return Errno.EINVAL;
    const table = this.byLength.get(prefixlen);
    const text = keyString(this.mask(key, prefixlen));
    const prefix = table?.get(text);
    if (!table || !prefix) return Errno.ENOENT;
    table.delete(text);
    if (table.size === 0) {
      this.byLength.delete(prefixlen);
      this.lengths = this.lengths.filter((length) => length !== prefixlen);
    }
    this.ordered.splice(this.insertionIndex(prefix), 1);
    this.pool.release(prefix.address);
    return 0;
  }

  private insertionIndex(prefix: Prefix): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (postOrder(this.ordered[mid], prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The kernel's get-next-key order: post-order over the trie, 0-branch first. Where two prefixes
 * first differ within both lengths, the one with a 0 bit there comes first; when one contains the
 * other, the longer (more specific) comes first.
 */
function postOrder(a: Prefix, b: Prefix): number {
  const common = Math.min(a.prefixlen, b.prefixlen);
  for (let byte = 0; byte * 8 < common; byte++) {
    const diff = a.masked[byte] ^ b.masked[byte];
    if (diff === 0) continue;
    const bit = Math.clz32(diff) - 24;
    if (byte * 8 + bit >= common) break;
    return a.masked[byte] & (0x80 >> bit) ? 1 : -1;
  }
  return b.prefixlen - a.prefixlen;
}
