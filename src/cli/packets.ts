/**
 * `tsbpf run FILE.o[:PROGRAM] --pcap IN | --data HEX` and `tsbpf run PROG.bin --type T --data HEX`:
 * packet programs on the userspace VM through the test-run contract, with verdict counts, maps
 * as tables (log2 histograms like bcc for histogram-shaped maps) and the passed packets written
 * back out as a capture.
 */
import { writeFileSync } from 'node:fs';
import { decode } from '../isa/instruction.js';
import { type BtfValue, btfCodec, sumBtfValues } from '../maps/btf-codec.js';
import { formatHistogram, log2Histogram } from '../maps/histogram.js';
import type { BpfMap } from '../maps/map.js';
import { isPerCpu } from '../maps/ops.js';
import type { Btf } from '../object/btf.js';
import { loadObjectSpec } from '../object/object.js';
import {
  CaptureReader,
  type Packet,
  PCAP_HEADER_SIZE,
  PcapError,
  pcapFileHeader,
  writeCapture,
} from '../pcap/pcap.js';
import type { ProgTypeName } from '../uapi.js';
import { ProgType } from '../uapi.js';
import { runXdpCapture } from '../vm/capture-run.js';
import { type Clock, systemClock } from '../vm/helpers/time.js';
import type { VmObject } from '../vm/object.js';
import { PROGRAM_TYPES } from '../vm/support.js';
import { runOnRecord, type VmTestRunResult, XdpTestRunner } from '../vm/test-run.js';
import { VerifierRejectedError } from '../vm/verify.js';
import { Vm, type VmProgram } from '../vm/vm.js';
import { cliProgress, pc } from './commonjs.js';
import { type InputStream, openInputStream } from './files.js';
import {
  type CliIo,
  INPUT_LIMITS,
  InputError,
  isElf,
  processIo,
  readInputFile,
  readObjectFile,
} from './io.js';

/** A loaded object and its BTF (to show map values by their C types). */
interface LoadedObject {
  readonly vm: VmObject;
  readonly btf: Btf | undefined;
}

/**
 * The VM's clock for a command: the system clock read through `process.hrtime` (Node's
 * `performance` global, the default, loads perf_hooks on first touch: ~2 ms of a short run).
 */
export const hostClock = (): Clock => systemClock({ now: () => Number(process.hrtime.bigint()) / 1e6 });

/** Verdict names of the packet program types (their return value's meaning). */
const verdicts: Partial<Record<ProgTypeName, Record<number, string>>> = {
  XDP: { 0: 'XDP_ABORTED', 1: 'XDP_DROP', 2: 'XDP_PASS', 3: 'XDP_TX', 4: 'XDP_REDIRECT' },
  SCHED_CLS: {
    0: 'TC_ACT_OK',
    1: 'TC_ACT_RECLASSIFY',
    2: 'TC_ACT_SHOT',
    3: 'TC_ACT_PIPE',
    4: 'TC_ACT_STOLEN',
    5: 'TC_ACT_QUEUED',
    6: 'TC_ACT_REPEAT',
    7: 'TC_ACT_REDIRECT',
    4294967295: 'TC_ACT_UNSPEC',
  },
  SCHED_ACT: { 0: 'TC_ACT_OK', 2: 'TC_ACT_SHOT' },
};

/** How a verdict reads: `XDP_PASS`, `keep 64 bytes` for socket filters, or the number. */
export function verdictName(type: ProgTypeName, retval: number): string {
  if (type === 'SOCKET_FILTER' || type === 'CGROUP_SKB')
    return retval === 0 ? 'drop' : `keep ${retval >>> 0} bytes`;
  return verdicts[type]?.[retval >>> 0] ?? String(retval >>> 0);
}

/** Whether a packet with this verdict leaves the program (and goes to `--write`). */
function passes(type: ProgTypeName, retval: number): boolean {
  const r = retval >>> 0;
  if (type === 'XDP') return r === 2 || r === 3;
  if (type === 'SCHED_CLS' || type === 'SCHED_ACT') return r === 0 || r === 3 || r === 4294967295;
  return r !== 0;
}

