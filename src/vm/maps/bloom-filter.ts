/**
 * `BPF_MAP_TYPE_BLOOM_FILTER` (`kernel/bpf/bloom_filter.c`, since 5.16): a set that may answer
 * "maybe present" for a value never pushed, but never "absent" for one that was.
 *
 * The bit array is sized as the kernel sizes it: `max_entries × hashes × 7/5` bits (≈ n·k/ln 2),
 * rounded up to a power of two, at least 64. The kernel hashes with jhash and a random seed (zero
 * with `BPF_F_ZERO_SEED`); the VM uses a fixed seeded 32-bit hash, so results are reproducible.
 * Programs never hold pointers into the bits, so they are a plain byte array.
 *
 * Kernel behaviour (checked on Linux 6.18): key_size must be 0; `map_extra` bits above the low 4
 * are EINVAL (the low 4 are the number of hashes, 0 meaning 5); push takes only `BPF_ANY`
 * (else EINVAL) and never fills up; a lookup by value is ENOENT when the value is definitely
 * absent; delete and get-next-key are EOPNOTSUPP, lookup-and-delete ENOTSUPP, pop EOPNOTSUPP.
 *
 * User space asks with a lookup whose key argument is the value (`bpf_map_lookup_elem(fd, NULL,
 * &value)`); {@link BloomFilterMap.has} says the same as a boolean.
 */
import { Errno } from '../../errno.js';
import { type MapSpec, UpdateFlags } from '../../maps/ops.js';
import type { VmMemory } from '../memory.js';
import { checkStorage, negative, VmMap, type VmMapOptions } from './base.js';

/** Hashes when `map_extra` leaves the count 0. */
export const DEFAULT_BLOOM_HASHES = 5;

/** BLOOM_FILTER. */
export class BloomFilterMap extends VmMap {
  readonly hashes: number;
  private readonly bits: Uint8Array;
  private readonly mask: number;

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.hashes = Number((spec.mapExtra ?? 0n) & 0xfn) || DEFAULT_BLOOM_HASHES;
    let nbits = Math.floor((spec.maxEntries * this.hashes) / 5) * 7;
    nbits = nbits <= 64 ? 64 : 2 ** Math.ceil(Math.log2(nbits));
    nbits = Math.min(nbits, 2 ** 31);
    checkStorage(memory, spec, nbits / 8);
    this.bits = new Uint8Array(nbits / 8);
    this.mask = nbits - 1;
  }

  /** Whether `value` may have been pushed (false: it certainly was not). */
  has(value: Uint8Array): boolean {
    for (let i = 0; i < this.hashes; i++) {
      const bit = hash(value, i) & this.mask;
      if ((this.bits[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  /** A user-space lookup: `key` carries the value to test; undefined when it is certainly absent. */
  override lookup(key: Uint8Array | null): Uint8Array | undefined {
    if (key === null) throw this.error('lookup', Errno.EINVAL, 'a bloom filter lookup needs the value');
    if (key.length !== this.spec.valueSize)
      throw this.error(
        'lookup',
        Errno.EINVAL,
        `value is ${key.length} bytes, expected ${this.spec.valueSize}`,
      );
    super.lookup(null); // the common permission checks
    return this.has(key) ? key.slice() : undefined;
  }

  protected userLookup(): Uint8Array | undefined {
    return undefined;
  }

  protected userUpdate(_key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const errno = this.push(value, flags);
    if (errno) throw this.error('push', errno);
  }

  protected userDelete(): void {
    throw this.error('delete', Errno.EOPNOTSUPP, 'a bloom filter cannot forget');
  }

  protected userNextKey(): Uint8Array | undefined {
    throw this.error('next key', Errno.EOPNOTSUPP, 'a bloom filter has no keys');
  }

  protected release(): void {
    this.bits.fill(0);
  }

  lookupAddress(): number {
    return 0;
  }

  updateFromProgram(): number {
    return -Errno.EINVAL;
  }

  deleteFromProgram(): number {
    return -Errno.EOPNOTSUPP;
  }

  override pushFromProgram(valueAddress: number, flags: number): number {
    return negative(this.push(this.readProgram(valueAddress, this.spec.valueSize, 'value'), flags));
  }

  override popFromProgram(): number {
    return -Errno.EOPNOTSUPP;
  }

  override peekFromProgram(valueAddress: number): number {
    return this.has(this.readProgram(valueAddress, this.spec.valueSize, 'value')) ? 0 : -Errno.ENOENT;
  }

  private push(value: Uint8Array, flags: number): number {
    if (flags !== UpdateFlags.ANY) return Errno.EINVAL;
    for (let i = 0; i < this.hashes; i++) {
      const bit = hash(value, i) & this.mask;
      this.bits[bit >>> 3] |= 1 << (bit & 7);
    }
    return 0;
  }
}

/** MurmurHash3 (x86, 32-bit) of `bytes` with seed `seed`: cheap, well mixed, deterministic. */
function hash(bytes: Uint8Array, seed: number): number {
  let h = (seed * 0x9e3779b9) | 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let i = bytes.length - 1; i >= blocks; i--) k = (k << 8) | bytes[i];
  if (bytes.length & 3) {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
