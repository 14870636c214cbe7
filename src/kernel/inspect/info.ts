/**
 * What is loaded in the kernel right now — programs, maps, links, BTF objects — read by id the
 * way bpftool does (`*_GET_NEXT_ID`, `*_GET_FD_BY_ID`, `OBJ_GET_INFO_BY_FD`, `/proc/self/fdinfo`),
 * and rendered in bpftool's two output conventions: its plain text and its `-j` JSON, field for
 * field, so scripts written against `bpftool -j prog list` read ours.
 */
import { readFileSync } from 'node:fs';
import { decode, type Insn } from '../../isa/instruction.js';
import { formatInsn } from '../../isa/llvm.js';
import { type BtfValue, btfCodec } from '../../maps/btf-codec.js';
import { isPerCpu } from '../../maps/ops.js';
import type { Btf } from '../../object/btf.js';
import { AttachType, enumName, LinkType, MapType, ProgType } from '../../uapi.js';
import { btfFromId, type KernelBtf } from '../load/btf.js';
import { type KernelMapOps, type MapInfo, mapFromId } from '../load/map.js';
import { type KernelProgram, type ProgramInfo, programFromId } from '../load/program.js';
import { BPF_LINK_INFO } from '../sys/attr.js';
import { BpfSyscallError } from '../sys/errors.js';
import { fdFromId, objectIds, objectInfo } from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';
import { type Json, writeJson } from './json.js';
import { kernelBtf, programFullName } from './refs.js';

export { type Json, writeJson } from './json.js';

/** `key: value` lines of `/proc/self/fdinfo/<fd>` (memlock, frozen, …). */
export function fdinfo(fd: number): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const line of readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) out.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
  } catch {
    // A fake Sys hands out fds that are not ours: no fdinfo, no memlock.
  }
  return out;
}

/** Seconds since the epoch at boot (`CLOCK_REALTIME - CLOCK_BOOTTIME`), for `loaded_at`. */
function bootTimeSeconds(): number {
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return Date.now() / 1000 - uptime;
}

