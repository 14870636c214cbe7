/**
 * `bpf_spin_lock` (93) and `bpf_spin_unlock` (94), since 5.1.
 *
 * The VM runs one program at a time, so a lock never has to wait. What the kernel's verifier
 * guarantees statically — the lock is a 4-byte aligned `struct bpf_spin_lock` in a map value,
 * taken once and released before exit — is checked at run time instead: a program that takes a
 * held lock would spin forever on a real CPU and stops with a {@link SpinLockError}.
 */
import { TsbpfError } from '../../errors.js';
import type { Helper } from '../helpers.js';
import { defineHelper, writableArgument } from './common.js';

/** A program misused a `bpf_spin_lock` (the verifier would have refused it). */
export class SpinLockError extends TsbpfError {
  override name = 'SpinLockError';
  /** VM address of the lock word. */
  readonly address: bigint;
  constructor(address: bigint, reason: string) {
    super(`bpf_spin_lock at 0x${address.toString(16)}: ${reason}`);
    this.address = address;
  }
}

/** The lock word's address, checked: 4 writable bytes, 4-byte aligned. */
function lockWord(memory: Parameters<Helper['call']>[0]['memory'], name: string, address: bigint): number {
  const start = writableArgument(memory, name, 'lock', address, 4);
  if (start % 4 !== 0) throw new SpinLockError(address, 'not 4-byte aligned');
  return start;
}

/** spin_lock and spin_unlock over the lock word in VM memory (0 free, 1 held). */
export function lockHelpers(): Helper[] {
  return [
    defineHelper('spin_lock', (env, lock) => {
      const at = lockWord(env.memory, 'spin_lock', lock);
      if (env.memory.view.getUint32(at, true) !== 0)
        throw new SpinLockError(lock, 'already held: the program would deadlock');
      env.memory.view.setUint32(at, 1, true);
      return 0n;
    }),
    defineHelper('spin_unlock', (env, lock) => {
      const at = lockWord(env.memory, 'spin_unlock', lock);
      if (env.memory.view.getUint32(at, true) === 0) throw new SpinLockError(lock, 'released but not held');
      env.memory.view.setUint32(at, 0, true);
      return 0n;
    }),
  ];
}
