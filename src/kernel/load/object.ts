/**
 * Loading a whole BPF object into the kernel, as libbpf's `bpf_object__load` does:
 *
 * ```
 *  ObjectSpec ──► BTF ──────────► maps ───────────► globals ─────► programs ──────► prog arrays
 *                 extern fix-ups  BTF key/value ids  initial bytes  ksyms, CO-RE     slots ← fds
 *                 sanitised for   inner templates    .rodata set    fd_array = maps
 *                 this kernel     pins by name       and frozen     func/line info
 * ```
 *
 * Every program gets its own verdict: one the verifier rejects does not stop the others loading
 * (unlike libbpf, whose load fails as a whole), so `tsbpf load` can report them all. Failures
 * before the programs (BTF aside, which is optional as in libbpf) close whatever was created and
 * throw.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TsbpfError } from '../../errors.js';
import { type Insn, makeInsn } from '../../isa/instruction.js';
import { PseudoSrc } from '../../isa/opcodes.js';
import { BpfMap } from '../../maps/map.js';
import type { MapSpec } from '../../maps/ops.js';
import { type Btf, parseBtf, writeBtf } from '../../object/btf.js';
import { applyCoreRelocations, type CoreCandidateCache } from '../../object/core.js';
import {
  loadObjectSpec,
  ObjectError,
  type ObjectMap,
  type ObjectSpec,
  type ProgramSpec,
} from '../../object/object.js';
import { UnknownSectionError } from '../../object/sections.js';
import { AttachType, type MapTypeName, ProgType } from '../../uapi.js';
import { type LineLookup, type SourceLine, SyscallError, VerifierError } from '../sys/errors.js';
import { getSys, type Sys } from '../sys/syscall.js';
import { type KernelBtf, loadBtf } from './btf.js';
import {
  type BtfFeatures,
  fixupExterns,
  markHiddenStatic,
  probeBtfFeatures,
  sanitizeBtf,
} from './btf-sanitize.js';
import { type KconfigExtern, kconfigType, kconfigValue, kernelVersionCode } from './kconfig.js';
import { createMap, type KernelMapOps, openPinnedMap, possibleCpus } from './map.js';
import {
  FUNC_INFO_SIZE,
  type KernelProgram,
  LINE_INFO_SIZE,
  type LoadProgramOptions,
  LogLevel,
  loadProgram,
  ProgFlags,
} from './program.js';

/** A value for a global variable: raw bytes, or a number encoded little-endian in its size. */
export type GlobalValue = Uint8Array | number | bigint | boolean;

/** Options of {@link loadObject}. */
export interface LoadObjectOptions {
  readonly sys?: Sys;
  /**
   * The object's name, the prefix of its global data maps' kernel names (`globals.rodata`, as
   * libbpf: up to 8 characters); default the file name up to its first dot, or `obj`.
   */
  readonly name?: string;
  /** bpffs directory of maps pinned by name (`__uint(pinning, LIBBPF_PIN_BY_NAME)`); default `/sys/fs/bpf`. */
  readonly pinPath?: string;
  /**
   * Values of `.rodata` variables (`const volatile` load-time configuration), set before the map
   * is frozen and the programs verified, like a libbpf skeleton's `skel->rodata->x = …`.
   */
  readonly rodata?: Readonly<Record<string, GlobalValue>>;
  /** Initial values of `.data`, `.bss` and `.data.*` variables. */
  readonly data?: Readonly<Record<string, GlobalValue>>;
  /** `.kconfig` values that win over the kernel config (`{ CONFIG_HZ: '250' }`). */
  readonly kconfig?: Readonly<Record<string, string>>;
  /** The kernel config to read `CONFIG_*` externs from; default `/proc/config.gz`. */
  readonly kernelConfig?: ReadonlyMap<string, string>;
  /** Target BTF for CO-RE, ksyms and BTF attach targets; default `/sys/kernel/btf/vmlinux`. */
  readonly targetBtf?: Btf;
  /** Load only these programs (by name); the rest are reported as not loaded. Default: all. */
  readonly programs?: readonly string[];
  /**
   * Ask the verifier for statistics on every load (`BPF_LOG_STATS`), so accepted programs report
   * `processed N insns` too. Default true; it costs a small log buffer, not a second load.
   */
  readonly stats?: boolean;
  /** Log level of the retry that explains a rejection; default `BRANCH | STATS` (5). */
  readonly logLevel?: number;
  /** BTF features to assume instead of probing the kernel (tests of the sanitiser). */
  readonly btfFeatures?: BtfFeatures;
  /** Load every program with this verifier log level (1 or 2), accepted or not (log comparisons). */
  readonly verifierLogLevel?: 1 | 2;
}

