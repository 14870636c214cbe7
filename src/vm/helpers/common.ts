/**
 * Pieces shared by the helper modules of this folder: helper ids by name, `-errno` as r0, and
 * checked access to VM memory for pointer arguments.
 *
 * A pointer argument the kernel's verifier guarantees (a stack buffer, a map value) but that does
 * not cover mapped memory in the VM faults exactly as a load or store of those bytes would (a
 * {@link HelperMemoryError}, which the interpreter reports as the call's `MemoryAccessError`):
 * the kernel would have refused to load such a program, so there is no runtime errno to imitate.
 * Helpers touch VM memory only at addresses these functions returned.
 */
import { TsbpfError } from '../../errors.js';
import { helperId } from '../../isa/helper-ids.js';
import { HelperMemoryError } from '../errors.js';
import type { Helper, HelperFn } from '../helper-types.js';
import type { VmMemory } from '../memory.js';

/** A helper got an argument the kernel's verifier would have rejected at load time. */
export class HelperArgumentError extends TsbpfError {
  override name = 'HelperArgumentError';
  /** The helper's name, without `bpf_`. */
  readonly helper: string;
  constructor(helper: string, reason: string) {
    super(`bpf_${helper}: ${reason}`);
    this.helper = helper;
  }
}

/** A helper by its kernel name (without `bpf_`): the id comes from `enum bpf_func_id`. */
export function defineHelper(name: string, call: HelperFn): Helper {
  const id = helperId(name);
  if (id === undefined || id <= 0)
    throw new HelperArgumentError(name, 'no helper of this name in enum bpf_func_id');
  return { id, name, call };
}

/** A value as r0 sees it: unsigned 64-bit. */
export function u64(value: number | bigint): bigint {
  return BigInt.asUintN(64, BigInt(value));
}

/** `-errno` as r0. */
export function negErrno(errno: number): bigint {
  return u64(-errno);
}

/** A helper argument as a 32-bit VM address, or -1 when it cannot be one. */
export function vmAddress(value: bigint): number {
  return value < 2n ** 32n ? Number(value) : -1;
}

/**
 * The writable bytes `[address, address + size)` of a helper's pointer argument, or throw: the
 * verifier would have checked the buffer (`ARG_PTR_TO_UNINIT_MEM` and friends).
 */
export function writableArgument(
  memory: VmMemory,
  helper: string,
  what: string,
  address: bigint,
  size: number,
): number {
  return checkedArgument(memory, helper, what, address, Math.max(size, 1), true);
}

/**
 * The start of `[address, address + size)` when a helper may access it (`write`: store into
 * it), or throw the fault a load or store there would raise.
 */
export function checkedArgument(
  memory: VmMemory,
  helper: string,
  what: string,
  address: bigint,
  size: number,
  write: boolean,
): number {
  const fault = memory.accessFault(address, size, write);
  if (fault !== undefined)
    throw new HelperMemoryError(helper, what, address, size, write ? 'write' : 'read', fault);
  return Number(address);
}

/** The readable bytes of a helper's pointer argument (copied), or throw as {@link writableArgument}. */
export function readableArgument(
  memory: VmMemory,
  helper: string,
  what: string,
  address: bigint,
  size: number,
): Uint8Array {
  if (size === 0) return new Uint8Array(0);
  return memory.read(checkedArgument(memory, helper, what, address, size, false), size);
}

/**
 * A NUL-terminated string argument the verifier proved constant and terminated
 * (`ARG_PTR_TO_CONST_STR`): its bytes without the NUL, or throw.
 */
export function constString(memory: VmMemory, helper: string, what: string, address: bigint): Uint8Array {
  const start = checkedArgument(memory, helper, what, address, 1, false);
  const region = memory.find(start, 1)!;
  const bytes = memory.bytes;
  for (let end = start; end < region.end; end++) if (bytes[end] === 0) return memory.read(start, end - start);
  throw new HelperArgumentError(helper, `${what} 0x${address.toString(16)} is not a NUL-terminated string`);
}
