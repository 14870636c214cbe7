/**
 * The binary layouts the kernel layer exchanges with the kernel, written once as data: for each
 * `bpf()` command the part of `union bpf_attr` it uses, plus the `bpf_*_info` structs and
 * `struct perf_event_attr`. Encoders and decoders are built from these tables; no command has
 * DataView code of its own.
 *
 * Field names are the kernel's own (`map_type`, `test.data_size_out` without the `test.`), so a
 * reader can grep `include/uapi/linux/bpf.h` for them. `attr.test.ts` checks every offset and size
 * against that header by compiling a C program that prints `offsetof()` for each field.
 *
 * Pointer fields (`__aligned_u64` holding a user address) take a `Uint8Array`, whose address is
 * taken at encode time through {@link AddressOf} (see `syscall.ts` for why that is safe), a raw
 * address as a bigint, or null.
 */

/** `enum bpf_cmd` (`include/uapi/linux/bpf.h`): the `cmd` argument of `bpf(2)`. */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
} as const;

/** A `bpf(2)` command name, e.g. `MAP_CREATE`. */
export type BpfCmdName = keyof typeof BpfCmd;

/** The name of a command number (`0` → `MAP_CREATE`), or `cmd <n>`. */
export function bpfCmdName(cmd: number): string {
  return (Object.keys(BpfCmd) as BpfCmdName[]).find((name) => BpfCmd[name] === cmd) ?? `cmd ${cmd}`;
}

/** `BPF_OBJ_NAME_LEN`: map and program names are at most 15 bytes plus a NUL. */
export const BPF_OBJ_NAME_LEN = 16;
/** `BPF_TAG_SIZE`: a program tag is the first 8 bytes of a SHA-1 over its instructions. */
export const BPF_TAG_SIZE = 8;

/** How a field's bytes are read and written (little-endian; the host's order on x86-64/arm64). */
export type FieldKind = 'u16' | 'u32' | 's32' | 'u64' | 'ptr' | 'str' | 'bytes' | 'bit';

/** One field: where it is and what it holds. */
export interface Field<K extends FieldKind = FieldKind> {
  readonly offset: number;
  readonly kind: K;
  /** Bytes the field occupies (1 for a bit). */
  readonly size: number;
  /** For a bitfield: the bit within the byte at `offset` (C `x:1` members). */
  readonly bit?: number;
}

const u16 = (offset: number): Field<'u16'> => ({ offset, kind: 'u16', size: 2 });
const u32 = (offset: number): Field<'u32'> => ({ offset, kind: 'u32', size: 4 });
const s32 = (offset: number): Field<'s32'> => ({ offset, kind: 's32', size: 4 });
const u64 = (offset: number): Field<'u64'> => ({ offset, kind: 'u64', size: 8 });
/** An `__aligned_u64` that holds a user-space pointer. */
const ptr = (offset: number): Field<'ptr'> => ({ offset, kind: 'ptr', size: 8 });
/** A NUL-padded `char name[size]`. */
const str = (offset: number, size: number): Field<'str'> => ({ offset, kind: 'str', size });
const bytes = (offset: number, size: number): Field<'bytes'> => ({ offset, kind: 'bytes', size });
/** A one-bit bitfield: byte `offset`, bit `bit` (LSB first, as GCC lays bitfields out on LE). */
const bit = (offset: number, bitIndex: number): Field<'bit'> => ({
  offset,
  kind: 'bit',
  size: 1,
  bit: bitIndex,
});

/** A C struct (or one member struct of `union bpf_attr`) as data. */
export interface Layout<F extends Record<string, Field> = Record<string, Field>> {
  /** The C type the offsets are relative to: `union bpf_attr`, `struct bpf_prog_info`… */
  readonly cType: string;
  /** The header that declares it (for the offset test). */
  readonly header: string;
  /** The C member path in front of each field name (`batch.` for `attr->batch.count`). */
  readonly prefix: string;
  readonly fields: F;
  /**
   * Bytes to pass: for `bpf_attr` the end of the last field (libbpf's `offsetofend`, so older
   * kernels that know fewer fields still accept it); for a struct its `sizeof`.
   */
  readonly size: number;
  /**
   * Whether {@link size} may be less than the C `sizeof`: true for `bpf_attr` (each command
   * uses a prefix) and for `perf_event_attr` (whose `size` field says which version we pass).
   */
  readonly partial: boolean;
}

