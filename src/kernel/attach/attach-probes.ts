/**
 * Perf-event based attachments: kprobes and uprobes through their dynamic PMUs
 * (`/sys/bus/event_source/devices/{kprobe,uprobe}/type`, since 4.17), sampling events, and the
 * step they all share — linking a program to an open perf event (`attachToPerfEvent`, in links.ts).
 *
 * A uprobe names a file and an offset in it. {@link uprobeOffset} turns a function name into that
 * offset by reading the binary's `.symtab` and `.dynsym` with our own ELF reader: a symbol's value
 * is a virtual address, and the section containing it says where those bytes are in the file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { TsbpfError } from '../../errors.js';
import { type ElfFile, type ElfSection, parseElf, SectionType, SymbolTypes } from '../../object/elf.js';
import type { KernelProgram } from '../load/program.js';
import { cString, encodeStruct, PERF_EVENT_ATTR, type Values } from '../sys/attr.js';
import { SyscallError } from '../sys/errors.js';
import { getSys, perfEventOpen, type Sys } from '../sys/syscall.js';
import { attachToPerfEvent, type Link, PERF_FLAG_FD_CLOEXEC } from './links.js';

/** `linux/perf_event.h`. */
export const PerfType = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
  BREAKPOINT: 5,
} as const;
/** `enum perf_sw_ids`. */
export const PerfSwConfig = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  BPF_OUTPUT: 10,
} as const;

const PMU_ROOT = '/sys/bus/event_source/devices';

/** A probe kind the running kernel cannot provide (no PMU, no tracefs interface). */
export class ProbeUnavailableError extends TsbpfError {
  override name = 'ProbeUnavailableError';
  readonly kind: 'kprobe' | 'uprobe';
  constructor(kind: 'kprobe' | 'uprobe', detail: string) {
    super(`${kind}: ${detail}`);
    this.kind = kind;
  }
}

/** The dynamic PMU of kprobes or uprobes: its perf type and the `retprobe` config bit. */
export interface ProbePmu {
  readonly type: number;
  readonly retprobeBit: number;
}

/** The PMU of `kind`, or undefined when this kernel has none. */
export function probePmu(kind: 'kprobe' | 'uprobe'): ProbePmu | undefined {
  let type: number;
  try {
    type = Number(readFileSync(`${PMU_ROOT}/${kind}/type`, 'utf8').trim());
  } catch {
    return undefined;
  }
  let retprobeBit = 0;
  try {
    // "config:0": the bit of attr.config that makes the probe a return probe.
    const format = readFileSync(`${PMU_ROOT}/${kind}/format/retprobe`, 'utf8').trim();
    retprobeBit = Number(/^config:(\d+)$/.exec(format)?.[1] ?? 0);
  } catch {
    // Kernels without the format file use bit 0.
  }
  return { type, retprobeBit };
}

function requirePmu(kind: 'kprobe' | 'uprobe'): ProbePmu {
  const pmu = probePmu(kind);
  if (pmu) return pmu;
  const legacy = existsSync(`/sys/kernel/tracing/${kind}_events`);
  throw new ProbeUnavailableError(
    kind,
    `${kind}s are not available on this kernel: ${PMU_ROOT}/${kind} does not exist` +
      (legacy ? '' : ` and neither does /sys/kernel/tracing/${kind}_events`) +
      ` (kernel built without CONFIG_${kind === 'kprobe' ? 'KPROBE' : 'UPROBE'}_EVENTS). ` +
      (kind === 'kprobe'
        ? 'Attach to a tracepoint (tracepoint/syscalls/sys_enter_<name>, tracepoint/sched/...) or a tp_btf raw tracepoint instead.'
        : 'Use USDT-free alternatives such as tracepoints.'),
  );
}

