/**
 * The verifier's lookups for helper prototypes and context accesses, with a small built-in set
 * (the common helpers; XDP, socket filter, sched_cls/act and tracepoint contexts). Generated,
 * kernel-probed tables replace these when they are available; the core only sees the
 * {@link HelperProto} and {@link CtxAccess} shapes.
 */
import type { ProgTypeName } from '../uapi.js';
import type { Caps } from './types.js';

/** Argument kinds, the kernel's `enum bpf_arg_type` (the ones the built-ins use). */
export type ArgType =
  | 'anything'
  | 'const_map_ptr'
  | 'ptr_to_map_key'
  | 'ptr_to_map_value'
  | 'ptr_to_mem'
  | 'ptr_to_mem_rdonly'
  | 'ptr_to_uninit_mem'
  | 'const_size'
  | 'const_size_or_zero'
  | 'const_alloc_size_or_zero'
  | 'ptr_to_ctx'
  | 'ptr_to_func'
  | 'ptr_to_stack_or_null'
  | 'ptr_to_ringbuf_mem_release'
  | 'ptr_to_mem_rdonly_or_null';

/** Return kinds (`enum bpf_return_type`). */
export type RetType = 'integer' | 'void' | 'map_value_or_null' | 'ringbuf_mem_or_null';

/** A helper's prototype. */
export interface HelperProto {
  readonly name: string;
  readonly args: readonly ArgType[];
  readonly ret: RetType;
  readonly gplOnly?: boolean;
  /** Map types the map argument must be (check_map_func_compatibility), with the error text. */
  readonly mapTypes?: readonly string[];
  /** Callback (bpf_loop, for_each): index of the func argument and the callback's arguments. */
  readonly callback?: { readonly arg: number };
  /** Program types (per caps) that may call it; absent: every type in {@link BASE_TYPES}. */
  readonly types?: readonly ProgTypeName[];
  /** The result is at most the size argument (`do_refine_retval_range`, the `*_str` helpers). */
  readonly retMaxFromSize?: boolean;
  /** Needs CAP_PERFMON (tracing-class helpers): not in `bpf`/`unpriv` modes. */
  readonly perfmon?: boolean;
}

const ALL: readonly ProgTypeName[] = [
  'SOCKET_FILTER',
  'XDP',
  'SCHED_CLS',
  'SCHED_ACT',
  'TRACEPOINT',
  'RAW_TRACEPOINT',
  'KPROBE',
  'PERF_EVENT',
  'CGROUP_SKB',
  'SYSCALL',
];
const TRACING: readonly ProgTypeName[] = ['TRACEPOINT', 'RAW_TRACEPOINT', 'KPROBE', 'PERF_EVENT', 'SYSCALL'];