/** `2026-11-26T01:25:53+0000`: bpftool's `%FT%T%z` in local time. */
export function formatLocalTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const pad = (n: number, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(offset / 60)}${pad(offset % 60)}`
  );
}

/** bpftool's name of a program type (`xdp`, `sched_cls`…): libbpf's lower-case enum names. */
export function progTypeName(type: number): string {
  return enumName(ProgType, type)?.toLowerCase() ?? `type ${type}`;
}

/** bpftool's name of a map type. */
export function mapTypeName(type: number): string {
  // CGROUP_STORAGE and its _DEPRECATED alias share a number: prefer the current name.
  const names = (Object.keys(MapType) as Array<keyof typeof MapType>).filter(
    (k) => MapType[k] === type && !k.endsWith('_DEPRECATED'),
  );
  return names[0]?.toLowerCase() ?? `type ${type}`;
}

/** bpftool's (libbpf's) name of an attach type: `cgroup_inet_egress`. */
export function attachTypeName(type: number): string {
  return enumName(AttachType, type)?.toLowerCase() ?? `type ${type}`;
}

/** bpftool's name of a link type. */
export function linkTypeName(type: number): string {
  return enumName(LinkType, type)?.toLowerCase() ?? `type ${type}`;
}

/**
 * Read every object of a kind: open each id, `read` it, close it. Ids that vanish between
 * listing and opening (an object freed meanwhile) are skipped.
 */
function readEach<T extends { close(): void }, R>(
  kind: 'prog' | 'map' | 'btf',
  open: (id: number) => T,
  read: (object: T) => R,
  sys: Sys,
): R[] {
  const out: R[] = [];
  for (const id of objectIds(kind, sys)) {
    let object: T;
    try {
      object = open(id);
    } catch (error) {
      if (error instanceof BpfSyscallError && error.is('ENOENT')) continue;
      if (error instanceof Error && error.cause instanceof BpfSyscallError && error.cause.is('ENOENT'))
        continue;
      throw error;
    }
    try {
      out.push(read(object));
    } finally {
      object.close();
    }
  }
  return out;
}

/** One program as `bpftool prog show` reports it. */
export interface ProgRecord {
  readonly info: ProgramInfo;
  readonly memlock: number;
  /** Wall-clock seconds since the epoch of the load. */
  readonly loadedAt: number;
}

function progRecord(program: KernelProgram, boot: number, btfCache = new Map<number, Btf>()): ProgRecord {
  const raw = program.info();
  // bpftool prints the full name (from BTF) where the kernel kept only 15 bytes of it.
  const info = { ...raw, name: programFullName(program.fd, { btfCache }) };
  const memlock = Number(fdinfo(program.fd).get('memlock') ?? 0);
  return { info, memlock, loadedAt: Math.floor(boot + Number(info.loadTime) / 1e9) };
}

/** Every loaded program (needs CAP_SYS_ADMIN). */
export function listPrograms(options: { sys?: Sys } = {}): ProgRecord[] {
  const sys = getSys(options.sys);
  const boot = bootTimeSeconds();
  const btfCache = new Map<number, Btf>();
  return readEach(
    'prog',
    (id) => programFromId(id, { sys }),
    (p) => progRecord(p, boot, btfCache),
    sys,
  );
}

/** One program by id. */
export function showProgram(id: number, options: { sys?: Sys } = {}): ProgRecord {
  const program = programFromId(id, { sys: options.sys });
  try {
    return progRecord(program, bootTimeSeconds());
  } finally {
    program.close();
  }
}

/** `bpftool -j prog show` fields, in its order. */
export function progJson(record: ProgRecord): Json {
  const { info } = record;
  return {
    id: info.id,
    type: progTypeName(info.type),
    ...(info.name ? { name: info.name } : {}),
    tag: info.tag,
    gpl_compatible: info.gplCompatible,
    ...(info.runCount > 0n ? { run_time_ns: Number(info.runTimeNs), run_cnt: Number(info.runCount) } : {}),
    ...(info.recursionMisses > 0n ? { recursion_misses: Number(info.recursionMisses) } : {}),
    loaded_at: record.loadedAt,
    uid: info.createdByUid,
    bytes_xlated: info.xlatedLength,
    jited: info.jitedLength > 0,
    ...(info.jitedLength > 0 ? { bytes_jited: info.jitedLength } : {}),
    bytes_memlock: record.memlock,
    ...(info.mapIds.length ? { map_ids: [...info.mapIds] } : {}),
    ...(info.btfId ? { btf_id: info.btfId } : {}),
    ...(info.verifiedInsns ? { verified_insns: info.verifiedInsns } : {}),
  };
}

/** bpftool's plain `prog show` block. */
export function progText(record: ProgRecord): string {
  const { info } = record;
  const head = [
    `${info.id}: ${progTypeName(info.type)}`,
    info.name ? `name ${info.name}` : '',
    `tag ${info.tag}`,
    info.gplCompatible ? 'gpl' : '',
    info.runCount > 0n ? `run_time_ns ${info.runTimeNs} run_cnt ${info.runCount}` : '',
  ].filter(Boolean);
  const lines = [
    head.join('  '),
    `\tloaded_at ${formatLocalTime(record.loadedAt)}  uid ${info.createdByUid}`,
    [
      `\txlated ${info.xlatedLength}B`,
      info.jitedLength > 0 ? `jited ${info.jitedLength}B` : 'not jited',
      `memlock ${record.memlock}B`,
      info.mapIds.length ? `map_ids ${info.mapIds.join(',')}` : '',
    ]
      .filter(Boolean)
      .join('  '),
  ];
  const tail = [
    info.btfId ? `btf_id ${info.btfId}` : '',
    info.verifiedInsns ? `verified_insns ${info.verifiedInsns}` : '',
  ].filter(Boolean);
  if (tail.length) lines.push(`\t${tail.join('  ')}`);
  return lines.join('\n');
}

/** One map as `bpftool map show` reports it. */
export interface MapRecord {
  readonly info: MapInfo;
  readonly memlock: number;
  readonly frozen: boolean;
}

function mapRecord(map: KernelMapOps): MapRecord {
  const info = map.info();
  const fields = fdinfo(map.fd);
  return { info, memlock: Number(fields.get('memlock') ?? 0), frozen: fields.get('frozen') === '1' };
}

/** Every map (needs CAP_SYS_ADMIN). */
export function listMaps(options: { sys?: Sys } = {}): MapRecord[] {
  const sys = getSys(options.sys);
  return readEach('map', (id) => mapFromId(id, { sys }), mapRecord, sys);
}

/** One map by id. */
export function showMap(id: number, options: { sys?: Sys } = {}): MapRecord {
  const map = mapFromId(id, { sys: options.sys });
  try {
    return mapRecord(map);
  } finally {
    map.close();
  }
}

/** `bpftool -j map show` fields. */
export function mapJson(record: MapRecord): Json {
  const { info } = record;
  return {
    id: info.id,
    type: mapTypeName(info.type),
    ...(info.name ? { name: info.name } : {}),
    flags: info.flags,
    bytes_key: info.keySize,
    bytes_value: info.valueSize,
    max_entries: info.maxEntries,
    bytes_memlock: record.memlock,
    frozen: record.frozen ? 1 : 0,
    ...(info.btfId ? { btf_id: info.btfId } : {}),
  };
}

/** bpftool's plain `map show` block. */
export function mapText(record: MapRecord): string {
  const { info } = record;
  const head = [
    `${info.id}: ${mapTypeName(info.type)}`,
    info.name ? `name ${info.name}` : '',
    `flags 0x${info.flags.toString(16)}`,
  ].filter(Boolean);
  const lines = [
    head.join('  '),
    `\tkey ${info.keySize}B  value ${info.valueSize}B  max_entries ${info.maxEntries}  memlock ${record.memlock}B`,
  ];
  const tail = [info.btfId ? `btf_id ${info.btfId}` : '', record.frozen ? 'frozen' : ''].filter(Boolean);
  if (tail.length) lines.push(`\t${tail.join('  ')}`);
  return lines.join('\n');
}

/** bpftool's `fprint_hex`: bytes in hex, two spaces every 8, a new line every 16. */
export function hexBytes(bytes: Uint8Array): string {
  let out = '';
  bytes.forEach((byte, i) => {
    if (i > 0) out += i % 16 === 0 ? '\n' : i % 8 === 0 ? '  ' : ' ';
    out += byte.toString(16).padStart(2, '0');
  });
  return out;
}

/** `["0x00", …]`: bpftool's JSON bytes. */
const jsonBytes = (bytes: Uint8Array): Json => [...bytes].map((b) => `0x${b.toString(16).padStart(2, '0')}`);

/** Every element of a map, as raw bytes (values: all CPUs' slots for per-CPU maps). */
export interface MapDump {
  readonly info: MapInfo;
  readonly possibleCpus: number;
  readonly entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
  /** The map's BTF (`info.btfId`), when it has key or value types to decode with. */
  readonly btf?: Btf;
}

/** Read every element of map `id` (get-next-key and lookup, as bpftool does), and its BTF. */
export function dumpMap(id: number, options: { sys?: Sys } = {}): MapDump {
  const map = mapFromId(id, { sys: options.sys });
  try {
    const info = map.info();
    const entries: Array<readonly [Uint8Array, Uint8Array]> = [];
    for (let key = map.nextKey(undefined); key; key = map.nextKey(key)) {
      const value = map.lookup(key);
      // An element deleted between the two calls is just gone.
      if (value) entries.push([key, value]);
      if (entries.length > info.maxEntries + 1) break;
    }
    let btf: Btf | undefined;
    if (info.btfId && (info.btfKeyTypeId || info.btfValueTypeId)) {
      try {
        btf = kernelBtf(info.btfId, { sys: options.sys });
      } catch {
        // BTF that does not parse (or is gone): the hex dump still says everything.
      }
    }
    return { info, possibleCpus: map.possibleCpus, entries, ...(btf ? { btf } : {}) };
  } finally {
    map.close();
  }
}

/** A decoded value as JSON: what the codec gives, bigints kept whole. */
function valueJson(value: BtfValue): Json {
  if (Array.isArray(value)) return value.map(valueJson);
  if (typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, valueJson(v)]));
  return value;
}

/** How deep {@link bpftoolShape} follows nested types (kernel BTF has no cycles; this bounds any). */
const MAX_SHAPE_DEPTH = 64;

/**
 * Where bpftool's `formatted` differs from the map codec's values, reshape them to bpftool's:
 * enums by enumerator name (the number when none matches). Anonymous struct/union members stay
 * flattened, as the codec (and C code) reads them: bpftool prints each under a `""` key, and
 * several such keys in one object would lose all but the last in any JSON reader.
 */
function bpftoolShape(btf: Btf, typeId: number, value: BtfValue, depth = 0): Json {
  const type = btf.resolve(typeId);
  if (depth > MAX_SHAPE_DEPTH) return valueJson(value);
  if ((type.kind === 'enum' || type.kind === 'enum64') && typeof value !== 'object') {
    const bits = type.size * 8;
    const wanted = BigInt.asUintN(bits, BigInt(value as number | bigint));
    const values: ReadonlyArray<{ readonly name: string; readonly value: number | bigint }> = type.values;
    const match = values.find((v) => BigInt.asUintN(bits, BigInt(v.value)) === wanted);
    return match ? match.name : valueJson(value);
  }
  if (type.kind === 'array' && Array.isArray(value))
    return value.map((element) => bpftoolShape(btf, type.typeId, element, depth + 1));
  if (
    (type.kind === 'struct' || type.kind === 'union') &&
    typeof value === 'object' &&
    !Array.isArray(value)
  ) {
    const out: Record<string, Json> = {};
    type.members.forEach((member, index) => {
      if (member.name) {
        const field = value[member.name];
        if (field !== undefined)
          out[member.name] = member.bitfieldSize
            ? valueJson(field)
            : bpftoolShape(btf, member.typeId, field, depth + 1);
        return;
      }
      // Anonymous struct/union members: the codec flattened their fields into this object.
      const inner = btf.resolve(member.typeId);
      if (inner.kind === 'struct' || inner.kind === 'union') {
        const shaped = bpftoolShape(btf, member.typeId, value, depth + 1);
        if (typeof shaped === 'object' && shaped !== null && !Array.isArray(shaped))
          Object.assign(out, shaped);
      } else if (value[`__anon${index}`] !== undefined)
        out[`__anon${index}`] = valueJson(value[`__anon${index}`]!);
    });
    return out;
  }
  return valueJson(value);
}

/**
 * A decoder from bytes to bpftool's formatted JSON for BTF type `typeId`: the map codec's
 * values in bpftool's shape, and data sections (global data maps) as bpftool shows them,
 * `{".rodata": [{"var": value}, …]}`. Undefined when the type cannot be decoded.
 */
export function btfFormatter(btf: Btf, typeId: number): ((bytes: Uint8Array) => Json) | undefined {
  try {
    const type = btf.resolve(typeId);
    if (type.kind === 'datasec') {
      const vars = type.vars.map((v) => {
        const variable = btf.typeById(v.typeId);
        const decode = variable.kind === 'var' ? btfFormatter(btf, variable.typeId) : undefined;
        return { name: variable.name, offset: v.offset, size: v.size, decode };
      });
      return (bytes) => ({
        [type.name]: vars.map((v) => ({
          [v.name]: v.decode
            ? v.decode(bytes.subarray(v.offset, v.offset + v.size))
            : jsonBytes(bytes.subarray(v.offset, v.offset + v.size)),
        })),
      });
    }
    const codec = btfCodec(btf, typeId);
    return (bytes) => bpftoolShape(btf, typeId, codec.decode(bytes));
  } catch {
    return undefined;
  }
}

const isPerCpuMap = (info: MapInfo): boolean => info.typeName !== undefined && isPerCpu(info.typeName);

/** CPU `cpu`'s slot of a per-CPU value (each slot rounded up to 8 bytes, as the kernel lays them out). */
const cpuSlot = (info: MapInfo, value: Uint8Array, cpu: number): Uint8Array => {
  const step = Math.ceil(info.valueSize / 8) * 8;
  return value.subarray(cpu * step, cpu * step + info.valueSize);
};

/**
 * bpftool's `formatted` member of each element: key and value decoded through the map's BTF
 * (`values` per CPU for per-CPU maps; no key where the map has no key type, as for global data).
 * Undefined when the map has no BTF.
 */
function formattedEntries(dump: MapDump): Json[] | undefined {
  const { info, btf } = dump;
  if (!btf) return undefined;
  const key = info.btfKeyTypeId ? btfFormatter(btf, info.btfKeyTypeId) : undefined;
  const value = info.btfValueTypeId ? btfFormatter(btf, info.btfValueTypeId) : undefined;
  if (!key && !value) return undefined;
  return dump.entries.map(([k, v]) => {
    const out: Record<string, Json> = {};
    if (key) out.key = key(k);
    if (isPerCpuMap(info)) {
      out.values = Array.from({ length: dump.possibleCpus }, (_, cpu) => ({
        cpu,
        value: value ? value(cpuSlot(info, v, cpu)) : jsonBytes(cpuSlot(info, v, cpu)),
      }));
    } else out.value = value ? value(v) : jsonBytes(v);
    return out;
  });
}

/**
 * bpftool's plain `map dump`: with BTF, the decoded elements as pretty JSON (what bpftool prints);
 * without, `key: .. value: ..` hex lines (`print_entry_plain`) ending with `Found N elements`.
 */
export function mapDumpText(dump: MapDump): string {
  const formatted = formattedEntries(dump);
  if (formatted) return writeJson(formatted, true);
  const { info } = dump;
  const out: string[] = [];
  const perCpu = isPerCpuMap(info);
  for (const [key, value] of dump.entries) {
    if (!perCpu) {
      const breakNames = info.keySize > 16 || info.valueSize > 16;
      const singleLine = info.keySize + info.valueSize <= 24 && !breakNames;
      let line = '';
      if (info.keySize) line += `key:${breakNames ? '\n' : ' '}${hexBytes(key)}${singleLine ? '  ' : '\n'}`;
      if (info.valueSize) line += `value:${breakNames ? '\n' : ' '}${hexBytes(value)}`;
      out.push(line);
    } else {
      out.push(`key:\n${hexBytes(key)}`);
      for (let cpu = 0; cpu < dump.possibleCpus; cpu++) {
        out.push(
          `value (CPU ${String(cpu).padStart(2, '0')}):${info.valueSize > 16 ? '\n' : ' '}${hexBytes(cpuSlot(info, value, cpu))}`,
        );
      }
    }
  }
  const n = dump.entries.length;
  out.push(`Found ${n} element${n === 1 ? '' : 's'}`);
  return out.join('\n');
}

/**
 * bpftool's `-j map dump`: keys and values as `"0x.."` strings (per-CPU values per CPU), and with
 * BTF a `formatted` member holding them decoded.
 */
export function mapDumpJson(dump: MapDump): Json {
  const formatted = formattedEntries(dump);
  const { info } = dump;
  return dump.entries.map(
    ([key, value], i): Json => ({
      key: jsonBytes(key),
      ...(isPerCpuMap(info)
        ? {
            values: Array.from({ length: dump.possibleCpus }, (_, cpu) => ({
              cpu,
              value: jsonBytes(cpuSlot(info, value, cpu)),
            })),
          }
        : { value: jsonBytes(value) }),
      ...(formatted ? { formatted: formatted[i]! } : {}),
    }),
  );
}

/** One link as `bpftool link show` reports it. */
export interface LinkRecord {
  readonly id: number;
  readonly type: number;
  readonly progId: number;
  /** Type-specific fields, in bpftool's JSON names. */
  readonly details: Readonly<Record<string, Json>>;
}

/** Every link (needs CAP_SYS_ADMIN). */
export function listLinks(options: { sys?: Sys } = {}): LinkRecord[] {
  const sys = getSys(options.sys);
  const out: LinkRecord[] = [];
  for (const id of objectIds('link', sys)) {
    let fd: number;
    try {
      fd = fdFromId('link', id, { sys });
    } catch (error) {
      if (error instanceof BpfSyscallError && error.is('ENOENT')) continue;
      throw error;
    }
    try {
      const name = new Uint8Array(new ArrayBuffer(256));
      const first = objectInfo(fd, BPF_LINK_INFO, {}, sys);
      const type = linkTypeName(first.type);
      const raw =
        type === 'raw_tracepoint'
          ? objectInfo(
              fd,
              BPF_LINK_INFO,
              { 'raw_tracepoint.tp_name': name, 'raw_tracepoint.tp_name_len': 256 },
              sys,
            )
          : first;
      const details: Record<string, Json> = {};
      switch (type) {
        case 'raw_tracepoint': {
          const end = name.indexOf(0);
          details.tp_name = new TextDecoder().decode(name.subarray(0, end < 0 ? name.length : end));
          break;
        }
        case 'tracing':
          details.attach_type = attachTypeName(raw['tracing.attach_type']);
          details.target_obj_id = raw['tracing.target_obj_id'];
          details.target_btf_id = raw['tracing.target_btf_id'];
          break;
        case 'cgroup':
          details.cgroup_id = Number(raw['cgroup.cgroup_id']);
          details.attach_type = attachTypeName(raw['cgroup.attach_type']);
          break;
        case 'netns':
          details.netns_ino = raw['netns.netns_ino'];
          details.attach_type = attachTypeName(raw['netns.attach_type']);
          break;
        case 'xdp':
          details.ifindex = raw['xdp.ifindex'];
          break;
      }
      out.push({ id: raw.id, type: raw.type, progId: raw.prog_id, details });
    } finally {
      sys.close(fd);
    }
  }
  return out;
}

/** `bpftool -j link show` fields. */
export function linkJson(link: LinkRecord): Json {
  return { id: link.id, type: linkTypeName(link.type), prog_id: link.progId, ...link.details };
}

/** bpftool's plain `link show` block (each field followed by two spaces, as bpftool prints them). */
export function linkText(link: LinkRecord): string {
  const details = Object.entries(link.details)
    .map(([key, value]) => `${key} ${String(value)}  `)
    .join('');
  return `${link.id}: ${linkTypeName(link.type)}  prog ${link.progId}  ${details ? `\n\t${details}` : ''}`;
}

/** One BTF object as `bpftool btf show` reports it. */
export interface BtfRecord {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly kernel: boolean;
  /** Programs and maps using it (bpftool finds them by walking all of them, as we do). */
  readonly progIds: readonly number[];
  readonly mapIds: readonly number[];
}

/** Every BTF object (needs CAP_SYS_ADMIN). */
export function listBtf(options: { sys?: Sys } = {}): BtfRecord[] {
  const sys = getSys(options.sys);
  const progs = new Map<number, number[]>();
  const maps = new Map<number, number[]>();
  for (const p of listPrograms({ sys })) {
    if (p.info.btfId) progs.set(p.info.btfId, [...(progs.get(p.info.btfId) ?? []), p.info.id]);
  }
  for (const m of listMaps({ sys })) {
    if (m.info.btfId) maps.set(m.info.btfId, [...(maps.get(m.info.btfId) ?? []), m.info.id]);
  }
  return readEach<KernelBtf, BtfRecord>(
    'btf',
    (id) => btfFromId(id, { sys }),
    (btf) => {
      const info = btf.info();
      return {
        id: info.id,
        name: info.name,
        size: info.size,
        kernel: info.kernel,
        progIds: progs.get(info.id) ?? [],
        mapIds: maps.get(info.id) ?? [],
      };
    },
    sys,
  );
}

/** `bpftool -j btf show` fields. */
export function btfJson(btf: BtfRecord): Json {
  return {
    id: btf.id,
    size: btf.size,
    prog_ids: [...btf.progIds],
    map_ids: [...btf.mapIds],
    kernel: btf.kernel,
    ...(btf.name ? { name: btf.name } : {}),
  };
}

/** bpftool's plain `btf show` line. */
export function btfText(btf: BtfRecord): string {
  const name = btf.name ? (btf.kernel ? `[${btf.name}]` : btf.name) : '<anon>';
  return [
    `${btf.id}: name ${name}`,
    `size ${btf.size}B`,
    btf.progIds.length ? `prog_ids ${btf.progIds.join(',')}` : '',
    btf.mapIds.length ? `map_ids ${btf.mapIds.join(',')}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