/** `perf_event_open` with an encoded {@link PERF_EVENT_ATTR}. */
export function openPerfEvent(
  values: Values<typeof PERF_EVENT_ATTR>,
  pid: number,
  cpu: number,
  sys: Sys = getSys(),
): number {
  const attr = encodeStruct(PERF_EVENT_ATTR, { size: PERF_EVENT_ATTR.size, ...values }, (bytes) =>
    sys.addressOf(bytes),
  );
  return perfEventOpen(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/** Options of {@link attachKprobe}. */
export interface KprobeOptions {
  /** Bytes into the function (kprobes only). */
  readonly offset?: number;
  /** Probe the return (kretprobe). */
  readonly retprobe?: boolean;
  readonly cookie?: bigint;
  readonly sys?: Sys;
}

/**
 * Attach a `KPROBE` program to kernel function `symbol` through the kprobe PMU. Where the kernel
 * has no kprobe PMU (this one: CONFIG_KPROBE_EVENTS is off) a {@link ProbeUnavailableError} says
 * so and what to use instead.
 */
export function attachKprobe(program: KernelProgram, symbol: string, options: KprobeOptions = {}): Link {
  const pmu = requirePmu('kprobe');
  const sys = getSys(options.sys);
  const name = cString(symbol);
  const kind = options.retprobe ? 'kretprobe' : 'kprobe';
  let fd: number;
  try {
    fd = openPerfEvent(
      {
        type: pmu.type,
        config: options.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n,
        kprobe_func: name,
        probe_offset: BigInt(options.offset ?? 0),
      },
      -1,
      0,
      sys,
    );
  } catch (error) {
    throw new TsbpfError(
      `${kind} ${symbol}: perf_event_open failed${error instanceof SyscallError && error.is('ENOENT') ? ' (no such kernel function, or it cannot be probed: see /sys/kernel/tracing/available_filter_functions)' : ''}`,
      { cause: error },
    );
  }
  return attachToPerfEvent(program, fd, `${kind} ${symbol}${options.offset ? `+${options.offset}` : ''}`, {
    cookie: options.cookie,
    sys,
  });
}

/** A symbol of a linked binary, with where its code is in the file. */
export interface BinarySymbol {
  readonly name: string;
  /** Virtual address (`st_value`). */
  readonly address: number;
  readonly size: number;
  /** File offset of the first byte: what a uprobe takes. */
  readonly fileOffset: number;
  readonly table: '.symtab' | '.dynsym';
}

const elfCache = new Map<string, { mtimeMs: number; elf: ElfFile }>();

/** `.dynsym` entries (our ELF reader reads `.symtab` only). */
function dynamicSymbols(
  elf: ElfFile,
): Array<{ name: string; value: number; size: number; type: number; shndx: number }> {
  const dynsym = elf.sections.find((s) => s.type === SectionType.DYNSYM);
  if (!dynsym) return [];
  const strtab = elf.sections[dynsym.link];
  if (!strtab) return [];
  const view = new DataView(dynsym.data.buffer, dynsym.data.byteOffset, dynsym.data.byteLength);
  const names = strtab.data;
  const out = [];
  for (let at = 24; at + 24 <= dynsym.data.length; at += 24) {
    const nameOffset = view.getUint32(at, !elf.bigEndian);
    const end = names.indexOf(0, nameOffset);
    out.push({
      name: new TextDecoder().decode(names.subarray(nameOffset, end < 0 ? names.length : end)),
      type: view.getUint8(at + 4) & 0xf,
      shndx: view.getUint16(at + 6, !elf.bigEndian),
      value: Number(view.getBigUint64(at + 8, !elf.bigEndian)),
      size: Number(view.getBigUint64(at + 16, !elf.bigEndian)),
    });
  }
  return out;
}

function fileOffsetOf(sections: readonly ElfSection[], address: number): number | undefined {
  for (const section of sections) {
    if (section.type === SectionType.NOBITS || section.addr === 0) continue;
    if (address >= section.addr && address < section.addr + section.size) {
      return address - section.addr + section.offset;
    }
  }
  return undefined;
}

/**
 * Find function `name` in the ELF binary at `path` (`.symtab` first, then `.dynsym`; versioned
 * names like `malloc@@GLIBC_2.2.5` match their base name) and return its file offset.
 */
export function findBinarySymbol(path: string, name: string): BinarySymbol {
  let elf: ElfFile;
  try {
    // Parsed binaries are cached (a libc is 2 MB) until the file changes.
    const { mtimeMs } = statSync(path);
    const cached = elfCache.get(path);
    if (cached && cached.mtimeMs === mtimeMs) elf = cached.elf;
    else {
      elf = parseElf(readFileSync(path));
      elfCache.set(path, { mtimeMs, elf });
    }
  } catch (error) {
    throw new TsbpfError(`uprobe ${path}:${name}: cannot read the binary`, { cause: error });
  }
  const candidates = [
    ...elf.symbols.map((s) => ({
      name: s.name,
      value: s.value,
      size: s.size,
      isFunc: s.type === 'func' || s.type === 'gnu_ifunc',
      defined: s.sectionIndex !== 0,
      table: '.symtab' as const,
    })),
    ...dynamicSymbols(elf).map((s) => ({
      name: s.name,
      value: s.value,
      size: s.size,
      isFunc: s.type === SymbolTypes.func || s.type === SymbolTypes.gnu_ifunc,
      defined: s.shndx !== 0,
      table: '.dynsym' as const,
    })),
  ];
  const match = candidates.find(
    (s) => s.isFunc && s.defined && s.value !== 0 && (s.name === name || s.name.split('@')[0] === name),
  );
  if (!match) {
    throw new TsbpfError(
      `uprobe ${path}:${name}: no defined function '${name}' in its .symtab or .dynsym` +
        (elf.symbols.length === 0 ? ' (the binary is stripped: give an offset instead)' : ''),
    );
  }
  const fileOffset = fileOffsetOf(elf.sections, match.value);
  if (fileOffset === undefined) {
    throw new TsbpfError(
      `uprobe ${path}:${name}: address 0x${match.value.toString(16)} is in no section with file bytes`,
    );
  }
  return { name: match.name, address: match.value, size: match.size, fileOffset, table: match.table };
}

/** Options of {@link attachUprobe}. */
export interface UprobeOptions {
  /** Probe the return (uretprobe). */
  readonly retprobe?: boolean;
  /** Only in this process (default: every process that maps the file). */
  readonly pid?: number;
  readonly cookie?: bigint;
  readonly sys?: Sys;
}

/**
 * Attach a `KPROBE`-type program as a uprobe on `binary` at a function (by name, resolved with
 * {@link findBinarySymbol}) or a file offset, through the uprobe PMU.
 */
export function attachUprobe(
  program: KernelProgram,
  binary: string,
  target: string | number,
  options: UprobeOptions = {},
): Link {
  const pmu = requirePmu('uprobe');
  const sys = getSys(options.sys);
  const offset = typeof target === 'number' ? target : findBinarySymbol(binary, target).fileOffset;
  const path = cString(binary);
  const kind = options.retprobe ? 'uretprobe' : 'uprobe';
  const pid = options.pid ?? -1;
  let fd: number;
  try {
    // A system-wide probe (pid -1) must name a CPU; the program still runs on every CPU, as it is
    // attached to the probe itself.
    fd = openPerfEvent(
      {
        type: pmu.type,
        config: options.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n,
        kprobe_func: path,
        probe_offset: BigInt(offset),
      },
      pid,
      pid === -1 ? 0 : -1,
      sys,
    );
  } catch (error) {
    throw new TsbpfError(`${kind} ${binary}:${target}: perf_event_open failed`, { cause: error });
  }
  const what =
    typeof target === 'number' ? `0x${target.toString(16)}` : `${target} (0x${offset.toString(16)})`;
  return attachToPerfEvent(program, fd, `${kind} ${binary}:${what}`, { cookie: options.cookie, sys });
}

/** Options of {@link attachPerfEventSampling}. */
export interface PerfSamplingOptions {
  /** `PerfType` (default SOFTWARE). */
  readonly type?: number;
  /** Event config (default `PerfSwConfig.CPU_CLOCK`). */
  readonly config?: number | bigint;
  /** Samples per second per CPU (default 99, bcc's habit); ignored with `period`. */
  readonly frequency?: number;
  /** One sample every `period` events. */
  readonly period?: number | bigint;
  /** CPUs to sample on (default all online CPUs). */
  readonly cpus?: readonly number[];
  /** Only this process (default every process). */
  readonly pid?: number;
  readonly sys?: Sys;
}

function onlineCpus(): number[] {
  const list = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let cpu = from; cpu <= to; cpu++) out.push(cpu);
  }
  return out;
}