function layout<F extends Record<string, Field>>(
  cType: string,
  prefix: string,
  fields: F,
  options: { size?: number; header?: string; partial?: boolean } = {},
): Layout<F> {
  const end = Math.max(...Object.values(fields).map((f) => f.offset + f.size));
  return {
    cType,
    header: options.header ?? 'linux/bpf.h',
    prefix,
    fields,
    size: options.size ?? end,
    partial: options.partial ?? cType === ATTR,
  };
}

const ATTR = 'union bpf_attr';

/** `BPF_MAP_CREATE`. */
export const MAP_CREATE = layout(ATTR, '', {
  map_type: u32(0),
  key_size: u32(4),
  value_size: u32(8),
  max_entries: u32(12),
  map_flags: u32(16),
  inner_map_fd: u32(20),
  numa_node: u32(24),
  map_name: str(28, BPF_OBJ_NAME_LEN),
  map_ifindex: u32(44),
  btf_fd: u32(48),
  btf_key_type_id: u32(52),
  btf_value_type_id: u32(56),
  btf_vmlinux_value_type_id: u32(60),
  map_extra: u64(64),
});

/** `BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM`, `GET_NEXT_KEY`, `LOOKUP_AND_DELETE_ELEM`, `FREEZE`. */
export const MAP_ELEM = layout(ATTR, '', {
  map_fd: u32(0),
  key: ptr(8),
  value: ptr(16),
  next_key: ptr(16),
  flags: u64(24),
});

/** `BPF_MAP_*_BATCH` (since 5.6). */
export const MAP_BATCH = layout(ATTR, 'batch.', {
  in_batch: ptr(0),
  out_batch: ptr(8),
  keys: ptr(16),
  values: ptr(24),
  count: u32(32),
  map_fd: u32(36),
  elem_flags: u64(40),
  flags: u64(48),
});

/** `BPF_PROG_LOAD`. */
export const PROG_LOAD = layout(ATTR, '', {
  prog_type: u32(0),
  insn_cnt: u32(4),
  insns: ptr(8),
  license: ptr(16),
  log_level: u32(24),
  log_size: u32(28),
  log_buf: ptr(32),
  kern_version: u32(40),
  prog_flags: u32(44),
  prog_name: str(48, BPF_OBJ_NAME_LEN),
  prog_ifindex: u32(64),
  expected_attach_type: u32(68),
  prog_btf_fd: u32(72),
  func_info_rec_size: u32(76),
  func_info: ptr(80),
  func_info_cnt: u32(88),
  line_info_rec_size: u32(92),
  line_info: ptr(96),
  line_info_cnt: u32(104),
  attach_btf_id: u32(108),
  attach_prog_fd: u32(112),
  attach_btf_obj_fd: u32(112),
  core_relo_cnt: u32(116),
  fd_array: ptr(120),
  core_relos: ptr(128),
  core_relo_rec_size: u32(136),
});

/** `BPF_OBJ_PIN`, `BPF_OBJ_GET`. */
export const OBJ = layout(ATTR, '', {
  pathname: ptr(0),
  bpf_fd: u32(8),
  file_flags: u32(12),
});

/** `BPF_PROG_ATTACH`, `BPF_PROG_DETACH`. */
export const PROG_ATTACH = layout(ATTR, '', {
  target_fd: u32(0),
  attach_bpf_fd: u32(4),
  attach_type: u32(8),
  attach_flags: u32(12),
  replace_bpf_fd: u32(16),
});