let kernelSymbols: { base: bigint; byAddress: Map<bigint, string> } | undefined;

/** Kernel function names by address, for the helper calls of xlated code (root only). */
function symbols(): { base: bigint; byAddress: Map<bigint, string> } | undefined {
  if (kernelSymbols) return kernelSymbols;
  try {
    const byAddress = new Map<bigint, string>();
    let base = 0n;
    for (const line of readFileSync('/proc/kallsyms', 'utf8').split('\n')) {
      const [address, , name] = line.split(/\s+/);
      if (!address || !name) continue;
      const value = BigInt(`0x${address}`);
      if (name === '__bpf_call_base') base = value;
      if (!byAddress.has(value)) byAddress.set(value, name);
    }
    if (base === 0n) return undefined;
    kernelSymbols = { base, byAddress };
    return kernelSymbols;
  } catch {
    return undefined;
  }
}

/** One line of an xlated dump: the slot, the text, and the raw bytes when it did not decode. */
export interface XlatedLine {
  readonly slot: number;
  readonly text: string;
}

/**
 * Disassemble the verifier's rewritten instructions of a program (`bpftool prog dump xlated`):
 * verifier syntax with the opcode, helper calls named from kallsyms (their immediates are offsets
 * from `__bpf_call_base` after the rewrite), and any slot our decoder does not know (internal
 * opcodes) printed as raw bytes rather than failing the whole dump.
 */
