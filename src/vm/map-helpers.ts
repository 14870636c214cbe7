/**
 * The kernel's map helpers for the VM, and the loader step that turns a program's map references
 * (lddw pseudo sources) into the values its registers receive.
 *
 * A program names a map by its **handle**, the address of the map's read-only handle region
 * ({@link VmMapRegistry}); the helpers decode it back to the map. Lookups return real pointers
 * into the map's storage in VM memory, so a program reads and writes values with plain loads and
 * stores, and per-CPU maps give the slot of the CPU the program runs on ({@link VmMapRegistry.cpu}).
 *
 * Wiring, without changes to {@link Vm}:
 * ```ts
 * const vm = new Vm();
 * const maps = new VmMapRegistry(vm.memory, { cpus: 2 });
 * for (const helper of mapHelpers(maps)) vm.helpers.register(helper);
 * const counts = maps.create({ name: 'counts', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 64 });
 * const program = compile(insns, mapResolver(maps, [counts]));   // map[idx:0] is `counts`
 * vm.run(program);
 * ```
 */
import { Errno } from '../errno.js';
import { TsbpfError } from '../errors.js';
import { helperId } from '../isa/helper-ids.js';
import type { Insn } from '../isa/instruction.js';
import { PseudoSrc } from '../isa/opcodes.js';
import type { Helper, HelperEnv } from './helpers.js';
import { ArrayMap } from './maps/array.js';
import { MapArgumentError, type VmMap } from './maps/base.js';
import type { VmMapRegistry } from './maps/registry.js';

const u64 = (value: number | bigint): bigint => BigInt.asUintN(64, BigInt(value));

/** A helper environment that can call a subprogram of the running program (for callbacks). */
export interface CallbackEnv extends HelperEnv {
  /**
   * Run the subprogram starting at `slot` of the current program as a new call frame, with
   * r1–r5 set to `args`, and return its r0.
   */
  callFunction(slot: number, ...args: bigint[]): bigint;
}

function canCallBack(env: HelperEnv): env is CallbackEnv {
  return typeof (env as Partial<CallbackEnv>).callFunction === 'function';
}

/** The id of a helper the kernel defines. */
function id(name: string): number {
  const value = helperId(name);
  if (value === undefined)
    throw new MapArgumentError(`bpf_${name}: no helper of this name in enum bpf_func_id`);
  return value;
}

/** A 32-bit address from a helper argument, or -1 when it cannot be one. */
function address(value: bigint): number {
  return value < 2n ** 32n ? Number(value) : -1;
}

/**
 * The map helpers over `registry`: `map_lookup_elem`, `map_update_elem`, `map_delete_elem`,
 * `map_push_elem`, `map_pop_elem`, `map_peek_elem`, `map_lookup_percpu_elem`, `for_each_map_elem`
 * and `get_smp_processor_id`. A map argument that is not a map handle, or a pointer argument that
 * does not cover the key or value, stops the program (the kernel's verifier would have refused it).
 */
export function mapHelpers(registry: VmMapRegistry): Helper[] {
  const mapOf = (handle: bigint | number, helper: string): VmMap => {
    const map = registry.mapByHandle(handle);
    if (!map) throw new MapArgumentError(`bpf_${helper}: 0x${handle.toString(16)} is not a map`);
    return map;
  };
  const helper = (name: string, call: Helper['call']): Helper => ({ id: id(name), name, call });
  return [
    {
      ...helper('map_lookup_elem', (_env, map, key) =>
        u64(mapOf(map, 'map_lookup_elem').lookupAddress(address(key), registry.cpu)),
      ),
      call32: (_env, map, key) => mapOf(map, 'map_lookup_elem').lookupAddress(key, registry.cpu),
    },
    helper('map_update_elem', (_env, map, key, value, flags) =>
      u64(
        mapOf(map, 'map_update_elem').updateFromProgram(
          address(key),
          address(value),
          flags < 2n ** 32n ? Number(flags) : -1,
          registry.cpu,
        ),
      ),
    ),
    helper('map_delete_elem', (_env, map, key) =>
      u64(mapOf(map, 'map_delete_elem').deleteFromProgram(address(key))),
    ),
    helper('map_push_elem', (_env, map, value, flags) =>
      u64(
        mapOf(map, 'map_push_elem').pushFromProgram(address(value), flags < 2n ** 32n ? Number(flags) : -1),
      ),
    ),
    helper('map_pop_elem', (_env, map, value) =>
      u64(mapOf(map, 'map_pop_elem').popFromProgram(address(value))),
    ),
    helper('map_peek_elem', (_env, map, value) =>
      u64(mapOf(map, 'map_peek_elem').peekFromProgram(address(value))),
    ),
    helper('map_lookup_percpu_elem', (_env, map, key, cpu) => {
      const target = mapOf(map, 'map_lookup_percpu_elem');
      // Only per-CPU maps, and only CPUs that exist, yield a pointer (NULL otherwise).
      if (target.possibleCpus === 1 || cpu >= BigInt(registry.cpus)) return 0n;
      return u64(target.lookupAddress(address(key), Number(cpu)));
    }),
    helper('for_each_map_elem', (env, map, callback, context, flags) => {
      const target = mapOf(map, 'for_each_map_elem');
      if (flags !== 0n) return u64(-Errno.EINVAL);
      if (!canCallBack(env))
        throw new MapArgumentError(
          'bpf_for_each_map_elem needs an interpreter that can call back into the program',
        );
      // callback(map, key, value, ctx): 0 continues, 1 stops (the verifier allows only these).
      return u64(
        target.forEachFromProgram(registry.cpu, (key, value) =>
          env.callFunction(Number(callback), map, BigInt(key), BigInt(value), context),
        ),
      );
    }),
    helper('get_smp_processor_id', () => BigInt(registry.cpu)),
  ];
}

