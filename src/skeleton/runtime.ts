/**
 * The runtime behind generated skeletons (`tsbpf gen skeleton`): open an object, set its `.rodata`
 * before load, load it on a backend (the VM here, the kernel through `tsbpf/kernel`'s
 * `kernelSkeletonBackend`), reach its maps typed by BTF, its globals as properties, its ring
 * buffers as typed async iterables, attach, destroy — libbpf's skeleton life cycle.
 *
 * Pure: no I/O. The generated class subclasses {@link Skeleton} and only adds types.
 */
import { TsbpfError } from '../errors.js';
import { type BtfValue, btfCodec, withBtf } from '../maps/btf-codec.js';
import type { Codec } from '../maps/codec.js';
import type { BpfMap } from '../maps/map.js';
import type { RecordCallback, RingBufferReader } from '../maps/ringbuf.js';
import type { Btf } from '../object/btf.js';
import { loadObjectSpec, type ObjectMap, type ObjectSpec } from '../object/object.js';
import type { TestRunOptions, TestRunResult } from '../program.js';
import { Vm } from '../vm/vm.js';
import { variableType } from './ts-types.js';

/** A skeleton used out of order (maps before load, rodata after load…), or a backend failure. */
export class SkeletonError extends TsbpfError {
  override name = 'SkeletonError';
}

/** A program of a loaded skeleton, on either backend. */
export interface SkeletonProgram {
  readonly name: string;
  readonly section: string;
  /** `BPF_PROG_TEST_RUN`'s contract, on the VM or in the kernel. */
  testRun(options?: TestRunOptions): TestRunResult;
}

/** Something attached; {@link close} detaches it. */
export interface SkeletonLink {
  readonly program: string;
  close(): void;
}

/** What {@link Skeleton.attach} may need beyond the section names (kernel backend). */
export interface SkeletonAttachOptions {
  /** Interface for XDP and tc programs. */
  readonly iface?: string | number;
  /** cgroup v2 directory for cgroup programs. */
  readonly cgroup?: string;
  /** Only these programs; default every program whose section says how to attach it. */
  readonly programs?: readonly string[];
}

/** An object loaded by a backend. */
export interface SkeletonObject {
  readonly maps: ReadonlyMap<string, BpfMap>;
  readonly programs: ReadonlyMap<string, SkeletonProgram>;
  /** Programs that did not load, with the reason (a verifier rejection, an unsupported type…). */
  readonly failed: ReadonlyMap<string, Error>;
  ringBuffer(map: string): RingBufferReader;
  attach(options: SkeletonAttachOptions): SkeletonLink[];
  close(): void;
}

/** Loads an object's spec somewhere: the VM ({@link vmSkeletonBackend}) or the kernel. */
export interface SkeletonBackend {
  readonly kind: 'vm' | 'kernel';
  load(spec: ObjectSpec, name: string): SkeletonObject;
}

/** Where a generated skeleton's `load()` puts the object. */
export type SkeletonTarget =
  | { readonly backend: 'vm'; readonly vm?: Vm }
  | { readonly backend: 'kernel'; readonly pinPath?: string };

/** A ring buffer whose records decode to `T`. */
export interface TypedRingBuffer<T> extends AsyncIterable<T> {
  /** Hand the records available now to `callback`; returns how many. */
  consume(callback: (record: T) => void, limit?: number): number;
  /** Wait up to `timeoutMs` for records, then hand them over. */
  poll(callback: (record: T) => void, timeoutMs?: number): Promise<number>;
  close(): void;
  /** The untyped reader underneath. */
  readonly reader: RingBufferReader;
}

/** What the generator records about one object, beyond its bytes. */
export interface SkeletonMeta {
  /** The object's name (global data maps are named `<name>.rodata` in the kernel). */
  readonly name: string;
  /** Ring buffer map → BTF type id of its records (absent: records stay bytes). */
  readonly ringBufferTypes?: Readonly<Record<string, number>>;
}