/** What happened to one program of the object. */
export interface LoadedProgram {
  readonly spec: ProgramSpec;
  /** The loaded program; undefined when it was rejected or not loaded. */
  readonly program?: KernelProgram;
  /** Why it is not loaded: a {@link VerifierError}, a {@link SyscallError} (EPERM…), or a relocation problem. */
  readonly error?: Error;
  /** `processed N insns` from the verifier's statistics, when the log had them. */
  readonly insnsProcessed?: number;
  /** The verifier log (statistics for an accepted program, the full log for a rejected one). */
  readonly log?: string;
}

/** An object loaded into the kernel: its programs' verdicts and its maps. Close it to release every fd. */
export class KernelObject {
  /** Programs by name, in object order. */
  readonly programs: ReadonlyMap<string, LoadedProgram>;
  /** Maps by their object name (`.rodata`, `counters`), in object order. */
  readonly maps: ReadonlyMap<string, BpfMap>;
  /** The object's BTF in the kernel, when it had BTF and the kernel took it. */
  readonly btf: KernelBtf | undefined;
  /** Things that did not stop the load: BTF rejected, sanitised kinds, slots left empty… */
  readonly warnings: readonly string[];
  readonly spec: ObjectSpec;

  constructor(init: {
    programs: Map<string, LoadedProgram>;
    maps: Map<string, BpfMap>;
    btf: KernelBtf | undefined;
    warnings: string[];
    spec: ObjectSpec;
  }) {
    this.programs = init.programs;
    this.maps = init.maps;
    this.btf = init.btf;
    this.warnings = init.warnings;
    this.spec = init.spec;
  }

  /** The loaded program `name`; throws with its load error when it was not loaded. */
  program(name: string): KernelProgram {
    const loaded = this.programs.get(name);
    if (!loaded) throw new TsbpfError(`object: no program '${name}'`);
    if (!loaded.program)
      throw new TsbpfError(`object: program '${name}' is not loaded`, { cause: loaded.error });
    return loaded.program;
  }

  /** The map `name` (its object name: `.rodata`, `counters`). */
  map(name: string): BpfMap {
    const map = this.maps.get(name);
    if (!map) throw new TsbpfError(`object: no map '${name}' (maps: ${[...this.maps.keys()].join(', ')})`);
    return map;
  }

  /** Close every program, map and BTF fd. Pinned objects live on. Idempotent. */
  close(): void {
    for (const loaded of this.programs.values()) loaded.program?.close();
    for (const map of this.maps.values()) map.close();
    this.btf?.close();
  }
}

/** Map types the kernel rejects BTF key/value ids for (libbpf clears them too). */
const NO_BTF_MAP_TYPES = new Set<MapTypeName>([
  'PERF_EVENT_ARRAY',
  'CGROUP_ARRAY',
  'STACK_TRACE',
  'ARRAY_OF_MAPS',
  'HASH_OF_MAPS',
  'DEVMAP',
  'DEVMAP_HASH',
  'CPUMAP',
  'XSKMAP',
  'SOCKMAP',
  'SOCKHASH',
  'QUEUE',
  'STACK',
  'PROG_ARRAY',
  'RINGBUF',
  'USER_RINGBUF',
]);

/** libbpf's `POISON_CALL_KFUNC_BASE`: an unresolved weak kfunc call, rejected only if reachable. */
const POISON_KFUNC = 2_002_000_000;

const VMLINUX = '/sys/kernel/btf/vmlinux';
let vmlinux: Btf | undefined;

/** The running kernel's BTF, parsed once per process (≈0.3 s for a distribution kernel). */
export function vmlinuxBtf(): Btf {
  if (!vmlinux) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(VMLINUX));
    } catch (error) {
      throw new TsbpfError(
        `kernel BTF: cannot read ${VMLINUX} (${(error as NodeJS.ErrnoException).code}); the kernel needs CONFIG_DEBUG_INFO_BTF`,
        { cause: error },
      );
    }
    vmlinux = parseBtf(bytes);
  }
  return vmlinux;
}

/** The object name libbpf would use: the file name up to its first dot. */
function objectName(input: string | Uint8Array | ObjectSpec, options: LoadObjectOptions): string {
  if (options.name) return options.name;
  if (typeof input === 'string') return basename(input).split('.')[0] || 'obj';
  return 'obj';
}

/**
 * The kernel name of a map (libbpf's `internal_map_name`): `.data`, `.rodata`, `.bss` and
 * `.kconfig` get the object name as a prefix, cut so the whole fits 15 characters; other maps
 * keep their names.
 */
