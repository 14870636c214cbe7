/**
 * Reading memory a program does not own: `bpf_probe_read` (4), `bpf_probe_read_str` (45),
 * `bpf_probe_read_user` (112), `bpf_probe_read_kernel` (113), `bpf_probe_read_user_str` (114)
 * and `bpf_probe_read_kernel_str` (115), against an emulated {@link AddressSpace}.
 *
 * The VM's memory plays the kernel's address space (stacks, maps and contexts are kernel memory
 * in Linux). Regions can be marked as **user memory** ({@link VmAddressSpace.addUserRegion}) to
 * stand for a traced process. The NULL page (below 0x1000) counts as user memory, as address 0
 * does on x86-64.
 *
 * Kernel behaviour (Linux 6.18, x86-64, measured from a raw_tp program):
 *
 * | call | result |
 * |---|---|
 * | `probe_read_kernel(dst, 8, NULL)` | -ERANGE, `dst` zeroed (a user address is not kernel memory) |
 * | `probe_read_kernel(dst, 0, NULL)` | -ERANGE (the range check comes before the size) |
 * | `probe_read_kernel_str(dst, 8, NULL)` | -ERANGE, `dst` zeroed |
 * | `probe_read_kernel_str(dst, 16, "hello")` | 6; bytes after the NUL untouched (no padding) |
 * | `probe_read_kernel_str(dst, 4, "hello")` | 4, `"hel\0"` |
 * | `probe_read_kernel_str(dst, 0, "hello")` | 0 |
 * | `probe_read_user(_str)(dst, 8, kernel stack)` | -EFAULT (`access_ok` fails) |
 * | `probe_read(_str)` on a kernel address | read as kernel memory (x86 splits at `TASK_SIZE`) |
 *
 * An unmapped kernel address is -EFAULT; a string that runs into unmapped memory before its NUL
 * is -EFAULT too (`strncpy_from_kernel_nofault` copies byte by byte). On every failure the
 * helper zeroes all `size` bytes of `dst`.
 */
import { Errno } from '../../errno.js';
import type { Helper } from '../helpers.js';
import { FIRST_ADDRESS, type Region, type VmMemory } from '../memory.js';
import { defineHelper, negErrno, writableArgument } from './common.js';

/** Which half of the address space a probe read targets. */
export type AddressKind = 'kernel' | 'user';

/** Memory the probe helpers (and `%s` of the printf helpers) read without faulting. */
export interface AddressSpace {
  /** Copy `size` bytes at `address`: the bytes, or a negative errno. */
  read(memory: VmMemory, address: bigint, size: number, kind: AddressKind): Uint8Array | number;
  /**
   * Copy a NUL-terminated string of at most `max` bytes including its NUL: the bytes with the NUL
   * (cut to `max - 1` bytes plus a NUL when longer), or a negative errno.
   */
  readString(memory: VmMemory, address: bigint, max: number, kind: AddressKind): Uint8Array | number;
  /** Whether a `bpf_probe_read` without a kind reads `address` as user memory (x86: below TASK_SIZE). */
  isUser(address: bigint): boolean;
}

/** The VM's memory as the kernel's address space, with optional user regions. */
export class VmAddressSpace implements AddressSpace {
  private readonly userRegions = new Set<Region>();

  /** Mark a region as user memory: only the `_user` reads (and plain `probe_read`) reach it. */
  addUserRegion(region: Region): this {
    this.userRegions.add(region);
    return this;
  }

  removeUserRegion(region: Region): void {
    this.userRegions.delete(region);
  }

  isUser(address: bigint): boolean {
    if (address < BigInt(FIRST_ADDRESS)) return true;
    for (const region of this.userRegions)
      if (address >= BigInt(region.start) && address < BigInt(region.end)) return true;
    return false;
  }

  read(memory: VmMemory, address: bigint, size: number, kind: AddressKind): Uint8Array | number {
    const allowed = this.allowed(memory, address, Math.max(size, 1), kind);
    if (allowed < 0) return size === 0 && kind === 'user' ? new Uint8Array(0) : allowed;
    return memory.read(allowed, size);
  }

  readString(memory: VmMemory, address: bigint, max: number, kind: AddressKind): Uint8Array | number {
    if (max <= 0) return new Uint8Array(0);
    const allowed = this.allowed(memory, address, 1, kind);
    if (allowed < 0) return allowed;
    const region = memory.find(allowed, 1);
    if (!region) return -Errno.EFAULT;
    const out = new Uint8Array(max);
    const bytes = memory.bytes;
    for (let i = 0; i < max - 1; i++) {
      const at = allowed + i;
      // A user string may not run out of its user region, nor a kernel one into user memory.
      if (at >= region.end) return -Errno.EFAULT;
      out[i] = bytes[at];
      if (out[i] === 0) return out.subarray(0, i + 1);
    }
    return out;
  }

  /** The start address when `[address, address + size)` may be read as `kind`, else -errno. */
  private allowed(memory: VmMemory, address: bigint, size: number, kind: AddressKind): number {
    const user = this.isUser(address);
    if (kind === 'kernel' && user) return -Errno.ERANGE;
    if (kind === 'user' && !user) return -Errno.EFAULT;
    if (address >= 2n ** 32n) return -Errno.EFAULT;
    const start = Number(address);
    const region = memory.find(start, size);
    if (!region) return -Errno.EFAULT;
    if (kind === 'user' && !this.userRegions.has(region)) return -Errno.EFAULT;
    return start;
  }
}

/** The probe-read helpers over `space` (default: a {@link VmAddressSpace} with no user memory). */
export function probeHelpers(space: AddressSpace = new VmAddressSpace()): Helper[] {
  const read = (name: string, kind: AddressKind | undefined): Helper =>
    defineHelper(name, (env, dst, size, unsafe) => {
      const length = Number(BigInt.asUintN(32, size));
      const start = writableArgument(env.memory, name, 'dst', dst, length);
      const got = space.read(env.memory, unsafe, length, kind ?? (space.isUser(unsafe) ? 'user' : 'kernel'));
      if (typeof got === 'number') {
        env.memory.bytes.fill(0, start, start + length);
        return negErrno(-got);
      }
      env.memory.bytes.set(got, start);
      return 0n;
    });
  const readString = (name: string, kind: AddressKind | undefined): Helper =>
    defineHelper(name, (env, dst, size, unsafe) => {
      const length = Number(BigInt.asUintN(32, size));
      const start = writableArgument(env.memory, name, 'dst', dst, length);
      const got = space.readString(
        env.memory,
        unsafe,
        length,
        kind ?? (space.isUser(unsafe) ? 'user' : 'kernel'),
      );
      if (typeof got === 'number') {
        env.memory.bytes.fill(0, start, start + length);
        return negErrno(-got);
      }
      // Only the string and its NUL are written: the rest of dst keeps its bytes, as in Linux.
      env.memory.bytes.set(got, start);
      if (got.length > 0) env.memory.bytes[start + got.length - 1] = 0;
      return BigInt(got.length);
    });
  return [
    read('probe_read', undefined),
    read('probe_read_kernel', 'kernel'),
    read('probe_read_user', 'user'),
    readString('probe_read_str', undefined),
    readString('probe_read_kernel_str', 'kernel'),
    readString('probe_read_user_str', 'user'),
  ];
}