/**
 * Attach a `PERF_EVENT` program to a sampling event on every CPU (one perf event per CPU). One
 * {@link Link} is returned; closing it detaches from all CPUs.
 */
export function attachPerfEventSampling(program: KernelProgram, options: PerfSamplingOptions = {}): Link {
  const sys = getSys(options.sys);
  const cpus = options.cpus ?? onlineCpus();
  const byPeriod = options.period !== undefined;
  const others: Link[] = [];
  const releaseOthers = () => {
    for (const link of others) link.close();
  };
  try {
    for (const cpu of cpus.slice(1)) others.push(attachOne(cpu));
  } catch (error) {
    releaseOthers();
    throw error;
  }
  const first = openOne(cpus[0] ?? 0);
  return attachToPerfEvent(program, first, `perf_event on ${cpus.length} CPUs`, {
    sys,
    release: releaseOthers,
  });

  function openOne(cpu: number): number {
    return openPerfEvent(
      {
        type: options.type ?? PerfType.SOFTWARE,
        config: BigInt(options.config ?? PerfSwConfig.CPU_CLOCK),
        ...(byPeriod
          ? { sample_period: BigInt(options.period ?? 0) }
          : { sample_freq: options.frequency ?? 99 }),
        freq: !byPeriod,
      },
      options.pid ?? -1,
      cpu,
      sys,
    );
  }
  function attachOne(cpu: number): Link {
    return attachToPerfEvent(program, openOne(cpu), `perf_event cpu ${cpu}`, { sys });
  }
}