/** The VM as a skeleton backend. */
export function vmSkeletonBackend(vm: Vm = new Vm()): SkeletonBackend {
  return {
    kind: 'vm',
    load(spec) {
      const object = vm.loadObject(spec);
      const programs = new Map<string, SkeletonProgram>();
      for (const [name, program] of object.programs) {
        const section = spec.programs.find((p) => p.name === name)?.section ?? '';
        programs.set(name, { name, section, testRun: (options = {}) => vm.testRun(program, options) });
      }
      const failed = new Map<string, Error>([
        ...object.skipped.map((s): [string, Error] => [
          s.name,
          new SkeletonError(`program '${s.name}': ${s.reason}`),
        ]),
        ...object.rejected,
      ]);
      return {
        maps: object.maps,
        programs,
        failed,
        ringBuffer(name) {
          const map = object.vmMaps.get(name) as { reader?: () => RingBufferReader } | undefined;
          if (!map || typeof map.reader !== 'function')
            throw new SkeletonError(`map '${name}' is not a ring buffer`);
          return map.reader();
        },
        attach() {
          throw new SkeletonError(
            'the VM backend has no kernel events to attach to: run programs with progs.NAME.testRun(), or load with { backend: "kernel" }',
          );
        },
        close() {},
      };
    },
  };
}

/** The C name of a global data section's property: `.rodata` → `rodata`, `.data.stats` → `data_stats`. */
export function globalsProperty(section: string): string {
  return section.replace(/^\./, '').replace(/[^A-Za-z0-9_]/g, '_');
}

/** Global data sections with variables (not `.kconfig`, not string pools). */
export function globalSections(spec: ObjectSpec): ObjectMap[] {
  return spec.maps.filter((m) => m.origin === 'data' && (m.variables?.length ?? 0) > 0);
}

interface GlobalSection {
  readonly map: ObjectMap;
  /** Bytes before load (what `load` writes as the initial value). */
  readonly pending: Uint8Array;
  touched: boolean;
  readonly view: Record<string, BtfValue>;
}

/**
 * An object's skeleton: open → set `.rodata` → {@link load} → {@link attach} → {@link destroy}.
 * Generated classes extend it with typed `maps`, `progs`, globals and `ringbufs` getters.
 */
export class Skeleton {
  readonly spec: ObjectSpec;
  readonly meta: SkeletonMeta;
  #object: SkeletonObject | undefined;
  #links: SkeletonLink[] = [];
  #typedMaps: Record<string, BpfMap<unknown, unknown>> | undefined;
  readonly #globals = new Map<string, GlobalSection>();
  #destroyed = false;

  /** Open the object (parse it; nothing is created yet). */
  constructor(object: Uint8Array | ObjectSpec, meta: SkeletonMeta) {
    this.spec = object instanceof Uint8Array ? loadObjectSpec(object) : object;
    this.meta = meta;
    for (const map of globalSections(this.spec)) {
      const pending = new Uint8Array(map.valueSize);
      if (map.initialValue) pending.set(map.initialValue.subarray(0, map.valueSize));
      const section: GlobalSection = { map, pending, touched: false, view: {} };
      this.#defineGlobals(section);
      this.#globals.set(globalsProperty(map.name), section);
    }
  }

