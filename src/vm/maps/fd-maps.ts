/**
 * Maps whose values are references to other objects: `BPF_MAP_TYPE_PROG_ARRAY` (programs, for
 * tail calls), `ARRAY_OF_MAPS` and `HASH_OF_MAPS` (inner maps) (`kernel/bpf/arraymap.c`,
 * `hashtab.c`, `map_in_map.c`).
 *
 * In the kernel, user space writes a file descriptor and reads back an id. The VM has no file
 * descriptors: user space writes and reads the object's id in its {@link VmObjects} registry (a
 * u32). A program's lookup in a map-in-map yields the inner map's handle address, which the map
 * helpers accept like any map reference.
 *
 * Kernel behaviour (checked on Linux 6.18): values must be 4 bytes; an unknown id is EBADF (a bad
 * fd); an inner map unlike the template (type, key and value size, flags, and max_entries unless
 * the template has `BPF_F_INNER_MAP`) is EINVAL; the array kinds take only `BPF_ANY` (else EINVAL),
 * index ≥ max_entries is E2BIG for update and delete, an empty slot is ENOENT for lookup and
 * delete; HASH_OF_MAPS follows hash rules (EEXIST, ENOENT, E2BIG when full).
 */
import { Errno } from '../../errno.js';
import { MapFlags, type MapSpec, UpdateFlags } from '../../maps/ops.js';
import type { VmMemory } from '../memory.js';
import { indexKey, indexOf, nextIndex } from './array.js';
import { keyString, VmMap, type VmMapOptions, type VmObjects } from './base.js';

/** Bytes of an id value. */
const ID_SIZE = 4;

function idValue(id: number): Uint8Array {
  return indexKey(id);
}

/** Whether `inner` may be stored in a map-in-map whose template is `template` (`bpf_map_meta_equal`). */
export function innerMapCompatible(template: MapSpec, inner: MapSpec): boolean {
  const sameEntries =
    ((template.flags ?? 0) & MapFlags.INNER_MAP) !== 0 || template.maxEntries === inner.maxEntries;
  return (
    template.type === inner.type &&
    template.keySize === inner.keySize &&
    template.valueSize === inner.valueSize &&
    (template.flags ?? 0) === (inner.flags ?? 0) &&
    sameEntries
  );
}

/** What a reference map needs from its VM. */
function objectsOf(spec: MapSpec, options: VmMapOptions): VmObjects {
  if (!options.objects)
    throw new Error(`map '${spec.name}': a ${spec.type} needs a registry of the VM's maps and programs`);
  return options.objects;
}

/** PROG_ARRAY and ARRAY_OF_MAPS: an array of optional ids. */
export class FdArrayMap extends VmMap {
  private readonly objects: VmObjects;
  private readonly ids: Uint32Array;

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.objects = objectsOf(spec, options);
    this.ids = new Uint32Array(spec.maxEntries);
  }

  /** The program id at `index` (PROG_ARRAY), for `bpf_tail_call`; undefined when empty. */
  programAt(index: number): number | undefined {
    if (this.spec.type !== 'PROG_ARRAY' || index >= this.ids.length) return undefined;
    return this.ids[index] || undefined;
  }

  /** The inner map at `index` (ARRAY_OF_MAPS); undefined when empty. */
  mapAt(index: number): VmMap | undefined {
    if (this.spec.type !== 'ARRAY_OF_MAPS' || index >= this.ids.length || !this.ids[index]) return undefined;
    return this.objects.mapById(this.ids[index]);
  }

  protected userLookup(key: Uint8Array | null): Uint8Array | undefined {
    const index = indexOf(key);
    return index < this.ids.length && this.ids[index] ? idValue(this.ids[index]) : undefined;
  }

  protected userUpdate(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    if (flags !== UpdateFlags.ANY) throw this.error('update', Errno.EINVAL, 'only BPF_ANY');
    const index = indexOf(key);
    if (index >= this.ids.length) throw this.error('update', Errno.E2BIG);
    const id = indexOf(value);
    const errno = checkReference(this.spec, this.objects, id);
    if (errno) throw this.error('update', errno, `id ${id}`);
    this.ids[index] = id;
  }

  protected userDelete(key: Uint8Array | null): void {
    const index = indexOf(key);
    if (index >= this.ids.length) throw this.error('delete', Errno.E2BIG);
    if (!this.ids[index]) throw this.error('delete', Errno.ENOENT);
    this.ids[index] = 0;
  }

  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndex(key, this.spec.maxEntries);
  }

  protected release(): void {
    this.ids.fill(0);
  }

  lookupAddress(keyAddress: number): number {
    const index = indexOf(this.readProgram(keyAddress, ID_SIZE, 'key'));
    const inner = this.mapAt(index);
    return inner ? (this.objects.handleOf(inner) ?? 0) : 0;
  }

  updateFromProgram(): number {
    // Programs may not change reference maps (the verifier rejects it).
    return -Errno.EINVAL;
  }

  deleteFromProgram(): number {
    return -Errno.EINVAL;
  }
}