/** `BPF_PROG_TEST_RUN` (a.k.a. `BPF_PROG_RUN`). */
export const PROG_TEST_RUN = layout(ATTR, 'test.', {
  prog_fd: u32(0),
  retval: u32(4),
  data_size_in: u32(8),
  data_size_out: u32(12),
  data_in: ptr(16),
  data_out: ptr(24),
  repeat: u32(32),
  duration: u32(36),
  ctx_size_in: u32(40),
  ctx_size_out: u32(44),
  ctx_in: ptr(48),
  ctx_out: ptr(56),
  flags: u32(64),
  cpu: u32(68),
  batch_size: u32(72),
});

/** `BPF_{PROG,MAP,LINK,BTF}_GET_NEXT_ID` and `BPF_*_GET_FD_BY_ID`. */
export const GET_ID = layout(ATTR, '', {
  start_id: u32(0),
  prog_id: u32(0),
  map_id: u32(0),
  btf_id: u32(0),
  link_id: u32(0),
  next_id: u32(4),
  open_flags: u32(8),
});

/** `BPF_OBJ_GET_INFO_BY_FD`. */
export const OBJ_GET_INFO_BY_FD = layout(ATTR, 'info.', {
  bpf_fd: u32(0),
  info_len: u32(4),
  info: ptr(8),
});

/** `BPF_RAW_TRACEPOINT_OPEN`. */
export const RAW_TRACEPOINT_OPEN = layout(ATTR, 'raw_tracepoint.', {
  name: ptr(0),
  prog_fd: u32(8),
});

/** `BPF_BTF_LOAD`. */
export const BTF_LOAD = layout(ATTR, '', {
  btf: ptr(0),
  btf_log_buf: ptr(8),
  btf_size: u32(16),
  btf_log_size: u32(20),
  btf_log_level: u32(24),
});

/** `BPF_LINK_CREATE` (since 5.7; `perf_event` since 5.15). */
export const LINK_CREATE = layout(ATTR, 'link_create.', {
  prog_fd: u32(0),
  target_fd: u32(4),
  target_ifindex: u32(4),
  attach_type: u32(8),
  flags: u32(12),
  target_btf_id: u32(16),
  iter_info: ptr(16),
  iter_info_len: u32(24),
  'perf_event.bpf_cookie': u64(16),
  'kprobe_multi.flags': u32(16),
  'kprobe_multi.cnt': u32(20),
  'kprobe_multi.syms': ptr(24),
  'kprobe_multi.addrs': ptr(32),
  'kprobe_multi.cookies': ptr(40),
  'tracing.target_btf_id': u32(16),
  'tracing.cookie': u64(24),
});

/** `BPF_LINK_UPDATE`. */
export const LINK_UPDATE = layout(ATTR, 'link_update.', {
  link_fd: u32(0),
  new_prog_fd: u32(4),
  flags: u32(8),
  old_prog_fd: u32(12),
});

/** `BPF_LINK_DETACH` (since 5.9). */
export const LINK_DETACH = layout(ATTR, 'link_detach.', { link_fd: u32(0) });

/** `BPF_ENABLE_STATS` (since 5.8). */
export const ENABLE_STATS = layout(ATTR, 'enable_stats.', { type: u32(0) });