/** Hex of bytes, through a Buffer over them (`Buffer.from(bytes)` would copy them first). */
const toHex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

export interface PacketRunOptions {
  readonly pcap?: string;
  readonly write?: string;
  readonly data?: Uint8Array;
  readonly ctx?: string;
  readonly json?: boolean;
  readonly type?: string;
  readonly repeat?: number;
  readonly cpu?: number;
  /** The VM's engine (default: the JIT). */
  readonly engine?: 'jit' | 'interpreter';
  /** Verify the program before it runs (default true; `--no-verify`). */
  readonly verify?: boolean;
}

/**
 * Say on stderr when the program that runs was not verified though it was to be, and which other
 * programs of its object the verifier refused.
 */
function noteUnverified(program: VmProgram, object: LoadedObject | undefined, io: CliIo): void {
  if (program.unverified)
    io.stderr.write(
      `${pc.yellow('note:')} ${program.name || 'the program'} runs unverified: ${program.unverified}\n`,
    );
  for (const [name, error] of object?.vm.rejected ?? [])
    io.stderr.write(
      `${pc.yellow('note:')} program '${name}' not loaded: rejected by the verifier at instruction ${error.slot}: ${error.reason}\n`,
    );
}

/** The program types whose test run takes a packet (`--data`, `--pcap`). */
const PACKET_TYPES: ReadonlySet<ProgTypeName> = new Set([
  'XDP',
  'SOCKET_FILTER',
  'SCHED_CLS',
  'SCHED_ACT',
  'CGROUP_SKB',
]);

/** How a `run` call feeds its program: packets of a capture, one test run, or a context record. */
type RunMode = 'pcap' | 'once';

/**
 * Why the VM cannot run a program of `type` the way this call asks, with the alternative; undefined
 * when it can. Asked before anything runs, so a capture is not failed once per packet.
 */
