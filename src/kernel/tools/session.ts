/**
 * What every `tsbpf tools` program shares: finding its precompiled object (`tools/NAME.bpf.o`,
 * shipped in the package so no clang is needed at run time), loading it with its `.rodata`
 * settings, attaching its programs, decoding ring-buffer records through the object's BTF, and
 * stopping cleanly — on Ctrl-C, SIGTERM, a duration, a count or an `AbortSignal` — with every
 * link, reader, map and program closed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TsbpfError } from '../../errors.js';
import { type BtfValue, btfCodec, withBtf } from '../../maps/btf-codec.js';
import type { Codec } from '../../maps/codec.js';
import type { BpfMap } from '../../maps/map.js';
import { packageRoot } from '../../package-root.js';
import { attachBySection } from '../attach/attach.js';
import type { Link } from '../attach/links.js';
import { type KernelRingBuffer, openRingBuffer } from '../events/ringbuf.js';
import type { KernelMapOps } from '../load/map.js';
import { type GlobalValue, type KernelObject, loadObject } from '../load/object.js';
import type { KernelProgram } from '../load/program.js';

/** A tool could not start: its object is missing, a program was rejected or could not attach. */
export class ToolError extends TsbpfError {
  override name = 'ToolError';
  /** The tool (`execsnoop`). */
  readonly tool: string;
  /** The user asked for something that cannot be (a tracepoint that does not exist): exit 2. */
  readonly badInput: boolean;
  constructor(tool: string, detail: string, options?: { cause?: unknown; badInput?: boolean }) {
    super(`${tool}: ${detail}`, options);
    this.tool = tool;
    this.badInput = options?.badInput ?? false;
  }
}

/** Where a tool writes: text lines, JSON records, and notes for the user (stderr). */
export interface ToolOutput {
  /** One line of the tool's table or histogram. */
  line(text: string): void;
  /** One `--json` record (one line). */
  record(value: Readonly<Record<string, unknown>>): void;
  /** "Tracing … Hit Ctrl-C to end." and warnings: stderr with `--json`, else stdout as bcc does. */
  note(text: string): void;
}

/** When a tool stops (besides its own count or interval limits). */
export interface ToolStop {
  /** Stop when this signal aborts. */
  readonly signal?: AbortSignal;
  /** Stop on SIGINT and SIGTERM (the command line's default). */
  readonly processSignals?: boolean;
  /** Stop after this many seconds. */
  readonly duration?: number;
}

/** The path of a tool's precompiled object: `tools/NAME.bpf.o` at the package root. */
export function toolObjectPath(name: string): string {
  return join(packageRoot(), 'tools', `${name}.bpf.o`);
}

/** An opened tool: its loaded object and the links of its attached programs. */
export interface ToolSession {
  readonly name: string;
  readonly object: KernelObject;
  readonly links: readonly Link[];
  /** Kernel program ids of the attached programs (for leak checks). */
  readonly programIds: readonly number[];
  /** A map of the object. */
  map(name: string): BpfMap;
  /** A codec for the BTF struct `name` of the object (the record type of its ring buffer). */
  codec(struct: string): Codec<BtfValue>;
  /** A map of the object with keys and values decoded through its BTF types. */
  typedMap(name: string): BpfMap<BtfValue | Uint8Array, BtfValue | Uint8Array | BtfValue[]>;
  /** Byte offset of `field` in the BTF struct `struct` (for raw byte areas such as argument lists). */
  offsetOf(struct: string, field: string): number;
  /** Read ring buffer `map` into `onRecord` until {@link close}. */
  readEvents(map: string, onRecord: (record: Uint8Array) => void): KernelRingBuffer;
  /** Detach and close everything. Idempotent. */
  close(): void;
}

/** What to load and attach. */
export interface OpenToolOptions {
  /** `.rodata` settings (filters decided before the verifier sees the program). */
  readonly rodata?: Readonly<Record<string, GlobalValue>>;
  /** Programs to attach; default every program of the object. */
  readonly attach?: readonly string[];
  /** Programs whose hook may be missing on this kernel (`sys_enter_open` on arm64): skipped then. */
  readonly optional?: readonly string[];
  /** Attach these programs this way instead of by their section (trace's tracepoint is the user's). */
  readonly attachWith?: Readonly<Record<string, (program: KernelProgram) => Link>>;
  /** The object file (default {@link toolObjectPath}). */
  readonly objectPath?: string;
}

