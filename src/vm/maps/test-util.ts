/** Shared helpers of the VM map tests. */
import assert from 'node:assert/strict';
import { Errno, type ErrnoName } from '../../errno.js';
import { BpfMap } from '../../maps/map.js';
import { MapError, type MapSpec } from '../../maps/ops.js';
import { VmMemory } from '../memory.js';
import type { VmMap } from './base.js';
import { VmMapRegistry } from './registry.js';

/** A fresh registry with its own memory and a map of `spec` in it, raw and behind {@link BpfMap}. */
export function makeMap(
  spec: Partial<MapSpec> & Pick<MapSpec, 'type'>,
  cpus = 2,
): { map: BpfMap; vm: VmMap; registry: VmMapRegistry } {
  const registry = new VmMapRegistry(new VmMemory(), { cpus });
  const vm = registry.create({ name: 'm', keySize: 4, valueSize: 8, maxEntries: 4, ...spec });
  return { map: new BpfMap(vm), vm, registry };
}

/** Assert that `fn` throws a {@link MapError} with `errno`. */
export function throwsErrno(fn: () => unknown, errno: ErrnoName | 524, message?: string): void {
  const expected = errno === 524 ? 524 : Errno[errno];
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof MapError, `expected MapError, got ${String(error)}`);
      assert.equal(error.errno, expected, `${message ?? ''} ${error.message}`);
      return true;
    },
    message,
  );
}

/** A little-endian u32. */
export function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return bytes;
}

/** A little-endian u64. */
export function u64(value: number | bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}

/** The u32 at the start of some bytes. */
export function readU32(bytes: Uint8Array | undefined): number | undefined {
  return bytes && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
}

/** All keys in next-key order, as u32s. */
export function keysU32(map: BpfMap): number[] {
  return [...map.keys()].map((key) => readU32(key)!);
}