export function kernelMapName(map: ObjectMap, objName: string): string {
  const internal = ['.data', '.rodata', '.bss', '.kconfig'].includes(map.section) && map.origin !== 'btf';
  if (!internal) return map.name;
  const prefix = objName.slice(0, Math.min(8, 15 - map.section.length));
  return `${prefix}${map.section}`;
}

/** Little-endian bytes of a global's value. */
function globalBytes(name: string, value: GlobalValue, size: number): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length > size)
      throw new TsbpfError(`global '${name}': ${value.length} bytes do not fit in ${size}`);
    const out = new Uint8Array(size);
    out.set(value);
    return out;
  }
  const number = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  if (![1, 2, 4, 8].includes(size))
    throw new TsbpfError(`global '${name}': a number cannot set a ${size}-byte variable; pass bytes`);
  const bits = BigInt(size * 8);
  if (number < -(1n << (bits - 1n)) || number >= 1n << bits)
    throw new TsbpfError(`global '${name}': ${number} does not fit in ${size} bytes`);
  const raw = BigInt.asUintN(size * 8, number);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((raw >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** Apply `values` to the data maps whose section `matches`; every name must be found. */
function applyGlobals(
  maps: readonly ObjectMap[],
  initial: Map<number, Uint8Array>,
  values: Readonly<Record<string, GlobalValue>> | undefined,
  matches: (section: string) => boolean,
  what: string,
): void {
  if (!values) return;
  for (const [name, value] of Object.entries(values)) {
    let found = false;
    maps.forEach((map, index) => {
      if (map.origin !== 'data' || !matches(map.section)) return;
      const variable = map.variables?.find((v) => v.name === name);
      if (!variable) return;
      const bytes = initial.get(index) ?? new Uint8Array(map.valueSize);
      bytes.set(globalBytes(name, value, variable.size), variable.offset);
      initial.set(index, bytes);
      found = true;
    });
    if (!found) {
      const known = maps
        .filter((m) => m.origin === 'data' && matches(m.section))
        .flatMap((m) => (m.variables ?? []).map((v) => v.name));
      throw new TsbpfError(
        `${what}: no variable '${name}' (the object has ${known.length ? known.join(', ') : 'none'}; BTF is needed to find them)`,
      );
    }
  }
}

/** Whether a pinned map matches the spec closely enough to share (libbpf's `map_is_reuse_compat`). */
function pinCompatible(pinned: KernelMapOps, spec: MapSpec): string | undefined {
  const info = pinned.info();
  const differences = [
    info.typeName !== spec.type ? `type ${info.typeName} ≠ ${spec.type}` : '',
    info.keySize !== spec.keySize ? `key_size ${info.keySize} ≠ ${spec.keySize}` : '',
    info.valueSize !== spec.valueSize ? `value_size ${info.valueSize} ≠ ${spec.valueSize}` : '',
    info.maxEntries !== spec.maxEntries ? `max_entries ${info.maxEntries} ≠ ${spec.maxEntries}` : '',
    info.flags !== (spec.flags ?? 0)
      ? `map_flags 0x${info.flags.toString(16)} ≠ 0x${(spec.flags ?? 0).toString(16)}`
      : '',
  ].filter(Boolean);
  return differences.length ? differences.join(', ') : undefined;
}

/** What the kernel needs of a map beyond the object's definition. */
function adjustSpec(map: ObjectMap, name: string): MapSpec {
  let maxEntries = map.maxEntries;
  // A perf event array of 0 entries gets one per possible CPU, as libbpf does.
  if (map.type === 'PERF_EVENT_ARRAY' && maxEntries === 0) maxEntries = possibleCpus();
  // Ring buffers must be a power-of-two number of pages.
  if ((map.type === 'RINGBUF' || map.type === 'USER_RINGBUF') && maxEntries > 0) {
    let size = 4096;
    while (size < maxEntries) size *= 2;
    maxEntries = size;
  }
  const spec: MapSpec = {
    name,
    type: map.type,
    keySize: map.keySize,
    valueSize: map.valueSize,
    maxEntries,
    flags: map.flags ?? 0,
    ...(map.mapExtra !== undefined ? { mapExtra: map.mapExtra } : {}),
    ...(map.numaNode !== undefined ? { numaNode: map.numaNode } : {}),
  };
  return spec;
}

/** Where each kconfig extern goes and how it is encoded. */
function kconfigExterns(spec: ObjectSpec): KconfigExtern[] {
  const btf = spec.btf;
  return spec.externs
    .filter((e) => e.kind === 'kconfig')
    .map((e) => ({
      name: e.name,
      type:
        btf && e.btfId !== undefined
          ? kconfigType(btf, e.btfId, e.name)
          : { kind: 'int' as const, size: e.size ?? 4, signed: false },
      offset: e.offset ?? 0,
      size: e.size ?? 4,
      weak: e.weak,
    }));
}

/**
 * The spec with its `.kconfig` map holding what libbpf would write there for this kernel
 * (`LINUX_KERNEL_VERSION`, `CONFIG_*`), frozen: a verifier sees the values programs branch on.
 */
export function withKernelKconfig(
  spec: ObjectSpec,
  options: Pick<LoadObjectOptions, 'kconfig'> = {},
): ObjectSpec {
  const index = spec.maps.findIndex((m) => m.origin === 'kconfig');
  if (index < 0) return spec;
  const value = kconfigValue(kconfigExterns(spec), spec.maps[index]!.valueSize, {
    ...(options.kconfig ? { overrides: new Map(Object.entries(options.kconfig)) } : {}),
  });
  return {
    ...spec,
    maps: spec.maps.map((m, i) => (i === index ? { ...m, initialValue: value, freeze: true } : m)),
  };
}

/** `struct bpf_func_info` records of a program. */
function funcInfoBytes(program: ProgramSpec): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(program.funcInfo.length * FUNC_INFO_SIZE));
  const view = new DataView(out.buffer);
  program.funcInfo.forEach((f, i) => {
    view.setUint32(i * FUNC_INFO_SIZE, f.slot, true);
    view.setUint32(i * FUNC_INFO_SIZE + 4, f.typeId, true);
  });
  return out;
}