export function whyNotRunnable(type: ProgTypeName, mode: RunMode, ctx: boolean): string | undefined {
  if (type === 'UNSPEC') return 'program type UNSPEC is not a program type';
  const support = PROGRAM_TYPES[type];
  if (support.run === 'none')
    return `the VM cannot run ${type} programs: ${support.why}; run it with --kernel`;
  if (support.run === 'context') {
    const alternative = `load and attach it with --kernel, or give the context it reads with --ctx FILE (${support.how.replace(/^`\w+` with (caller-built )?/, '').replace(/`/g, '')})`;
    if (mode === 'pcap') return `${type} programs do not take packets; ${alternative}`;
    if (!ctx) return `${type} programs have no test run (BPF_PROG_TEST_RUN refuses them); ${alternative}`;
    return undefined;
  }
  if (mode === 'pcap' && !PACKET_TYPES.has(type))
    return `${type} programs do not take packets (their test run takes --ctx); run it without --pcap`;
  return undefined;
}

/**
 * Pick the program: `FILE.o:NAME`; else the object's only program, or the only one that can run
 * as asked (said on stderr); several candidates are refused with the choices listed.
 */
function chooseProgram(
  object: VmObject,
  file: string,
  name: string | undefined,
  mode: RunMode,
  ctx: boolean,
  io: CliIo,
): VmProgram {
  const names = [...object.programs.keys(), ...object.rejected.keys()];
  if (name) {
    const program = object.programs.get(name);
    const refused = object.rejected.get(name);
    if (refused) throw refused;
    if (!program) throw new InputError(`${file}: no program '${name}' (has: ${names.join(', ')})`);
    return program;
  }
  const programs = [...object.programs.values()];
  const refused = [...object.rejected.values()][0];
  if (programs.length === 0 && refused) throw refused;
  if (programs.length === 0) throw new InputError(`${file}: no loadable programs`);
  if (names.length === 1) return programs[0] as VmProgram;
  const listed = (list: readonly VmProgram[]) => list.map((p) => `${p.name} (${p.type})`).join(', ');
  const candidates = programs.filter((p) => whyNotRunnable(p.type, mode, ctx) === undefined);
  if (candidates.length === 1) {
    const chosen = candidates[0] as VmProgram;
    const others = names.filter((n) => n !== chosen.name);
    io.stderr.write(
      `${pc.yellow('note:')} running '${chosen.name}' (${chosen.type}), the one program of ${file} that runs ${mode === 'pcap' ? 'over packets' : 'here'}; not run: ${others.join(', ')} (choose with ${file}:PROGRAM)\n`,
    );
    return chosen;
  }
  if (candidates.length > 1)
    throw new InputError(
      `${file} has ${candidates.length} programs that could run: ${listed(candidates)}; choose one as ${file}:${candidates[0]?.name}`,
    );
  throw new InputError(
    `${file}: none of its programs runs on the VM ${mode === 'pcap' ? 'over packets' : 'this way'}: ${listed(programs)}; ${whyNotRunnable(programs[0]?.type ?? 'UNSPEC', mode, ctx)}`,
  );
}

/** Parse `--type` of a raw program. */
function programType(type: string | undefined): ProgTypeName {
  const aliases: Record<string, ProgTypeName> = { tc: 'SCHED_CLS', socket: 'SOCKET_FILTER' };
  const name = (aliases[type ?? ''] ?? type ?? '').toUpperCase() as ProgTypeName;
  if (!(name in ProgType))
    throw new InputError(`--type: '${type}' is not a program type (xdp, socket_filter, sched_cls…)`);
  return name;
}

/** Load the program of a `run` call: an object file (with its maps) or raw instructions. */
export function load(
  vm: Vm,
  target: string,
  options: PacketRunOptions,
  io: CliIo = processIo,
): { program: VmProgram; object?: LoadedObject } {
  const mode: RunMode = options.pcap ? 'pcap' : 'once';
  const ctx = options.ctx !== undefined;
  const colon = target.lastIndexOf(':');
  const [file, name] =
    colon > 0 && !target.slice(colon).includes('/')
      ? [target.slice(0, colon), target.slice(colon + 1)]
      : [target, undefined];
  const bytes = file.endsWith('.o')
    ? readObjectFile(file)
    : readInputFile(file, { maxBytes: INPUT_LIMITS.object, what: 'BPF object or raw program' });
  if (isElf(bytes)) {
    const spec = loadObjectSpec(bytes);
    const object = vm.loadObject(spec);
    const program = chooseProgram(object, file, name, mode, ctx, io);
    const why = whyNotRunnable(program.type, mode, ctx);
    if (why) throw new InputError(`${target}: ${why}`);
    return { program, object: { vm: object, btf: spec.btf } };
  }
  const type = programType(options.type);
  const why = whyNotRunnable(type, mode, ctx);
  if (why) throw new InputError(`${target}: ${why}`);
  return { program: vm.loadProgram({ type, insns: decode(bytes), name: file }) };
}

/** Run one packet (`--data`) and print `{"retval","data_out","error"}` or a readable line. */
export function runOnce(target: string, options: PacketRunOptions, io: CliIo = processIo): number {
  const vm = new Vm({ engine: options.engine, verify: options.verify, clock: hostClock() });
  try {
    const { program, object } = load(vm, target, options, io);
    noteUnverified(program, object, io);
    const ctx = options.ctx
      ? readInputFile(options.ctx, { maxBytes: INPUT_LIMITS.context, what: 'context' })
      : undefined;
    if (
      options.data !== undefined &&
      PROGRAM_TYPES[program.type as Exclude<ProgTypeName, 'UNSPEC'>]?.run === 'context'
    )
      throw new InputError(
        `${target}: ${program.type} programs take no packet (--data); their context comes from --ctx`,
      );
    const contextRun =
      ctx && PROGRAM_TYPES[program.type as Exclude<ProgTypeName, 'UNSPEC'>]?.run === 'context';
    const result = contextRun
      ? runOnRecord(vm, program, ctx)
      : vm.testRun(program, {
          data: options.data,
          ...(ctx ? { ctx } : {}),
          ...(options.repeat ? { repeat: options.repeat } : {}),
          ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
        });
    for (const line of result.trace) io.stderr.write(`${pc.dim('trace:')} ${line}\n`);
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({ retval: result.retval, data_out: contextRun ? null : toHex(result.dataOut), ...(result.ctxOut ? { ctx_out: toHex(result.ctxOut) } : {}), error: null })}\n`,
      );
    } else {
      io.stdout.write(
        `${program.name}: retval ${result.retval} (${verdictName(program.type, result.retval)})\n`,
      );
      if (!contextRun) io.stdout.write(`data_out: ${toHex(result.dataOut)}\n`);
      if (object) io.stdout.write(renderMaps(object));
    }
    return 0;
  } catch (error) {
    if (options.json) {
      const rejected = error instanceof VerifierRejectedError;
      io.stdout.write(
        `${JSON.stringify({
          retval: null,
          data_out: null,
          error: (error as Error).message,
          ...(rejected
            ? {
                insn: error.slot,
                line: error.source ? `${error.source.file}:${error.source.line}` : null,
                hint: error.hint ?? null,
              }
            : {}),
        })}\n`,
      );
      return error instanceof InputError ? 2 : 1;
    }
    throw error;
  }
}