export function disassembleXlated(bytes: Uint8Array): XlatedLine[] {
  const syms = symbols();
  const callName = (insn: Insn): string | undefined => {
    if (insn.kind !== 'call' || insn.src !== 0 || !syms) return undefined;
    return syms.byAddress.get(syms.base + BigInt(insn.imm));
  };
  const out: XlatedLine[] = [];
  for (let slot = 0; slot * 8 < bytes.length; ) {
    const width = bytes[slot * 8] === 0x18 && (slot + 2) * 8 <= bytes.length ? 2 : 1;
    const chunk = bytes.subarray(slot * 8, (slot + width) * 8);
    let text: string;
    try {
      const [insn] = decode(chunk);
      text = formatInsn({ ...insn!, slot } as Insn, { flavor: 'verifier', opcode: true, callName });
    } catch {
      text = `(${chunk[0]!.toString(16).padStart(2, '0')}) .raw ${hexBytes(chunk).replace(/\n/g, ' ')}`;
    }
    out.push({ slot, text });
    slot += width;
  }
  return out;
}

/** The xlated and jited bytes of program `id` (root: `kernel.kptr_restrict` permitting). */
export function programCode(id: number, options: { sys?: Sys } = {}): ProgramInfo {
  const program = programFromId(id, { sys: options.sys });
  try {
    return program.info({ xlated: true, jited: true });
  } finally {
    program.close();
  }
}