/** `struct bpf_line_info` records, strictly increasing by slot as the kernel demands. */
function lineInfoBytes(program: ProgramSpec): Uint8Array {
  const records = program.lineInfo.filter((l, i, all) => i === 0 || l.slot > all[i - 1]!.slot);
  const out = new Uint8Array(new ArrayBuffer(records.length * LINE_INFO_SIZE));
  const view = new DataView(out.buffer);
  records.forEach((l, i) => {
    const at = i * LINE_INFO_SIZE;
    view.setUint32(at, l.slot, true);
    view.setUint32(at + 4, l.fileNameOff, true);
    view.setUint32(at + 8, l.lineOff, true);
    // line_col: line number in the upper 22 bits, column in the lower 10.
    view.setUint32(at + 12, ((l.lineNumber << 10) | (l.column & 0x3ff)) >>> 0, true);
  });
  return out;
}

let kallsyms: Map<string, bigint> | undefined;

/** A kernel symbol's address from `/proc/kallsyms` (typeless ksyms; needs root to be non-zero). */
function kallsymsAddress(name: string): bigint | undefined {
  if (!kallsyms) {
    kallsyms = new Map();
    for (const line of readFileSync('/proc/kallsyms', 'utf8').split('\n')) {
      const [address, , symbol] = line.split(/\s+/);
      if (symbol && address && !kallsyms.has(symbol)) kallsyms.set(symbol, BigInt(`0x${address}`));
    }
  }
  return kallsyms.get(name);
}

/**
 * Resolve a program's kernel symbols against the target BTF (libbpf's `bpf_object__resolve_ksyms`):
 * a kfunc call gets the FUNC's BTF id, a typed `__ksym` variable the VAR's id
 * (`BPF_PSEUDO_BTF_ID`), a typeless one (`extern const void x __ksym`) its kallsyms address, a
 * kfunc's address (`bpf_ksym_exists(kfunc)`) the FUNC's id as `BPF_PSEUDO_BTF_ID`.
 * Unresolved weak symbols become 0 (variables, addresses) or a poisoned call (kfuncs).
 */