/** HASH_OF_MAPS: keys of any size, values inner map ids. */
export class HashOfMapsMap extends VmMap {
  private readonly objects: VmObjects;
  /** Inner map ids by key, in creation order (the next-key order, as for {@link HashMap}). */
  private readonly ids = new Map<string, { readonly key: Uint8Array; id: number }>();

  constructor(memory: VmMemory, spec: MapSpec, options: VmMapOptions) {
    super(memory, spec, options);
    this.objects = objectsOf(spec, options);
  }

  /** The inner map stored under `key`. */
  mapAt(key: Uint8Array): VmMap | undefined {
    const entry = this.ids.get(keyString(key));
    return entry && this.objects.mapById(entry.id);
  }

  protected userLookup(key: Uint8Array | null): Uint8Array | undefined {
    const entry = this.ids.get(keyString(key!));
    return entry && idValue(entry.id);
  }

  protected userUpdate(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    if (flags & ~(UpdateFlags.NOEXIST | UpdateFlags.EXIST) || flags === 3)
      throw this.error('update', Errno.EINVAL);
    const id = indexOf(value);
    const errno = checkReference(this.spec, this.objects, id);
    if (errno) throw this.error('update', errno, `id ${id}`);
    const text = keyString(key!);
    const entry = this.ids.get(text);
    if (entry) {
      if (flags === UpdateFlags.NOEXIST) throw this.error('update', Errno.EEXIST);
      entry.id = id;
      return;
    }
    if (flags === UpdateFlags.EXIST) throw this.error('update', Errno.ENOENT);
    if (this.ids.size >= this.spec.maxEntries) throw this.error('update', Errno.E2BIG);
    this.ids.set(text, { key: key!.slice(), id });
  }

  protected userDelete(key: Uint8Array | null): void {
    if (!this.ids.delete(keyString(key!))) throw this.error('delete', Errno.ENOENT);
  }

  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    // Map-in-map hashes are small; a linear walk keeps this simple.
    const entries = [...this.ids.values()];
    const index =
      key === undefined ? -1 : entries.findIndex((entry) => keyString(entry.key) === keyString(key));
    return entries[index + 1]?.key.slice();
  }

  protected override userLookupAndDelete(key: Uint8Array | null): Uint8Array | undefined {
    const value = this.userLookup(key);
    if (value) this.ids.delete(keyString(key!));
    return value;
  }

  protected release(): void {
    this.ids.clear();
  }

  lookupAddress(keyAddress: number): number {
    const inner = this.mapAt(this.readProgram(keyAddress, this.spec.keySize, 'key'));
    return inner ? (this.objects.handleOf(inner) ?? 0) : 0;
  }

  updateFromProgram(): number {
    return -Errno.EINVAL;
  }

  deleteFromProgram(keyAddress: number): number {
    // Programs may delete from a hash of maps (the kernel allows it).
    return this.ids.delete(keyString(this.readProgram(keyAddress, this.spec.keySize, 'key')))
      ? 0
      : -Errno.ENOENT;
  }
}

/** 0 when `id` names an object a map of `spec`'s type may store, else the errno. */
function checkReference(spec: MapSpec, objects: VmObjects, id: number): number {
  if (spec.type === 'PROG_ARRAY') return objects.hasProgram(id) ? 0 : Errno.EBADF;
  const inner = objects.mapById(id);
  if (!inner) return Errno.EBADF;
  return spec.innerMap && innerMapCompatible(spec.innerMap, inner.spec) ? 0 : Errno.EINVAL;
}