/** Which layout each command we use takes. */
export const COMMAND_LAYOUTS = {
  MAP_CREATE,
  MAP_LOOKUP_ELEM: MAP_ELEM,
  MAP_UPDATE_ELEM: MAP_ELEM,
  MAP_DELETE_ELEM: MAP_ELEM,
  MAP_GET_NEXT_KEY: MAP_ELEM,
  MAP_LOOKUP_AND_DELETE_ELEM: MAP_ELEM,
  MAP_FREEZE: MAP_ELEM,
  MAP_LOOKUP_BATCH: MAP_BATCH,
  MAP_LOOKUP_AND_DELETE_BATCH: MAP_BATCH,
  MAP_UPDATE_BATCH: MAP_BATCH,
  MAP_DELETE_BATCH: MAP_BATCH,
  PROG_LOAD,
  BTF_LOAD,
  OBJ_PIN: OBJ,
  OBJ_GET: OBJ,
  PROG_TEST_RUN,
  PROG_GET_NEXT_ID: GET_ID,
  MAP_GET_NEXT_ID: GET_ID,
  LINK_GET_NEXT_ID: GET_ID,
  BTF_GET_NEXT_ID: GET_ID,
  PROG_GET_FD_BY_ID: GET_ID,
  MAP_GET_FD_BY_ID: GET_ID,
  LINK_GET_FD_BY_ID: GET_ID,
  BTF_GET_FD_BY_ID: GET_ID,
  OBJ_GET_INFO_BY_FD,
  LINK_CREATE,
  LINK_UPDATE,
  LINK_DETACH,
  RAW_TRACEPOINT_OPEN,
  PROG_ATTACH,
  PROG_DETACH: PROG_ATTACH,
  ENABLE_STATS,
} as const satisfies Partial<Record<BpfCmdName, Layout>>;

/** A command this module has a layout for. */
export type CommandName = keyof typeof COMMAND_LAYOUTS;

/** `struct bpf_prog_info`. */
export const BPF_PROG_INFO = layout(
  'struct bpf_prog_info',
  '',
  {
    type: u32(0),
    id: u32(4),
    tag: bytes(8, BPF_TAG_SIZE),
    jited_prog_len: u32(16),
    xlated_prog_len: u32(20),
    jited_prog_insns: ptr(24),
    xlated_prog_insns: ptr(32),
    load_time: u64(40),
    created_by_uid: u32(48),
    nr_map_ids: u32(52),
    map_ids: ptr(56),
    name: str(64, BPF_OBJ_NAME_LEN),
    ifindex: u32(80),
    gpl_compatible: bit(84, 0),
    netns_dev: u64(88),
    netns_ino: u64(96),
    nr_jited_ksyms: u32(104),
    nr_jited_func_lens: u32(108),
    jited_ksyms: ptr(112),
    jited_func_lens: ptr(120),
    btf_id: u32(128),
    func_info_rec_size: u32(132),
    func_info: ptr(136),
    nr_func_info: u32(144),
    nr_line_info: u32(148),
    line_info: ptr(152),
    jited_line_info: ptr(160),
    nr_jited_line_info: u32(168),
    line_info_rec_size: u32(172),
    jited_line_info_rec_size: u32(176),
    nr_prog_tags: u32(180),
    prog_tags: ptr(184),
    run_time_ns: u64(192),
    run_cnt: u64(200),
    recursion_misses: u64(208),
    verified_insns: u32(216),
    attach_btf_obj_id: u32(220),
    attach_btf_id: u32(224),
  },
  { size: 232 },
);

/** `struct bpf_map_info`. */
export const BPF_MAP_INFO = layout(
  'struct bpf_map_info',
  '',
  {
    type: u32(0),
    id: u32(4),
    key_size: u32(8),
    value_size: u32(12),
    max_entries: u32(16),
    map_flags: u32(20),
    name: str(24, BPF_OBJ_NAME_LEN),
    ifindex: u32(40),
    btf_vmlinux_value_type_id: u32(44),
    netns_dev: u64(48),
    netns_ino: u64(56),
    btf_id: u32(64),
    btf_key_type_id: u32(68),
    btf_value_type_id: u32(72),
    map_extra: u64(80),
  },
  { size: 88 },
);

/** `struct bpf_btf_info`. */
export const BPF_BTF_INFO = layout(
  'struct bpf_btf_info',
  '',
  {
    btf: ptr(0),
    btf_size: u32(8),
    id: u32(12),
    name: ptr(16),
    name_len: u32(24),
    kernel_btf: u32(28),
  },
  { size: 32 },
);