function resolveKsyms(program: ProgramSpec, spec: ObjectSpec, target: () => Btf): Insn[] {
  const insns = [...program.insns];
  program.externReferences.forEach((ref) => {
    const insn = insns[ref.insn]!;
    const extern = spec.externs.find((e) => e.name === ref.name);
    const weak = extern?.weak ?? false;
    const fail = (why: string): never => {
      throw new ObjectError(`extern '${ref.name}': ${why}`, { section: program.section, insn: insn.slot });
    };
    if (ref.kind === 'kfunc') {
      const func = target()
        .typesByName(ref.name)
        .find((t) => t.kind === 'func');
      if (func) {
        insns[ref.insn] = makeInsn({ ...insn, imm: func.id, off: 0 }, insn.slot);
      } else if (weak) {
        insns[ref.insn] = makeInsn({ opcode: 0x85, dst: 0, src: 0, off: 0, imm: POISON_KFUNC }, insn.slot);
      } else {
        fail('no such kfunc in the kernel BTF');
      }
      return;
    }
    const local = spec.btf && extern?.btfId !== undefined ? spec.btf.typeById(extern.btfId) : undefined;
    if (local?.kind === 'func') {
      // The address of a kfunc (`bpf_ksym_exists(kfunc)`): libbpf loads its FUNC id as a
      // BPF_PSEUDO_BTF_ID, which the kernel turns into the function's address (non-zero).
      const func = target()
        .typesByName(ref.name)
        .find((t) => t.kind === 'func');
      if (func) insns[ref.insn] = makeInsn({ ...insn, src: PseudoSrc.BTF_ID, imm: func.id }, insn.slot, 0);
      else if (weak) insns[ref.insn] = makeInsn({ ...insn, src: PseudoSrc.IMM, imm: 0 }, insn.slot, 0);
      else fail('no such kfunc in the kernel BTF');
      return;
    }
    const typeless = local?.kind === 'var' && spec.btf?.resolve(local.typeId).kind === 'void';
    if (typeless) {
      const address = kallsymsAddress(ref.name);
      if (address === undefined && !weak) fail('not in /proc/kallsyms');
      const value = address ?? 0n;
      insns[ref.insn] = makeInsn(
        { ...insn, src: PseudoSrc.IMM, imm: Number(BigInt.asIntN(32, value & 0xffffffffn)) },
        insn.slot,
        Number(BigInt.asIntN(32, value >> 32n)),
      );
      return;
    }
    const variable = target()
      .typesByName(ref.name)
      .find((t) => t.kind === 'var');
    if (variable) {
      insns[ref.insn] = makeInsn({ ...insn, src: PseudoSrc.BTF_ID, imm: variable.id }, insn.slot, 0);
    } else if (weak) {
      insns[ref.insn] = makeInsn({ ...insn, src: PseudoSrc.IMM, imm: 0 }, insn.slot, 0);
    } else {
      fail('no such variable in the kernel BTF');
    }
  });
  return insns;
}

/** The BTF id of a `tp_btf/`, `fentry/`, `lsm/`, `iter/` target in the kernel BTF. */
function attachBtfId(program: ProgramSpec, target: Btf): number {
  const info = program.sectionInfo!;
  const name = info.target;
  const where = { section: program.section };
  if (!name) throw new ObjectError(`program '${program.name}': the section names no attach target`, where);
  const prefix = info.def.prefix;
  const [wanted, kind] =
    prefix === 'tp_btf'
      ? [`btf_trace_${name}`, 'typedef']
      : prefix.startsWith('lsm')
        ? [`bpf_lsm_${name}`, 'func']
        : prefix.startsWith('iter')
          ? [`bpf_iter_${name}`, 'func']
          : [name, 'func'];
  const found = target.typesByName(wanted).find((t) => t.kind === kind);
  if (!found)
    throw new ObjectError(
      `program '${program.name}': no ${kind.toUpperCase()} '${wanted}' in the kernel BTF`,
      where,
    );
  return found.id;
}

/** `processed 12 insns (limit …)` → 12. */
export function insnsProcessed(log: string | undefined): number | undefined {
  const match = log ? /processed (\d+) insns/.exec(log) : null;
  return match ? Number(match[1]) : undefined;
}

/** Maps kernel instruction (slot) indexes of a linked program to their source lines. */
function lineLookup(program: ProgramSpec): LineLookup {
  const bySlot = new Map<number, SourceLine>();
  program.insns.forEach((insn, i) => {
    const line = program.lines[i];
    if (line) bySlot.set(insn.slot, line);
  });
  return (slot) => bySlot.get(slot);
}

/** Read the input: a file path, object bytes, or an already parsed spec. */
function specOf(input: string | Uint8Array | ObjectSpec): ObjectSpec {
  if (typeof input === 'string') {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(input));
    } catch (error) {
      throw new TsbpfError(`load object: ${input}: cannot read (${(error as NodeJS.ErrnoException).code})`, {
        cause: error,
      });
    }
    return loadObjectSpec(bytes);
  }
  if (input instanceof Uint8Array) return loadObjectSpec(input);
  return input;
}

/** Global or weak functions in `.text` with hidden or internal visibility (libbpf's `mark_btf_static`). */
function hiddenSubprograms(spec: ObjectSpec): Set<string> {
  const text = spec.elf.sectionByName('.text');
  if (!text) return new Set();
  return new Set(
    spec.elf
      .symbolsIn(text.index)
      .filter(
        (s) =>
          s.type === 'func' &&
          (s.bind === 'global' || s.bind === 'weak') &&
          (s.visibility === 'hidden' || s.visibility === 'internal'),
      )
      .map((s) => s.name),
  );
}