/**
 * Run over every packet of a capture: verdict counts, maps, and optionally the passed packets.
 * The capture is streamed ({@link CaptureReader}: bounded memory for any size) and XDP programs
 * run through an {@link XdpTestRunner} (no per-packet set-up or allocation); other types take
 * one `vm.testRun` per packet.
 */
export function runCapture(
  target: string,
  options: PacketRunOptions & { pcap: string },
  io: CliIo = processIo,
): number {
  const vm = new Vm({ engine: options.engine, verify: options.verify, clock: hostClock() });
  const { program, object } = load(vm, target, options, io);
  noteUnverified(program, object, io);
  const input = openInputStream(options.pcap, 'capture');
  try {
    return runStream(vm, program, object, input, options, io);
  } finally {
    input.close();
  }
}

function runStream(
  vm: Vm,
  program: VmProgram,
  object: LoadedObject | undefined,
  input: InputStream,
  options: PacketRunOptions & { pcap: string },
  io: CliIo,
): number {
  const badCapture = (error: unknown) =>
    error instanceof PcapError
      ? new InputError(`${options.pcap}: ${error.message}`, { cause: error })
      : error;
  /** Packets by retval: names are given once, at the end. */
  const byRetval = new Map<number, number>();
  let failed = 0;
  const passed: Packet[] = [];
  const errors: string[] = [];
  const fail = (index: number, error: unknown) => {
    failed++;
    if (errors.length < 5) errors.push(`packet ${index}: ${(error as Error).message}`);
  };
  const xdp = program.type === 'XDP' ? new XdpTestRunner(vm, program) : undefined;
  const bar =
    io.stderr.isTTY && input.size !== undefined && input.size >= 1 << 20
      ? new (cliProgress().SingleBar)({
          format: 'capture [{bar}] {percentage}% {eta}s',
          // A terminal is a real stream (the process's stderr): the bar moves its cursor.
          stream: io.stderr as unknown as NodeJS.WritableStream,
        })
      : undefined;
  bar?.start(input.size ?? 0, 0);
  const progress = bar ? () => bar.update(input.position()) : undefined;
  // The first bytes say the format: a classic pcap under an XDP program that the JIT's record
  // loop can run streams into VM memory (`vm/capture-run.ts`); the rest go packet by packet.
  const head = new Uint8Array(PCAP_HEADER_SIZE);
  let held = 0;
  for (let got = 1; held < head.length && got > 0; held += got)
    got = input.read(head, held, head.length - held);
  const header = held === head.length ? pcapFileHeader(head) : undefined;
  let total: number;
  try {
    if (header && xdp?.records) {
      total = runXdpCapture(xdp, header, (buffer, offset, length) => input.read(buffer, offset, length), {
        verdict: (retval, count) => byRetval.set(retval, (byRetval.get(retval) ?? 0) + count),
        failure: fail,
        ...(options.write
          ? {
              keep: (retval: number) => passes('XDP', retval),
              passed: (packet: Packet) =>
                passed.push({
                  ...packet,
                  originalLength: Math.max(packet.originalLength, packet.data.length),
                }),
            }
          : {}),
        progress,
      });
    } else {
      // The bytes read already come first.
      let replayed = 0;
      const reader = new CaptureReader((buffer, offset, length) => {
        if (replayed === held) return input.read(buffer, offset, length);
        const n = Math.min(length, held - replayed);
        buffer.set(head.subarray(replayed, replayed + n), offset);
        replayed += n;
        return n;
      });
      runPackets(reader, vm, program, xdp, options.write ? passed : undefined, {
        count: (retval) => byRetval.set(retval, (byRetval.get(retval) ?? 0) + 1),
        fail,
        progress,
      });
      total = reader.count;
    }
  } catch (error) {
    bar?.stop();
    throw badCapture(error);
  }
  bar?.update(input.size ?? 0);
  bar?.stop();
  xdp?.close();
  const counts = new Map<string, number>();
  for (const [retval, count] of byRetval) {
    const verdict = verdictName(program.type, retval);
    counts.set(verdict, (counts.get(verdict) ?? 0) + count);
  }
  if (failed > 0) counts.set('error', failed);
  if (options.write)
    writeFileSync(
      options.write,
      writeCapture(passed, { format: options.write.endsWith('.pcapng') ? 'pcapng' : 'pcap' }),
    );
  if (options.json) {
    const maps = object
      ? Object.fromEntries(
          [...object.vm.maps]
            .filter(([, m]) => !m.name.startsWith('.'))
            .map(([name, map]) => [name, mapEntries(map)]),
        )
      : {};
    io.stdout.write(
      `${JSON.stringify({ program: program.name, packets: total, verdicts: Object.fromEntries(counts), written: options.write ? passed.length : null, errors, maps })}\n`,
    );
  } else {
    io.stdout.write(`${program.name} (${program.type}) over ${total} packets of ${options.pcap}\n\n`);
    const width = Math.max(...[...counts.keys()].map((k) => k.length), 7);
    for (const [verdict, count] of [...counts].sort((a, b) => b[1] - a[1])) {
      io.stdout.write(`  ${verdict.padEnd(width)}  ${String(count).padStart(8)}\n`);
    }
    for (const error of errors) io.stderr.write(`  ${pc.red(error)}\n`);
    if (options.write) io.stdout.write(`\nwrote ${passed.length} packets to ${options.write}\n`);
    if (object) io.stdout.write(renderMaps(object));
  }
  return errors.length > 0 ? 1 : 0;
}