/** An lddw names a map or value the loader cannot resolve. */
export class MapReferenceError extends TsbpfError {
  override name = 'MapReferenceError';
  /** Slot of the lddw. */
  readonly slot: number;
  constructor(slot: number, reason: string) {
    super(`load: instruction ${slot}: ${reason}`);
    this.slot = slot;
  }
}

/** A map named by an lddw: a registered map, or its id. */
export type FdArrayEntry = VmMap | number;

/**
 * The `lddwValue` resolver for {@link compile}: what a register receives for each lddw pseudo
 * source, as the kernel's verifier rewrites them at load time.
 *
 * | src | name | imm | register receives |
 * |---|---|---|---|
 * | 1 | `BPF_PSEUDO_MAP_FD` | map id (the VM's file descriptor) | the map's handle |
 * | 2 | `BPF_PSEUDO_MAP_VALUE` | map id, second imm = offset | address of the value byte |
 * | 4 | `BPF_PSEUDO_FUNC` | slot offset from the next slot | the subprogram's slot index |
 * | 5 | `BPF_PSEUDO_MAP_IDX` | index into `fdArray` | the map's handle |
 * | 6 | `BPF_PSEUDO_MAP_IDX_VALUE` | index into `fdArray`, second imm = offset | address of the value byte |
 *
 * A value address is allowed, as in the kernel, only into single-element arrays (`.data`,
 * `.rodata`, `.bss`, `.kconfig`) and below their value size. Maps in `fdArray` given as objects
 * are registered if they are not yet.
 */
export function mapResolver(
  registry: VmMapRegistry,
  fdArray: readonly FdArrayEntry[] = [],
): (insn: Extract<Insn, { kind: 'lddw' }>) => bigint {
  return (insn) => {
    const pseudo = insn.form.pseudo;
    if (pseudo === PseudoSrc.FUNC) return BigInt(insn.slot + 1 + insn.imm);
    const byIndex = pseudo === PseudoSrc.MAP_IDX || pseudo === PseudoSrc.MAP_IDX_VALUE;
    if (!byIndex && pseudo !== PseudoSrc.MAP_FD && pseudo !== PseudoSrc.MAP_VALUE)
      throw new MapReferenceError(insn.slot, `lddw pseudo source ${pseudo} is not a map reference`);
    const reference = byIndex ? fdArray[insn.imm] : insn.imm;
    if (reference === undefined)
      throw new MapReferenceError(
        insn.slot,
        `map index ${insn.imm} is past the fd array (${fdArray.length} maps)`,
      );
    const map = typeof reference === 'number' ? registry.mapById(reference) : reference;
    if (!map) throw new MapReferenceError(insn.slot, `no map with id ${reference}`);
    registry.add(map);
    if (pseudo === PseudoSrc.MAP_FD || pseudo === PseudoSrc.MAP_IDX) return BigInt(registry.handleOf(map)!);
    const value = map instanceof ArrayMap ? map.directValueAddress(insn.imm2) : undefined;
    if (value === undefined)
      throw new MapReferenceError(
        insn.slot,
        `map '${map.name}' has no direct value at offset ${insn.imm2} (only single-element arrays do)`,
      );
    return BigInt(value);
  };
}