/**
 * Load an object into the kernel: BTF, maps, global data, then every program (see the module
 * comment). Program failures are reported per program in {@link KernelObject.programs}; a failure
 * to create a map (or to read the kernel config for a strong `.kconfig` extern) throws, after
 * closing everything already created.
 */
export function loadObject(
  input: string | Uint8Array | ObjectSpec,
  options: LoadObjectOptions = {},
): KernelObject {
  const sys = getSys(options.sys);
  const spec = specOf(input);
  const objName = objectName(input, options);
  const warnings: string[] = [];
  const maps = new Map<string, BpfMap>();
  const ops: KernelMapOps[] = [];
  let btf: KernelBtf | undefined;
  const programs = new Map<string, LoadedProgram>();
  const target = (): Btf => options.targetBtf ?? vmlinuxBtf();

  try {
    // 1. BTF: optional, as in libbpf: without it maps lose their key/value types and programs
    //    their func/line info, but simple objects still load.
    let features: BtfFeatures | undefined;
    if (spec.btf) {
      try {
        features = options.btfFeatures ?? probeBtfFeatures({ sys });
        const kconfigMap = spec.maps.find((m) => m.origin === 'kconfig');
        const fixed = fixupExterns(spec.btf, {
          kconfig: new Map(
            spec.externs
              .filter((e) => e.kind === 'kconfig')
              .map((e) => [e.name, { offset: e.offset ?? 0, size: e.size ?? 0 }]),
          ),
          kconfigSize: kconfigMap?.valueSize ?? 0,
        });
        if (!features.btf) throw new TsbpfError('the kernel does not accept BTF');
        const sanitized = sanitizeBtf(markHiddenStatic(fixed, hiddenSubprograms(spec)), features);
        for (const change of sanitized.changes) warnings.push(`BTF sanitised for this kernel: ${change}`);
        btf = loadBtf(writeBtf(sanitized.btf), { sys });
      } catch (error) {
        warnings.push(`BTF not loaded, continuing without it: ${(error as Error).message}`);
        btf = undefined;
      }
    }

    // 2. Initial contents of the data maps, with the caller's values applied.
    const initial = new Map<number, Uint8Array>();
    spec.maps.forEach((map, index) => {
      if (map.initialValue) initial.set(index, map.initialValue.slice());
    });
    applyGlobals(spec.maps, initial, options.rodata, (s) => s.startsWith('.rodata'), 'rodata');
    applyGlobals(
      spec.maps,
      initial,
      options.data,
      (s) => s.startsWith('.data') || s.startsWith('.bss'),
      'data',
    );
    const kconfigIndex = spec.maps.findIndex((m) => m.origin === 'kconfig');
    if (kconfigIndex >= 0) {
      initial.set(
        kconfigIndex,
        kconfigValue(kconfigExterns(spec), spec.maps[kconfigIndex]!.valueSize, {
          ...(options.kernelConfig ? { config: options.kernelConfig } : {}),
          ...(options.kconfig ? { overrides: new Map(Object.entries(options.kconfig)) } : {}),
        }),
      );
    }

    // 3. Maps, in object order (fd_array index = position in spec.maps).
    const pinRoot = options.pinPath ?? '/sys/fs/bpf';
    spec.maps.forEach((map, index) => {
      const created = createObjectMap(map, kernelMapName(map, objName), btf, sys, pinRoot, warnings);
      ops.push(created.ops);
      const bpfMap = new BpfMap(created.ops);
      maps.set(map.name, bpfMap);
      if (created.reused) return;
      const value = initial.get(index);
      if (map.origin === 'data' || map.origin === 'kconfig') {
        // Even `.bss` is written: a reused array is not necessarily zero.
        created.ops.update(new Uint8Array(4), value ?? new Uint8Array(map.valueSize), 0);
      }
      // `.rodata` and `.kconfig` are frozen before any program is verified, so the verifier
      // reads their values as constants and prunes the branches they decide.
      if (map.freeze) created.ops.freeze();
    });

    // Map-in-map slots name maps of the object.
    spec.maps.forEach((map, index) => {
      for (const slot of map.initialSlots ?? []) {
        if (slot.kind !== 'map') continue;
        const inner = maps.get(slot.name)?.ops as KernelMapOps | undefined;
        if (!inner)
          throw new TsbpfError(`map '${map.name}': slot ${slot.index} names unknown map '${slot.name}'`);
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, slot.index, true);
        const value = new Uint8Array(4);
        new DataView(value.buffer).setUint32(0, inner.fd, true);
        ops[index]!.update(key, value, 0);
      }
    });

    // 4. Programs, each with its own verdict.
    const fdArray = ops.map((o) => o.fd);
    const cache: CoreCandidateCache = new Map();
    const wanted = options.programs ? new Set(options.programs) : undefined;
    for (const program of spec.programs) {
      if (wanted && !wanted.has(program.name)) {
        programs.set(program.name, { spec: program });
        continue;
      }
      programs.set(
        program.name,
        loadOne(program, spec, { sys, btf, features, fdArray, cache, target, options }),
      );
    }

    // 5. Program arrays initialised in the object (`.values = { [1] = &prog }`).
    spec.maps.forEach((map, index) => {
      for (const slot of map.initialSlots ?? []) {
        if (slot.kind !== 'program') continue;
        const loaded = programs.get(slot.name)?.program;
        if (!loaded) {
          warnings.push(
            `map '${map.name}': slot ${slot.index} left empty: program '${slot.name}' is not loaded`,
          );
          continue;
        }
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, slot.index, true);
        const value = new Uint8Array(4);
        new DataView(value.buffer).setUint32(0, loaded.fd, true);
        ops[index]!.update(key, value, 0);
      }
    });
  } catch (error) {
    for (const loaded of programs.values()) loaded.program?.close();
    for (const o of ops) o.close();
    btf?.close();
    throw error;
  }
  return new KernelObject({ programs, maps, btf, warnings, spec });
}