/** Load and attach a tool's object. On any failure everything created so far is closed. */
export function openTool(name: string, options: OpenToolOptions = {}): ToolSession {
  const path = options.objectPath ?? toolObjectPath(name);
  if (!existsSync(path))
    throw new ToolError(name, `${path} is missing (build it with: bash scripts/build-tools.sh ${name})`);
  const wanted = options.attach;
  const object = loadObject(path, {
    name: name.slice(0, 8),
    ...(options.rodata ? { rodata: options.rodata } : {}),
    ...(wanted ? { programs: wanted } : {}),
  });
  const links: Link[] = [];
  const readers: KernelRingBuffer[] = [];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const reader of readers) reader.close();
    for (const link of links) link.close();
    object.close();
  };
  const programIds: number[] = [];
  try {
    for (const [program, loaded] of object.programs) {
      if (wanted && !wanted.includes(program)) continue;
      const optional = options.optional?.includes(program) ?? false;
      if (!loaded.program) {
        if (optional) continue;
        throw new ToolError(name, `program '${program}' was not loaded: ${loaded.error?.message}`, {
          cause: loaded.error,
        });
      }
      try {
        const attach = options.attachWith?.[program];
        links.push(attach ? attach(loaded.program) : attachBySection(loaded.program, loaded.spec));
        programIds.push(loaded.program.info().id);
      } catch (error) {
        if (optional) continue;
        throw new ToolError(
          name,
          `cannot attach '${program}' (${loaded.spec.section}): ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  } catch (error) {
    close();
    throw error;
  }
  const btf = object.spec.btf;
  return {
    name,
    object,
    links,
    programIds,
    map: (map) => object.map(map),
    codec(struct) {
      const type = btf?.types.find((t) => t.kind === 'struct' && t.name === struct);
      if (!btf || !type) throw new ToolError(name, `the object has no BTF struct '${struct}'`);
      return btfCodec(btf, type.id);
    },
    typedMap(map) {
      return btf ? withBtf(object.map(map), btf) : (object.map(map) as never);
    },
    offsetOf(struct, field) {
      const type = btf?.types.find((t) => t.kind === 'struct' && t.name === struct);
      const member = type?.kind === 'struct' ? type.members.find((m) => m.name === field) : undefined;
      if (!member) throw new ToolError(name, `the object has no field '${struct}.${field}'`);
      return member.bitsOffset / 8;
    },
    readEvents(map, onRecord) {
      const reader = openRingBuffer({ fd: (object.map(map).ops as KernelMapOps).fd });
      readers.push(reader);
      reader.start(onRecord);
      return reader;
    },
    close,
  };
}

/**
 * A promise that resolves when the tool should stop, and a `dispose` that removes the signal
 * handlers and timers it installed (the command may run in-process: leave nothing behind).
 * `stop()` ends it early (a count reached).
 */
export function stopWhen(options: ToolStop): { done: Promise<void>; stop: () => void; dispose: () => void } {
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const onSignal = () => finish();
  // Signal listeners do not keep Node's event loop alive, and a tool without a ring buffer
  // (syscount, runqlat) has nothing else waiting: hold the loop open until the stop.
  const keepAlive = setInterval(() => {}, 1 << 30);
  if (options.processSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const timer =
    options.duration !== undefined ? setTimeout(finish, Math.max(0, options.duration * 1000)) : undefined;
  if (options.signal?.aborted) finish();
  options.signal?.addEventListener('abort', onSignal, { once: true });
  return {
    done,
    stop: () => finish(),
    dispose: () => {
      clearInterval(keepAlive);
      if (options.processSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onSignal);
    },
  };
}

/**
 * Run `body` over an opened tool until it should stop; then detach and close everything, also
 * when `body` throws. The signal handlers are installed before the object is loaded, so a
 * Ctrl-C during loading still ends the run cleanly.
 */
export async function runTool(
  name: string,
  open: OpenToolOptions,
  stop: ToolStop,
  body: (session: ToolSession, control: { done: Promise<void>; stop: () => void }) => Promise<void> | void,
): Promise<void> {
  const when = stopWhen(stop);
  let session: ToolSession | undefined;
  try {
    session = openTool(name, open);
    await body(session, when);
    await when.done;
  } finally {
    when.dispose();
    session?.close();
  }
}

/**
 * bcc's `[interval [count]]` loop: call `tick` every `interval` seconds, `count` times at most;
 * without an interval, once when the tool is stopped. A stop between ticks ticks once more (bcc
 * prints what it has on Ctrl-C).
 */
export async function intervals(
  control: { done: Promise<void>; stop: () => void },
  options: { interval?: number; count?: number },
  tick: () => void,
): Promise<void> {
  if (options.interval === undefined) {
    await control.done;
    tick();
    return;
  }
  let ended = false;
  void control.done.then(() => {
    ended = true;
  });
  for (let ticks = 0; !ended; ) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, (options.interval ?? 1) * 1000);
      }),
      control.done,
    ]);
    clearTimeout(timer);
    tick();
    ticks++;
    if (options.count !== undefined && ticks >= options.count) {
      control.stop();
      return;
    }
  }
}

/** `HH:MM:SS` of now, bcc's `-T` column. */
export function clockTime(date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}

/** Monotonic nanoseconds now, on the clock `bpf_ktime_get_ns()` reads (CLOCK_MONOTONIC). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/** A field of a decoded record as a number. */
export function num(record: BtfValue, field: string): number {
  return Number((record as Record<string, BtfValue>)[field]);
}

/** A field of a decoded record as a string. */
export function str(record: BtfValue, field: string): string {
  return String((record as Record<string, BtfValue>)[field]);
}