/** `struct bpf_link_info` (the members of its union that this header declares). */
export const BPF_LINK_INFO = layout(
  'struct bpf_link_info',
  '',
  {
    type: u32(0),
    id: u32(4),
    prog_id: u32(8),
    'raw_tracepoint.tp_name': ptr(16),
    'raw_tracepoint.tp_name_len': u32(24),
    'tracing.attach_type': u32(16),
    'tracing.target_obj_id': u32(20),
    'tracing.target_btf_id': u32(24),
    'cgroup.cgroup_id': u64(16),
    'cgroup.attach_type': u32(24),
    'iter.target_name': ptr(16),
    'iter.target_name_len': u32(24),
    'iter.map.map_id': u32(28),
    'netns.netns_ino': u32(16),
    'netns.attach_type': u32(20),
    'xdp.ifindex': u32(16),
  },
  { size: 48 },
);

/** `struct perf_event_attr` (`linux/perf_event.h`), up to `PERF_ATTR_SIZE_VER5`. */
export const PERF_EVENT_ATTR = layout(
  'struct perf_event_attr',
  '',
  {
    type: u32(0),
    size: u32(4),
    config: u64(8),
    sample_period: u64(16),
    sample_freq: u64(16),
    sample_type: u64(24),
    read_format: u64(32),
    disabled: bit(40, 0),
    inherit: bit(40, 1),
    exclude_kernel: bit(40, 5),
    exclude_hv: bit(40, 6),
    freq: bit(41, 2),
    wakeup_events: u32(48),
    wakeup_watermark: u32(48),
    bp_type: u32(52),
    config1: u64(56),
    kprobe_func: ptr(56),
    config2: u64(64),
    kprobe_addr: u64(64),
    probe_offset: u64(64),
    branch_sample_type: u64(72),
    sample_regs_user: u64(80),
    sample_stack_user: u32(88),
    clockid: s32(92),
    sample_regs_intr: u64(96),
    aux_watermark: u32(104),
    sample_max_stack: u16(108),
  },
  { size: 112, header: 'linux/perf_event.h', partial: true },
);

/** Every layout, for the offset test and for tools that dump attrs. */
export const LAYOUTS = {
  MAP_CREATE,
  MAP_ELEM,
  MAP_BATCH,
  PROG_LOAD,
  OBJ,
  PROG_ATTACH,
  PROG_TEST_RUN,
  GET_ID,
  OBJ_GET_INFO_BY_FD,
  RAW_TRACEPOINT_OPEN,
  BTF_LOAD,
  LINK_CREATE,
  LINK_UPDATE,
  LINK_DETACH,
  ENABLE_STATS,
  BPF_PROG_INFO,
  BPF_MAP_INFO,
  BPF_BTF_INFO,
  BPF_LINK_INFO,
  PERF_EVENT_ATTR,
} as const;

/** What a caller writes into a field of each kind. */
export interface FieldInput {
  u16: number;
  u32: number;
  s32: number;
  u64: number | bigint;
  /** A buffer (its address is taken), a raw address, or null. */
  ptr: Uint8Array | bigint | null;
  str: string;
  bytes: Uint8Array;
  bit: boolean;
}

/** What a field of each kind reads back as. */
export interface FieldOutput {
  u16: number;
  u32: number;
  s32: number;
  u64: bigint;
  ptr: bigint;
  str: string;
  bytes: Uint8Array;
  bit: boolean;
}

type KindOf<F> = F extends Field<infer K> ? K : never;

/** The values an encoder takes for a layout: any subset of its fields (the rest are zero). */
export type Values<L extends Layout> = {
  readonly [N in keyof L['fields']]?: FieldInput[KindOf<L['fields'][N]>];
};

/** A decoded struct: every field of a layout. */
export type Decoded<L extends Layout> = {
  readonly [N in keyof L['fields']]: FieldOutput[KindOf<L['fields'][N]>];
};

/** Takes the address of a buffer (the {@link Sys} in use decides how). */
export type AddressOf = (bytes: Uint8Array) => bigint;

const utf8 = new TextEncoder();

