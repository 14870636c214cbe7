/**
 * `tsbpf run FILE.o --kernel`: load an object into the running kernel, attach every program by
 * its section, stream `bpf_printk` lines and ring-buffer records (decoded through BTF when the
 * record type can be found), print the maps on Ctrl-C (or after `--duration`), and clean up.
 */
import { TsbpfError } from '../errors.js';
import { attachBySection } from '../kernel/attach/attach.js';
import type { Link } from '../kernel/attach/links.js';
import { openRingBuffer } from '../kernel/events/ringbuf.js';
import { openTracePipe } from '../kernel/events/trace-pipe.js';
import type { KernelMapOps } from '../kernel/load/map.js';
import { loadObject } from '../kernel/load/object.js';
import { type BtfValue, btfCodec } from '../maps/btf-codec.js';
import type { Btf } from '../object/btf.js';
import { pc } from './commonjs.js';
import { type CliIo, processIo } from './io.js';

export interface KernelRunOptions {
  /** Interface for XDP/tc programs. */
  readonly iface?: string;
  /** Stop after this many seconds (default: until Ctrl-C). */
  readonly duration?: number;
  readonly json?: boolean;
}

const show = (value: BtfValue): string =>
  typeof value === 'string'
    ? JSON.stringify(value)
    : Array.isArray(value)
      ? `[${value.map(show).join(', ')}]`
      : typeof value === 'object'
        ? `{ ${Object.entries(value)
            .map(([k, v]) => `${k}: ${show(v)}`)
            .join(', ')} }`
        : String(value);

/** The struct a ring buffer's records hold: a struct named `event` (or `*_event`) in the object's BTF. */
function recordType(btf: Btf | undefined): number | undefined {
  if (!btf) return undefined;
  const candidates = btf.types.filter((t) => t.kind === 'struct' && /(^|_)event$/.test(t.name));
  return candidates[0]?.id;
}

/** `run --kernel` attached none of the object's programs (each reason was said on stderr). */
export class NothingAttachedError extends TsbpfError {
  override name = 'NothingAttachedError';
}

export async function runInKernel(
  file: string,
  options: KernelRunOptions,
  io: CliIo = processIo,
): Promise<number> {
  const object = loadObject(file);
  const links: Link[] = [];
  const stops: Array<() => void> = [];
  let status = 0;
  const emit = (kind: string, payload: Record<string, unknown>, text: string, diagnostic = false) => {
    if (options.json)
      io.stdout.write(
        `${JSON.stringify({ kind, ...payload }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
      );
    // What happened to the programs is a diagnostic; output (printk, records, maps) is data.
    else (diagnostic ? io.stderr : io.stdout).write(`${text}\n`);
  };
  try {
    for (const [name, entry] of object.programs) {
      if (!entry.program) {
        status = 1;
        emit(
          'rejected',
          { program: name, error: entry.error?.message ?? null },
          `${pc.red('rejected')} ${name}: ${entry.error?.message}`,
          true,
        );
        continue;
      }
      try {
        links.push(
          attachBySection(entry.program, entry.spec, { ...(options.iface ? { iface: options.iface } : {}) }),
        );
        emit(
          'attached',
          { program: name, section: entry.spec.section },
          `${pc.green('attached')} ${name} (${entry.spec.section})`,
          true,
        );
      } catch (error) {
        status = 1;
        emit(
          'attach-error',
          { program: name, error: (error as Error).message },
          `${pc.red('not attached')} ${name}: ${(error as Error).message}`,
          true,
        );
      }
    }
    // Streaming with nothing attached would wait for output that cannot come.
    if (links.length === 0)
      throw new NothingAttachedError(
        `${file}: no program attached (${object.programs.size} in the object), nothing to run`,
      );
    const type = recordType(object.spec.btf);
    const codec = type !== undefined && object.spec.btf ? btfCodec(object.spec.btf, type) : undefined;
    for (const [name, map] of object.maps) {
      if (map.spec.type !== 'RINGBUF') continue;
      const reader = openRingBuffer({ fd: (map.ops as KernelMapOps).fd });
      reader.start((record) => {
        const value = codec && record.length >= codec.size ? codec.decode(record) : undefined;
        emit(
          'record',
          { map: name, value: value ?? Buffer.from(record).toString('hex') },
          `${pc.cyan(name)} ${value !== undefined ? show(value) : Buffer.from(record).toString('hex')}`,
        );
      });
      stops.push(() => reader.close());
    }
    const pipe = openTracePipe();
    stops.push(() => pipe.close());
    let finish = () => {};
    const done = new Promise<void>((resolve) => {
      finish = () => resolve();
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
      if (options.duration) setTimeout(finish, options.duration * 1000).unref();
    });
    const streaming = (async () => {
      for await (const line of pipe) {
        emit(
          'printk',
          { task: line.task, pid: line.pid, time: line.timestamp, message: line.message },
          `${line.timestamp.toFixed(6)} ${line.task} ${line.pid} ${line.message}`,
        );
      }
    })();
    await done;
    // The command may run in-process (tests): leave no handlers behind.
    process.off('SIGINT', finish);
    process.off('SIGTERM', finish);
    for (const stop of stops.splice(0)) stop();
    await streaming.catch(() => undefined);
    for (const [name, map] of object.maps) {
      if (name.includes('.') || map.spec.type === 'RINGBUF' || map.spec.type === 'PROG_ARRAY') continue;
      const entries = [...map.entries()].slice(0, 100);
      emit(
        'map',
        { map: name, entries: entries.length },
        `\nmap ${pc.bold(name)} (${map.spec.type}): ${entries.length} entries`,
      );
      const keyCodec =
        object.spec.btf && map.spec.btfKeyTypeId
          ? btfCodec(object.spec.btf, map.spec.btfKeyTypeId)
          : undefined;
      const valueCodec =
        object.spec.btf && map.spec.btfValueTypeId
          ? btfCodec(object.spec.btf, map.spec.btfValueTypeId)
          : undefined;
      for (const [key, value] of entries) {
        const keyText = keyCodec ? show(keyCodec.decode(key)) : Buffer.from(key).toString('hex');
        const values = Array.isArray(value) ? (value as Uint8Array[]) : [value];
        const valueText = values
          .map((v) => (valueCodec ? show(valueCodec.decode(v)) : Buffer.from(v).toString('hex')))
          .join(' | ');
        emit(
          'entry',
          { map: name, key: keyText, value: valueText },
          `  key: ${keyText}  value: ${valueText}`,
        );
      }
    }
  } finally {
    for (const stop of stops) stop();
    for (const link of links) link.close();
    object.close();
  }
  return status;
}