/** Create (or reuse the pinned) map of the object. */
function createObjectMap(
  map: ObjectMap,
  name: string,
  btf: KernelBtf | undefined,
  sys: Sys,
  pinRoot: string,
  warnings: string[],
): { ops: KernelMapOps; reused: boolean } {
  const spec = adjustSpec(map, name);
  const pinPath = map.pinning === 'by_name' ? join(pinRoot, map.name) : undefined;
  if (pinPath && existsSync(pinPath)) {
    const pinned = openPinnedMap(pinPath, { sys });
    const mismatch = pinCompatible(pinned, spec);
    if (mismatch) {
      pinned.close();
      throw new TsbpfError(`map '${map.name}': cannot reuse the map pinned at ${pinPath}: ${mismatch}`);
    }
    return { ops: pinned, reused: true };
  }
  const withBtf = btf !== undefined && !NO_BTF_MAP_TYPES.has(map.type);
  let inner: KernelMapOps | undefined;
  try {
    if (map.innerMap) {
      const innerSpec = adjustSpec(map.innerMap as ObjectMap, `${name.slice(0, 9)}.inner`);
      const innerBtf = btf !== undefined && !NO_BTF_MAP_TYPES.has(map.innerMap.type);
      inner = createMap(
        innerBtf
          ? {
              ...innerSpec,
              ...(map.innerMap.btfKeyTypeId ? { btfKeyTypeId: map.innerMap.btfKeyTypeId } : {}),
              ...(map.innerMap.btfValueTypeId ? { btfValueTypeId: map.innerMap.btfValueTypeId } : {}),
            }
          : innerSpec,
        { sys, ...(innerBtf && btf ? { btfFd: btf.fd } : {}) },
      );
    }
    const innerFd = inner ? { innerMapFd: inner.fd } : {};
    let created: KernelMapOps;
    const full: MapSpec = {
      ...spec,
      ...(withBtf && map.btfKeyTypeId ? { btfKeyTypeId: map.btfKeyTypeId } : {}),
      ...(withBtf && map.btfValueTypeId ? { btfValueTypeId: map.btfValueTypeId } : {}),
    };
    const hasIds = full.btfKeyTypeId !== undefined || full.btfValueTypeId !== undefined;
    try {
      created = createMap(full, { sys, ...innerFd, ...(hasIds && btf ? { btfFd: btf.fd } : {}) });
    } catch (error) {
      if (!hasIds) throw error;
      // As libbpf: a kernel that rejects the map's BTF still gets the map, without types.
      warnings.push(`map '${map.name}': created without BTF types: ${(error as Error).message}`);
      created = createMap(spec, { sys, ...innerFd });
    }
    if (pinPath) {
      try {
        created.pin(pinPath);
      } catch (error) {
        created.close();
        throw error;
      }
    }
    // Keep the object's spec name for messages; the kernel name is what bpftool shows.
    return { ops: created, reused: false };
  } finally {
    inner?.close();
  }
}

interface LoadContext {
  readonly sys: Sys;
  readonly btf: KernelBtf | undefined;
  readonly features: BtfFeatures | undefined;
  readonly fdArray: readonly number[];
  readonly cache: CoreCandidateCache;
  readonly target: () => Btf;
  readonly options: LoadObjectOptions;
}