/** Write one field. */
function writeField(
  view: DataView,
  out: Uint8Array,
  field: Field,
  value: unknown,
  addressOf: AddressOf,
): void {
  const at = field.offset;
  switch (field.kind) {
    case 'u16':
      view.setUint16(at, Number(value), true);
      return;
    case 'u32':
      view.setUint32(at, Number(value) >>> 0, true);
      return;
    case 's32':
      view.setInt32(at, Number(value), true);
      return;
    case 'u64':
      view.setBigUint64(at, BigInt.asUintN(64, BigInt(value as number | bigint)), true);
      return;
    case 'ptr': {
      const address =
        value === null ? 0n : value instanceof Uint8Array ? addressOf(value) : (value as bigint);
      view.setBigUint64(at, address, true);
      return;
    }
    case 'str': {
      const text = utf8.encode(value as string);
      // Keep the terminating NUL: the kernel rejects a name that fills the whole array.
      out.set(text.subarray(0, field.size - 1), at);
      return;
    }
    case 'bytes':
      out.set((value as Uint8Array).subarray(0, field.size), at);
      return;
    case 'bit': {
      const mask = 1 << (field.bit ?? 0);
      out[at] = value ? out[at] | mask : out[at] & ~mask;
      return;
    }
  }
}

/** Read one field. */
export function readField<L extends Layout, N extends keyof L['fields'] & string>(
  layout: L,
  bytes: Uint8Array,
  name: N,
): FieldOutput[KindOf<L['fields'][N]>] {
  return readAny(layout.fields[name], bytes) as FieldOutput[KindOf<L['fields'][N]>];
}

function readAny(field: Field, bytes: Uint8Array): FieldOutput[FieldKind] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = field.offset;
  switch (field.kind) {
    case 'u16':
      return view.getUint16(at, true);
    case 'u32':
      return view.getUint32(at, true);
    case 's32':
      return view.getInt32(at, true);
    case 'u64':
    case 'ptr':
      return view.getBigUint64(at, true);
    case 'str': {
      const raw = bytes.subarray(at, at + field.size);
      const end = raw.indexOf(0);
      return new TextDecoder().decode(raw.subarray(0, end < 0 ? field.size : end));
    }
    case 'bytes':
      return bytes.slice(at, at + field.size);
    case 'bit':
      return (bytes[at] & (1 << (field.bit ?? 0))) !== 0;
  }
}

/**
 * Encode `values` into a fresh zeroed buffer of `layout.size` bytes. The buffer has its own
 * ArrayBuffer (never a pooled slice), so its address is stable and `attr.length` is the size
 * to pass. Pointer-valued buffers must stay referenced by the caller until the call returns.
 */
export function encodeStruct<L extends Layout>(
  layout: L,
  values: Values<L>,
  addressOf: AddressOf,
): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(layout.size));
  const view = new DataView(out.buffer);
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const field = layout.fields[name];
    if (!field) throw new TypeError(`${layout.cType}: no field ${layout.prefix}${name}`);
    writeField(view, out, field, value, addressOf);
  }
  return out;
}

/** Decode every field of a layout. */
export function decodeStruct<L extends Layout>(layout: L, bytes: Uint8Array): Decoded<L> {
  const result: Record<string, FieldOutput[FieldKind]> = {};
  for (const [name, field] of Object.entries(layout.fields)) result[name] = readAny(field, bytes);
  return result as Decoded<L>;
}

/** Encode the attr of a command. */
export function encodeAttr<C extends CommandName>(
  command: C,
  values: Values<(typeof COMMAND_LAYOUTS)[C]>,
  addressOf: AddressOf,
): Uint8Array {
  return encodeStruct(COMMAND_LAYOUTS[command], values, addressOf);
}

/** A NUL-terminated C string in its own buffer. */
export function cString(text: string): Uint8Array {
  const encoded = utf8.encode(text);
  const out = new Uint8Array(new ArrayBuffer(encoded.length + 1));
  out.set(encoded);
  return out;
}
