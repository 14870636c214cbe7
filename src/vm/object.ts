/**
 * Loading a BPF object into the VM, the way libbpf loads one into the kernel: every map created
 * (global data maps filled with their initial bytes, `.rodata` frozen after, map-in-map slots and
 * PROG_ARRAY slots filled from the object's `.values`), every program compiled with the created
 * maps as its fd array (the object's `lddw` MAP_IDX / MAP_IDX_VALUE indexes are into
 * {@link ObjectSpec.maps}) and registered, so tail calls find each other.
 *
 * Programs in sections no convention names are reported in {@link VmObject.skipped}, not fatal.
 */
import { TsbpfError } from '../errors.js';
import { BpfMap } from '../maps/map.js';
import { UpdateFlags } from '../maps/ops.js';
import { loadObjectSpec, type ObjectSpec } from '../object/object.js';
import { ProgType, type ProgTypeName } from '../uapi.js';
import { verifierInputOf } from '../verifier/object.js';
import type { Caps } from '../verifier/types.js';
import type { VmHost, VmProgram } from './host.js';
import type { VmMap } from './maps/base.js';
import { VerifierRejectedError } from './verify.js';

/** An object loaded into a VM. */
export interface VmObject {
  /** Loaded programs, by function name. */
  readonly programs: ReadonlyMap<string, VmProgram>;
  /** The object's maps (data sections too: `.data`, `.rodata`, `.bss`…), by name. */
  readonly maps: ReadonlyMap<string, BpfMap>;
  /** The same maps as VM maps (for fd arrays and dumps). */
  readonly vmMaps: ReadonlyMap<string, VmMap>;
  /** Programs not loaded, and why (unknown section). */
  readonly skipped: ReadonlyArray<{
    readonly name: string;
    readonly section: string;
    readonly reason: string;
  }>;
  /**
   * Programs the verifier refused, by name: they are not in {@link programs}. As with the kernel
   * backend's `loadObject`, one refused program does not stop the others from loading.
   */
  readonly rejected: ReadonlyMap<string, VerifierRejectedError>;
}

/** Options of {@link loadVmObject}. */
export interface VmLoadObjectOptions {
  /** Verify each program before it loads (default: the VM's {@link VmOptions.verify}, true). */
  readonly verify?: boolean;
  /** Who loads the object, as the verifier sees it (default `root`). */
  readonly caps?: Caps;
}

/** Loading an object into the VM failed; names the map or program. */
export class VmObjectError extends TsbpfError {
  override name = 'VmObjectError';
}

/** A program type's name from its number (section info carries numbers). */
function progTypeName(type: number): ProgTypeName | undefined {
  return (Object.keys(ProgType) as ProgTypeName[]).find((name) => ProgType[name] === type);
}

const u32Key = (index: number): Uint8Array => new Uint8Array(new Uint32Array([index]).buffer);

/** Load `object` (ELF bytes or a parsed spec) into `vm`. */
export function loadVmObject(
  vm: VmHost,
  object: Uint8Array | ObjectSpec,
  options: VmLoadObjectOptions = {},
): VmObject {
  const verify = options.verify ?? true;
  const spec = object instanceof Uint8Array ? loadObjectSpec(object) : object;
  const created: VmMap[] = [];
  const vmMaps = new Map<string, VmMap>();
  for (const mapSpec of spec.maps) {
    let map: VmMap;
    try {
      // libbpf sizes a PERF_EVENT_ARRAY without max_entries to the number of CPUs.
      map = vm.maps.create(
        mapSpec.type === 'PERF_EVENT_ARRAY' && mapSpec.maxEntries === 0
          ? { ...mapSpec, maxEntries: vm.maps.cpus }
          : mapSpec,
      );
    } catch (error) {
      throw new VmObjectError(`load object: map '${mapSpec.name}': ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (mapSpec.initialValue) {
      // A data section is a one-element array: its value is the section's bytes.
      const value = new Uint8Array(mapSpec.valueSize);
      value.set(mapSpec.initialValue.subarray(0, mapSpec.valueSize));
      map.update(u32Key(0), value, UpdateFlags.ANY);
    }
    if (mapSpec.freeze) map.freeze();
    created.push(map);
    vmMaps.set(mapSpec.name, map);
  }
  // Map-in-map `.values` name other maps of the object: their ids go in the slots.
  for (const [index, mapSpec] of spec.maps.entries()) {
    for (const slot of mapSpec.initialSlots ?? []) {
      if (slot.kind !== 'map') continue;
      const inner = vmMaps.get(slot.name);
      const id = inner && vm.maps.idOf(inner);
      if (id === undefined)
        throw new VmObjectError(
          `load object: map '${mapSpec.name}': slot ${slot.index} names unknown map '${slot.name}'`,
        );
      created[index].update(u32Key(slot.index), u32Key(id), UpdateFlags.ANY);
    }
  }

  const programs = new Map<string, VmProgram>();
  const skipped: Array<{ name: string; section: string; reason: string }> = [];
  const rejected = new Map<string, VerifierRejectedError>();
  for (const program of spec.programs) {
    const type = program.sectionInfo && progTypeName(program.sectionInfo.progType);
    if (!type) {
      skipped.push({
        name: program.name,
        section: program.section,
        reason: program.sectionError ?? `section '${program.section}' names no program type`,
      });
      continue;
    }
    // The object's own view of its maps (frozen .rodata contents, BTF, line info) for the verifier.
    const verifierInput = verify
      ? verifierInputOf(spec, program, { caps: options.caps ?? 'root' })
      : undefined;
    try {
      programs.set(
        program.name,
        vm.loadProgram({
          type,
          insns: program.insns,
          name: program.name,
          fdArray: created,
          verify,
          ...(verifierInput ? { verifierInput } : {}),
        }),
      );
    } catch (error) {
      if (!(error instanceof VerifierRejectedError)) throw error;
      rejected.set(program.name, error);
    }
  }
  // PROG_ARRAY `.values` name programs: their ids go in the slots once all are loaded.
  for (const [index, mapSpec] of spec.maps.entries()) {
    for (const slot of mapSpec.initialSlots ?? []) {
      if (slot.kind !== 'program') continue;
      const target = programs.get(slot.name);
      // A refused program leaves its slot empty: a tail call to it falls through.
      if (!target && rejected.has(slot.name)) continue;
      if (!target)
        throw new VmObjectError(
          `load object: map '${mapSpec.name}': slot ${slot.index} names unloaded program '${slot.name}'`,
        );
      created[index].update(u32Key(slot.index), u32Key(target.id), UpdateFlags.ANY);
    }
  }
  const maps = new Map<string, BpfMap>();
  for (const [name, map] of vmMaps) maps.set(name, new BpfMap(map));
  return { programs, maps, vmMaps, skipped, rejected };
}