  get #btf(): Btf {
    if (!this.spec.btf) throw new SkeletonError(`${this.meta.name}: the object has no BTF`);
    return this.spec.btf;
  }

  #defineGlobals(section: GlobalSection): void {
    const readOnly = section.map.freeze;
    for (const variable of section.map.variables ?? []) {
      const codec = btfCodec(this.#btf, variableType(this.#btf, variable.typeId));
      Object.defineProperty(section.view, variable.name, {
        enumerable: true,
        get: () =>
          codec.decode(this.#globalBytes(section).subarray(variable.offset, variable.offset + variable.size)),
        set: (value: BtfValue) => {
          const bytes = codec.encode(value);
          if (!this.#object) {
            section.pending.set(bytes.subarray(0, variable.size), variable.offset);
            section.touched = true;
            return;
          }
          if (readOnly)
            throw new SkeletonError(
              `${section.map.name}.${variable.name}: read-only after load (set .rodata values before load())`,
            );
          const map = this.#rawMap(section.map.name);
          const current = map.get(u32(0)) ?? new Uint8Array(section.map.valueSize);
          const updated = current.slice();
          updated.set(bytes.subarray(0, variable.size), variable.offset);
          map.set(u32(0), updated);
        },
      });
    }
  }

  #globalBytes(section: GlobalSection): Uint8Array {
    if (!this.#object) return section.pending;
    return this.#rawMap(section.map.name).get(u32(0)) ?? new Uint8Array(section.map.valueSize);
  }

  #rawMap(name: string): BpfMap {
    const map = this.#loaded().maps.get(name);
    if (!map) throw new SkeletonError(`${this.meta.name}: no map '${name}'`);
    return map;
  }

  #loaded(): SkeletonObject {
    if (this.#destroyed) throw new SkeletonError(`${this.meta.name}: destroyed`);
    if (!this.#object) throw new SkeletonError(`${this.meta.name}: not loaded yet (call load() first)`);
    return this.#object;
  }

  /** Whether {@link load} has run (and {@link destroy} has not). */
  get loaded(): boolean {
    return this.#object !== undefined && !this.#destroyed;
  }

  /** Load on a backend; `.rodata` and initial `.data`/`.bss` values set so far go in first. */
  loadWith(backend: SkeletonBackend): this {
    if (this.#destroyed) throw new SkeletonError(`${this.meta.name}: destroyed`);
    if (this.#object) throw new SkeletonError(`${this.meta.name}: already loaded`);
    const maps = this.spec.maps.map((map) => {
      const section = this.#globals.get(globalsProperty(map.name));
      return section?.touched ? { ...map, initialValue: section.pending.slice() } : map;
    });
    this.#object = backend.load({ ...this.spec, maps }, this.meta.name);
    return this;
  }

  /** Attach every program (or `options.programs`) the way its section says. Kernel backend only. */
  attach(options: SkeletonAttachOptions = {}): this {
    this.#links.push(...this.#loaded().attach(options));
    return this;
  }

  /** Programs that did not load, and why. */
  get failures(): ReadonlyMap<string, Error> {
    return this.#loaded().failed;
  }

  /** Detach everything, release every map and program. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const link of this.#links.splice(0).reverse()) link.close();
    this.#object?.close();
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.destroy();
  }

  /** The maps, keys and values decoded through BTF (per-CPU values as arrays). */
  protected mapsByName(): Record<string, BpfMap<unknown, unknown>> {
    const loaded = this.#loaded();
    if (this.#typedMaps) return this.#typedMaps;
    const out: Record<string, BpfMap<unknown, unknown>> = {};
    for (const [name, map] of loaded.maps) {
      out[name] = (this.spec.btf ? withBtf(map, this.spec.btf) : map) as BpfMap<unknown, unknown>;
    }
    this.#typedMaps = out;
    return out;
  }

  /** The programs, by name. */
  protected programsByName(): Record<string, SkeletonProgram> {
    const loaded = this.#loaded();
    const out: Record<string, SkeletonProgram> = {};
    for (const program of this.spec.programs) {
      const handle = loaded.programs.get(program.name);
      out[program.name] = handle ?? {
        name: program.name,
        section: program.section,
        testRun: () => {
          throw new SkeletonError(`program '${program.name}' is not loaded`, {
            cause: loaded.failed.get(program.name),
          });
        },
      };
    }
    return out;
  }

  /** A global data section's variables as properties (`.rodata` settable until load). */
  protected globalsOf(section: string): Record<string, BtfValue> {
    const found = this.#globals.get(section);
    if (!found) throw new SkeletonError(`${this.meta.name}: no global section '${section}'`);
    return found.view;
  }

  /** A ring buffer's records, decoded as their BTF type when the generator found it. */
  protected ringBufferOf(name: string): TypedRingBuffer<unknown> {
    const reader = this.#loaded().ringBuffer(name);
    const typeId = this.meta.ringBufferTypes?.[name];
    const codec: Codec<unknown> | undefined =
      typeId && this.spec.btf ? btfCodec(this.spec.btf, typeId) : undefined;
    const size = codec?.size ?? 0;
    const decode = (record: Uint8Array): unknown => {
      if (!codec) return record.slice();
      const padded = new Uint8Array(size);
      padded.set(record.subarray(0, size));
      return codec.decode(padded);
    };
    const wrap =
      (callback: (record: unknown) => void): RecordCallback =>
      (record) =>
        callback(decode(record));
    return {
      reader,
      consume: (callback, limit) => reader.consume(wrap(callback), limit),
      poll: (callback, timeoutMs) => reader.poll(wrap(callback), timeoutMs),
      close: () => reader.close(),
      async *[Symbol.asyncIterator]() {
        for await (const record of reader) yield decode(record);
      },
    };
  }
}

function u32(value: number): Uint8Array {
  return new Uint8Array(new Uint32Array([value]).buffer);
}