/** What {@link runPackets} reports. */
interface PacketTally {
  count(retval: number): void;
  fail(index: number, error: unknown): void;
  readonly progress: (() => void) | undefined;
}

/**
 * Run the program on each packet of `reader`, one at a time: XDP through `xdp`, other types one
 * `vm.testRun` each. Passed packets go to `passed` when given (`--write`).
 */
function runPackets(
  reader: CaptureReader,
  vm: Vm,
  program: VmProgram,
  xdp: XdpTestRunner | undefined,
  passed: Packet[] | undefined,
  tally: PacketTally,
): void {
  while (reader.next()) {
    const index = reader.count;
    try {
      let retval: number;
      let result: VmTestRunResult | undefined;
      if (xdp) retval = xdp.run(reader.bytes, reader.start, reader.end);
      else {
        result = vm.testRun(program, { data: reader.bytes.subarray(reader.start, reader.end) });
        retval = result.retval;
      }
      tally.count(retval);
      if (passed && passes(program.type, retval)) {
        // A socket filter cannot change the packet; it keeps `retval` bytes of it, counted (in
        // the kernel's test run) from the network header, so the Ethernet header comes on top.
        const data =
          program.type === 'SOCKET_FILTER'
            ? reader.bytes.slice(reader.start, Math.min(reader.end, reader.start + (retval >>> 0) + 14))
            : (result?.dataOut ?? xdp!.dataOut());
        passed.push({
          timestampNs: reader.timestampNs(),
          data,
          linkType: reader.linkType,
          originalLength: Math.max(reader.originalLength, data.length),
        });
      }
    } catch (error) {
      tally.fail(index, error);
    }
    if (index % 4096 === 0) tally.progress?.();
  }
}