/** Relocate and load one program; never throws: failures become the program's `error`. */
function loadOne(program: ProgramSpec, spec: ObjectSpec, ctx: LoadContext): LoadedProgram {
  const { sys, btf, features, options } = ctx;
  try {
    const info = program.sectionInfo;
    if (!info) throw new UnknownSectionError(program.section);
    if (info.def.progType === 'EXT')
      throw new ObjectError(
        `program '${program.name}': freplace needs a target program, which loadObject cannot name`,
        {
          section: program.section,
        },
      );
    let insns = resolveKsyms(program, spec, ctx.target);
    if (program.coreRelos.length > 0) {
      if (!spec.btf) throw new ObjectError('CO-RE relocations without BTF', { section: program.section });
      insns = applyCoreRelocations({ ...program, insns }, spec.btf, ctx.target(), { cache: ctx.cache }).insns;
    }
    // func_info needs FUNC in the kernel; line_info is only accepted with func_info.
    const withInfo = btf !== undefined && (features?.func ?? true) && program.funcInfo.length > 0;
    let progFlags = 0;
    if (info.def.sleepable) progFlags |= ProgFlags.SLEEPABLE;
    if (info.def.xdpFrags) progFlags |= ProgFlags.XDP_HAS_FRAGS;
    const base: LoadProgramOptions = {
      type: info.def.progType,
      insns,
      license: spec.license,
      name: program.name,
      ...(info.attachType !== undefined ? { expectedAttachType: info.attachType } : {}),
      ...(info.def.btfTarget ? { attachBtfId: attachBtfId(program, ctx.target()) } : {}),
      ...(info.def.progType === 'KPROBE'
        ? { kernVersion: spec.kernelVersion ?? kernelVersionCode() }
        : spec.kernelVersion !== undefined
          ? { kernVersion: spec.kernelVersion }
          : {}),
      fdArray: ctx.fdArray,
      progFlags,
      ...(withInfo && btf
        ? { progBtfFd: btf.fd, funcInfo: funcInfoBytes(program), lineInfo: lineInfoBytes(program) }
        : {}),
      lineOf: lineLookup(program),
      sys,
    };
    const stats = options.stats ?? true;
    const attempt = (load: LoadProgramOptions): KernelProgram =>
      options.verifierLogLevel
        ? loadProgram({ ...load, alwaysLog: true, logLevel: options.verifierLogLevel, logSize: 1 << 24 })
        : loadProgram(stats ? { alwaysLog: true, logLevel: LogLevel.STATS, ...load } : load);
    let loaded: KernelProgram;
    try {
      loaded = attempt(base);
    } catch (error) {
      // An optional expected attach type (`xdp`, `sockops`…) is dropped for kernels that
      // predate it, as libbpf does; the verifier's reasons are not about that.
      if (
        info.def.attachOptional &&
        base.expectedAttachType !== undefined &&
        error instanceof SyscallError &&
        !(error instanceof VerifierError) &&
        error.is('EINVAL')
      ) {
        const { expectedAttachType: _dropped, ...without } = base;
        loaded = attempt(without);
      } else if (error instanceof VerifierError && stats) {
        // The statistics log says why in one line but not where: ask again for the path.
        try {
          attempt({
            ...base,
            alwaysLog: true,
            logLevel: options.logLevel ?? LogLevel.BRANCH | LogLevel.STATS,
          });
        } catch (detailed) {
          return rejected(program, detailed);
        }
        return rejected(program, error);
      } else {
        throw error;
      }
    }
    return {
      spec: program,
      program: loaded,
      ...(loaded.log !== undefined ? { log: loaded.log } : {}),
      ...(insnsProcessed(loaded.log) !== undefined ? { insnsProcessed: insnsProcessed(loaded.log) } : {}),
    };
  } catch (error) {
    return rejected(program, error);
  }
}

function rejected(program: ProgramSpec, error: unknown): LoadedProgram {
  const err = error instanceof Error ? error : new TsbpfError(String(error));
  const log = err instanceof VerifierError ? err.log : undefined;
  const processed = insnsProcessed(log);
  return {
    spec: program,
    error: err,
    ...(log !== undefined ? { log } : {}),
    ...(processed !== undefined ? { insnsProcessed: processed } : {}),
  };
}

/** The `bpftool prog` name of a program type (`xdp`, `sched_cls`), for reports. */
export function progTypeLabel(type: number | string): string {
  const name =
    typeof type === 'string'
      ? type
      : Object.keys(ProgType).find((k) => ProgType[k as keyof typeof ProgType] === type);
  return (name ?? String(type)).toLowerCase();
}

/** The `bpftool` name of an attach type. */
export function attachTypeLabel(type: number): string {
  const name = Object.keys(AttachType).find((k) => AttachType[k as keyof typeof AttachType] === type);
  return (name ?? String(type)).toLowerCase();
}