/** The built-in helper prototypes, by helper id. */
export const BUILTIN_HELPERS: Readonly<Record<number, HelperProto>> = {
  1: { name: 'bpf_map_lookup_elem', args: ['const_map_ptr', 'ptr_to_map_key'], ret: 'map_value_or_null' },
  2: {
    name: 'bpf_map_update_elem',
    args: ['const_map_ptr', 'ptr_to_map_key', 'ptr_to_map_value', 'anything'],
    ret: 'integer',
  },
  3: { name: 'bpf_map_delete_elem', args: ['const_map_ptr', 'ptr_to_map_key'], ret: 'integer' },
  5: { name: 'bpf_ktime_get_ns', args: [], ret: 'integer' },
  6: {
    name: 'bpf_trace_printk',
    args: ['ptr_to_mem_rdonly', 'const_size'],
    ret: 'integer',
    gplOnly: true,
    types: ALL,
    perfmon: true,
  },
  7: { name: 'bpf_get_prandom_u32', args: [], ret: 'integer' },
  8: { name: 'bpf_get_smp_processor_id', args: [], ret: 'integer' },
  12: {
    name: 'bpf_tail_call',
    args: ['ptr_to_ctx', 'const_map_ptr', 'anything'],
    ret: 'void',
    mapTypes: ['PROG_ARRAY'],
  },
  16: { name: 'bpf_get_current_comm', args: ['ptr_to_uninit_mem', 'const_size'], ret: 'integer', types: ALL },
  35: { name: 'bpf_get_current_task', args: [], ret: 'integer', types: ALL, perfmon: true },
  68: {
    name: 'bpf_skb_load_bytes_relative',
    args: ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size', 'anything'],
    ret: 'integer',
    types: ['SOCKET_FILTER', 'SCHED_CLS', 'SCHED_ACT', 'CGROUP_SKB'],
  },
  114: {
    name: 'bpf_probe_read_user_str',
    args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'],
    ret: 'integer',
    gplOnly: true,
    types: TRACING,
    perfmon: true,
    retMaxFromSize: true,
  },
  115: {
    name: 'bpf_probe_read_kernel_str',
    args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'],
    ret: 'integer',
    gplOnly: true,
    types: TRACING,
    perfmon: true,
    retMaxFromSize: true,
  },
  112: {
    name: 'bpf_probe_read_user',
    args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'],
    ret: 'integer',
    gplOnly: true,
    types: TRACING,
    perfmon: true,
  },
  177: {
    name: 'bpf_trace_vprintk',
    args: ['ptr_to_mem_rdonly', 'const_size', 'ptr_to_mem_rdonly_or_null', 'const_size_or_zero'],
    ret: 'integer',
    gplOnly: true,
    types: ALL,
    perfmon: true,
  },
  189: {
    name: 'bpf_xdp_load_bytes',
    args: ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size'],
    ret: 'integer',
    types: ['XDP'],
  },
  14: { name: 'bpf_get_current_pid_tgid', args: [], ret: 'integer', types: ALL },
  15: { name: 'bpf_get_current_uid_gid', args: [], ret: 'integer', types: ALL },
  113: {
    name: 'bpf_probe_read_kernel',
    args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'],
    ret: 'integer',
    gplOnly: true,
    types: TRACING,
    perfmon: true,
  },
  130: {
    name: 'bpf_ringbuf_output',
    args: ['const_map_ptr', 'ptr_to_mem_rdonly', 'const_size_or_zero', 'anything'],
    ret: 'integer',
    mapTypes: ['RINGBUF'],
  },
  131: {
    name: 'bpf_ringbuf_reserve',
    args: ['const_map_ptr', 'const_alloc_size_or_zero', 'anything'],
    ret: 'ringbuf_mem_or_null',
    mapTypes: ['RINGBUF'],
  },
  132: { name: 'bpf_ringbuf_submit', args: ['ptr_to_ringbuf_mem_release', 'anything'], ret: 'void' },
  133: { name: 'bpf_ringbuf_discard', args: ['ptr_to_ringbuf_mem_release', 'anything'], ret: 'void' },
  164: {
    name: 'bpf_for_each_map_elem',
    args: ['const_map_ptr', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'],
    ret: 'integer',
    callback: { arg: 1 },
  },
  181: {
    name: 'bpf_loop',
    args: ['anything', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'],
    ret: 'integer',
    callback: { arg: 1 },
  },
};

/** Look up a helper for a program type and capability mode; undefined if unknown there. */
export function builtinHelper(id: number, progType: ProgTypeName, caps: Caps): HelperProto | undefined {
  const p = BUILTIN_HELPERS[id];
  if (!p) return undefined;
  if (p.types && !p.types.includes(progType)) return undefined;
  if (p.perfmon && caps !== 'root') return undefined;
  return p;
}

/** What a context load produces. */
export type CtxResult = 'scalar' | 'pkt' | 'pkt_end' | 'pkt_meta';

/** A context field: byte range, what a load gives, whether programs may write it. */
interface CtxField {
  readonly off: number;
  readonly size: number;
  readonly result: CtxResult;
  readonly read: boolean;
  readonly write: boolean;
  /** Only full-width loads (pointers). */
  readonly exact?: boolean;
}

const f = (
  off: number,
  size: number,
  read = true,
  write = false,
  result: CtxResult = 'scalar',
): CtxField => ({
  off,
  size,
  result,
  read,
  write,
  exact: result !== 'scalar',
});

const XDP_MD: readonly CtxField[] = [
  f(0, 4, true, false, 'pkt'),
  f(4, 4, true, false, 'pkt_end'),
  f(8, 4, true, false, 'pkt_meta'),
  { ...f(12, 4), exact: true },
  { ...f(16, 4), exact: true },
  { ...f(20, 4), exact: true },
];

/** `struct __sk_buff` fields; `tc` selects sched_cls/act rules, otherwise socket filter. */
function skBuff(tc: boolean): CtxField[] {
  const fields: CtxField[] = [
    f(0, 4),
    f(4, 4),
    f(8, 4, true, tc),
    f(12, 4, true, tc),
    f(16, 4),
    f(20, 4),
    f(24, 4),
    f(28, 4),
    f(32, 4, true, tc),
    f(36, 4),
    f(40, 4),
    f(44, 4, true, tc),
  ];
  for (let k = 0; k < 5; k++) fields.push(f(48 + 4 * k, 4, true, true));
  fields.push(f(68, 4));
  if (tc) {
    fields.push(f(72, 4, true, true));
    fields.push(f(76, 4, true, false, 'pkt'));
    fields.push(f(80, 4, true, false, 'pkt_end'));
    fields.push(f(140, 4, true, false, 'pkt_meta'));
    fields.push(f(152, 8, true, true));
    fields.push(f(160, 4));
  }
  fields.push(f(84, 4));
  fields.push(f(164, 4));
  fields.push(f(176, 4));
  return fields;
}

const CTX_SIZES: Partial<Record<ProgTypeName, number>> = {
  XDP: 24,
  SOCKET_FILTER: 192,
  SCHED_CLS: 192,
  SCHED_ACT: 192,
  CGROUP_SKB: 192,
};

const CTX_FIELDS: Partial<Record<ProgTypeName, readonly CtxField[]>> = {
  XDP: XDP_MD,
  SOCKET_FILTER: skBuff(false),
  SCHED_CLS: skBuff(true),
  SCHED_ACT: skBuff(true),
};

/** A valid context access, or undefined (`invalid bpf_context access`). */
export interface CtxAccess {
  readonly result: CtxResult;
}

/** The built-in context rules of a program type (`*_is_valid_access`). */
export function builtinCtxAccess(
  progType: ProgTypeName,
  off: number,
  size: number,
  write: boolean,
): CtxAccess | undefined {
  if (progType === 'TRACEPOINT' || progType === 'PERF_EVENT' || progType === 'KPROBE') {
    // tp_prog_is_valid_access: read-only, aligned, inside the record.
    if (off < 0 || off >= 2048 || write || off % size !== 0) return undefined;
    return { result: 'scalar' };
  }
  if (progType === 'RAW_TRACEPOINT') {
    if (off < 0 || off >= 12 * 8 || write || off % 8 !== 0 || size !== 8) return undefined;
    return { result: 'scalar' };
  }
  const fields = CTX_FIELDS[progType];
  if (!fields) return undefined;
  if (off < 0 || off + size > (CTX_SIZES[progType] ?? 0)) return undefined;
  for (const fl of fields) {
    if (off < fl.off || off + size > fl.off + fl.size) continue;
    if (write ? !fl.write : !fl.read) return undefined;
    if (fl.exact || write) {
      if (off !== fl.off || size !== fl.size) return undefined;
    } else if (off % size !== 0 || size > fl.size) return undefined;
    return { result: fl.result };
  }
  return undefined;
}

/** Return value ranges at exit of the main program, per program type (`check_return_code`). */
export function builtinReturnRange(
  progType: ProgTypeName,
): { readonly min: number; readonly max: number } | undefined {
  switch (progType) {
    case 'CGROUP_SKB':
      return { min: 0, max: 3 };
    default:
      return undefined;
  }
}