/** A map's entries as hex strings, per-CPU values as arrays (for `--json`). */
function mapEntries(map: BpfMap): Array<[string, string | string[]]> {
  const out: Array<[string, string | string[]]> = [];
  for (const [key, value] of map.entries()) {
    const values = Array.isArray(value) ? (value as Uint8Array[]).map(toHex) : toHex(value);
    out.push([toHex(key), values]);
  }
  return out;
}

/** Little-endian unsigned value of up to 8 bytes. */
function unsigned(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = Math.min(bytes.length, 8) - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/** Sum a value over CPUs when it is a per-CPU integer. */
function total(value: Uint8Array | Uint8Array[]): bigint | undefined {
  const list = Array.isArray(value) ? value : [value];
  if (list[0].length > 8) return undefined;
  return list.reduce((sum, v) => sum + unsigned(v), 0n);
}

const isZero = (bytes: Uint8Array | Uint8Array[]) =>
  (Array.isArray(bytes) ? bytes : [bytes]).every((b) => b.every((x) => x === 0));

/** A decoded value as text: `{ packets: 3, bytes: 179 }`. */
function show(value: BtfValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (typeof value === 'object')
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${show(v)}`)
      .join(', ')} }`;
  return String(value);
}

/** Whether a map looks like a log2 histogram: u32 slot keys, integer counts, "hist"/"slot" in the name. */
function isHistogram(map: BpfMap): boolean {
  const { keySize, valueSize, name } = map.spec;
  return keySize === 4 && valueSize <= 8 && /hist|slot|dist/i.test(name);
}

/** The object's maps (not its data sections) as tables, values shown by their BTF types. */
export function renderMaps(object: LoadedObject): string {
  const parts: string[] = [];
  const { btf } = object;
  for (const [name, map] of object.vm.maps) {
    if (name.startsWith('.') || map.spec.type === 'PROG_ARRAY' || map.spec.type === 'RINGBUF') continue;
    const entries = [...map.entries()] as Array<[Uint8Array, Uint8Array | Uint8Array[]]>;
    parts.push(
      `\nmap ${pc.bold(name)} (${map.spec.type}${isPerCpu(map.spec.type) ? ', summed over CPUs' : ''}):`,
    );
    if (isHistogram(map)) {
      const slots = new Array<bigint>(64).fill(0n);
      for (const [key, value] of entries) {
        const slot = Number(unsigned(key));
        if (slot < 64) slots[slot] += total(value) ?? 0n;
      }
      // bcc's slots (`bpf_log2l`): slot i counts [2^(i-1), 2^i), 0 alone in slot 0.
      parts.push(formatHistogram(log2Histogram(slots, 'value', 'bcc')) || '  (no non-zero entries)');
      continue;
    }
    const shown = entries.filter(([, value]) => !isZero(value));
    if (shown.length === 0) {
      parts.push('  (no non-zero entries)');
      continue;
    }
    const keyCodec = btf && map.spec.btfKeyTypeId ? btfCodec(btf, map.spec.btfKeyTypeId) : undefined;
    const valueCodec = btf && map.spec.btfValueTypeId ? btfCodec(btf, map.spec.btfValueTypeId) : undefined;
    for (const [key, value] of shown) {
      const keyText = keyCodec
        ? show(keyCodec.decode(key))
        : key.length <= 8
          ? String(unsigned(key))
          : toHex(key);
      const list = Array.isArray(value) ? value : [value];
      const valueText = valueCodec
        ? show(sumBtfValues(list.map((v) => valueCodec.decode(v))))
        : (total(value)?.toString() ?? toHex(list[0]));
      parts.push(`  key: ${keyText.padEnd(12)} value: ${valueText}`);
    }
  }
  return parts.length ? `${parts.join('\n')}\n` : '';
}
