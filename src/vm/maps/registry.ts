/**
 * The maps and programs of one VM, by id, as the kernel keeps them by id (`bpftool map show`,
 * `bpftool prog show`): the VM's stand-in for file descriptors.
 *
 * Each map also gets a **handle**: the address of a small read-only region of VM memory, which is
 * what a program's register holds for a map (the kernel's `CONST_PTR_TO_MAP`, loaded by an lddw of
 * `BPF_PSEUDO_MAP_FD`/`MAP_IDX`, or returned by a map-in-map lookup). The helpers take a map
 * argument by its handle. A real region, rather than a magic number, cannot collide with other
 * memory, and a program that reads it sees the map's attributes in `struct bpf_map_def` order:
 *
 * ```
 *  +0 type  +4 key_size  +8 value_size  +12 max_entries  +16 map_flags  +20 id     (u32 each)
 * ```
 */
import { Errno } from '../../errno.js';
import { MapError, type MapSpec } from '../../maps/ops.js';
import { MapType } from '../../uapi.js';
import type { CompiledProgram } from '../interpreter.js';
import { CPU_ADDRESS, type Region, type VmMemory } from '../memory.js';
import type { VmMap, VmObjects } from './base.js';
import { createVmMap, DEFAULT_CPUS } from './create.js';

/** Bytes of a map handle region. */
const HANDLE_SIZE = 24;

export interface VmMapRegistryOptions {
  /** Simulated CPUs; default 2. */
  readonly cpus?: number;
}

interface Registered {
  readonly id: number;
  readonly map: VmMap;
  readonly handle: Region;
}

/** The maps (and programs, for PROG_ARRAY) of one VM, by id and by handle. */
export class VmMapRegistry implements VmObjects {
  readonly memory: VmMemory;
  readonly cpus: number;
  private currentCpu = 0;
  private nextMapId = 1;
  private nextProgramId = 1;
  private readonly byId = new Map<number, Registered>();
  private readonly byMap = new Map<VmMap, Registered>();
  private readonly byHandle = new Map<number, Registered>();
  private readonly programs = new Map<number, CompiledProgram>();

  constructor(memory: VmMemory, options: VmMapRegistryOptions = {}) {
    this.memory = memory;
    this.cpus = options.cpus ?? DEFAULT_CPUS;
  }

  /** The simulated CPU programs run on: per-CPU maps show them this CPU's slot. */
  get cpu(): number {
    return this.currentCpu;
  }

  set cpu(cpu: number) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus)
      throw new RangeError(`CPU ${cpu} does not exist (the VM has ${this.cpus})`);
    this.currentCpu = cpu;
    // For JIT-compiled per-CPU lookups, which read it from the NULL page.
    this.memory.view.setUint32(CPU_ADDRESS, cpu, true);
  }

  /** Create a map (see {@link createVmMap}) and register it. */
  create(spec: MapSpec): VmMap {
    const map = createVmMap(this.memory, spec, { cpus: this.cpus, objects: this });
    this.add(map);
    return map;
  }

  /** Register a map created elsewhere (with this VM's memory); returns its id. */
  add(map: VmMap): number {
    const known = this.byMap.get(map);
    if (known) return known.id;
    if (map.memory !== this.memory) throw new Error(`map '${map.name}' lives in another VM's memory`);
    const id = this.nextMapId++;
    const handle = this.memory.alloc(HANDLE_SIZE, { name: `map '${map.name}' handle`, writable: false });
    const view = this.memory.view;
    const fields = [
      MapType[map.spec.type],
      map.spec.keySize,
      map.spec.valueSize,
      map.spec.maxEntries,
      map.spec.flags ?? 0,
      id,
    ];
    for (const [i, value] of fields.entries()) view.setUint32(handle.start + i * 4, value, true);
    const entry: Registered = { id, map, handle };
    this.byId.set(id, entry);
    this.byMap.set(map, entry);
    this.byHandle.set(handle.start, entry);
    return id;
  }

  /** Close a map, free its handle and forget its id. Later lookups of the id find nothing. */
  remove(id: number): void {
    const entry = this.byId.get(id);
    if (!entry) throw new MapError(`#${id}`, 'close', Errno.EBADF, 'no such map');
    entry.map.close();
    this.memory.free(entry.handle);
    this.byId.delete(id);
    this.byMap.delete(entry.map);
    this.byHandle.delete(entry.handle.start);
  }

  mapById(id: number): VmMap | undefined {
    return this.byId.get(id)?.map;
  }

  idOf(map: VmMap): number | undefined {
    return this.byMap.get(map)?.id;
  }

  handleOf(map: VmMap): number | undefined {
    return this.byMap.get(map)?.handle.start;
  }

  /** The map whose handle is `address` (what a helper's map argument holds), if any. */
  mapByHandle(address: bigint | number): VmMap | undefined {
    const key = typeof address === 'bigint' ? (address < 2n ** 32n ? Number(address) : -1) : address;
    return this.byHandle.get(key)?.map;
  }

  /** The first registered map named `name`. */
  mapByName(name: string): VmMap | undefined {
    for (const { map } of this.byId.values()) if (map.name === name) return map;
    return undefined;
  }

  /** Registered maps with their ids, by ascending id. */
  maps(): Array<[number, VmMap]> {
    return [...this.byId.values()].map(({ id, map }) => [id, map]);
  }

  /** Register a loaded program (a tail call target); returns its id for PROG_ARRAY updates. */
  addProgram(program: CompiledProgram): number {
    const id = this.nextProgramId++;
    this.programs.set(id, program);
    return id;
  }

  programById(id: number): CompiledProgram | undefined {
    return this.programs.get(id);
  }

  hasProgram(id: number): boolean {
    return this.programs.has(id);
  }
}
