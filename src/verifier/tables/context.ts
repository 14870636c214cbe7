/**
 * The program context (`R1` at entry) of each program type: which byte offsets and sizes a
 * program may read or write, and what register type a read gives — the kernel's
 * `*_is_valid_access` functions (`net/core/filter.c`, `kernel/trace/bpf_trace.c`,
 * `kernel/bpf/cgroup.c`…), measured on Linux 6.18 by `scripts/gen-verifier-tables.ts` for every
 * offset below {@link CONTEXT_PROBED_UP_TO} and every size (`context-access.ts`).
 *
 * Rules the table does not spell per offset (measured the same way, see the tests):
 * - the offset is the constant `insn.off` plus the register's fixed offset; a ctx pointer moved
 *   by arithmetic may not be dereferenced: {@link CTX_MODIFIED_ERROR}; a variable offset:
 *   {@link CTX_VAR_OFF_ERROR};
 * - `BPF_ST` (store immediate) follows the write table like `BPF_STX` (since 6.3); atomics on the
 *   context are refused: {@link CTX_ATOMIC_ERROR};
 * - narrow loads (1 or 2 bytes of a 4-byte field, 4 bytes of an 8-byte one) appear as accepted
 *   offsets of the smaller size; the kernel rewrites them into a full load plus shift and mask, so
 *   the result is a scalar bounded by the access size;
 * - tracepoints accept any aligned read `8 ≤ off < 8192` (`PERF_MAX_TRACE_SIZE`, measured), past
 *   the probed range too.
 */

import type { ProgTypeName } from '../../uapi.js';
import type { Caps } from '../types.js';
import { CAPS_DIFFERENCES } from './caps-differences.js';
import {
  CONTEXT_MEASURED,
  CONTEXT_PROBED_UP_TO,
  DEFAULT_CTX_ERROR,
  type MeasuredContext,
} from './context-access.js';
import { CTX_FIELDS } from './context-fields.js';

export { CONTEXT_PROBED_UP_TO, DEFAULT_CTX_ERROR };

/** The kernel's message for a load through a ctx pointer that arithmetic moved (`%d`: reg, off). */
export const CTX_MODIFIED_ERROR = 'dereference of modified ctx ptr R%d off=%d disallowed';
/** The kernel's message for a ctx access at a variable offset (`%s`: the tnum). */
export const CTX_VAR_OFF_ERROR = 'variable ctx access var_off=%s disallowed';
/** The kernel's message for an atomic operation on the context. */
export const CTX_ATOMIC_ERROR = 'BPF_ATOMIC stores into R%d ctx is not allowed';

/** Tracepoint records: readable from 8 (the first 8 bytes hold a hidden pt_regs pointer) to here. */
export const PERF_MAX_TRACE_SIZE = 8192;

/** The uapi struct a program type's R1 points to (what `bpf_helpers.h` programs declare). */
export const CTX_STRUCTS: Readonly<Partial<Record<ProgTypeName, string>>> = {
  SOCKET_FILTER: '__sk_buff',
  KPROBE: 'pt_regs',
  SCHED_CLS: '__sk_buff',
  SCHED_ACT: '__sk_buff',
  TRACEPOINT: 'tracepoint record (trace_event_raw_*)',
  XDP: 'xdp_md',
  PERF_EVENT: 'bpf_perf_event_data',
  CGROUP_SKB: '__sk_buff',
  CGROUP_SOCK: 'bpf_sock',
  LWT_IN: '__sk_buff',
  LWT_OUT: '__sk_buff',
  LWT_XMIT: '__sk_buff',
  SOCK_OPS: 'bpf_sock_ops',
  SK_SKB: '__sk_buff',
  CGROUP_DEVICE: 'bpf_cgroup_dev_ctx',
  SK_MSG: 'sk_msg_md',
  RAW_TRACEPOINT: 'bpf_raw_tracepoint_args',
  CGROUP_SOCK_ADDR: 'bpf_sock_addr',
  LWT_SEG6LOCAL: '__sk_buff',
  LIRC_MODE2: 'u32 (the raw sample)',
  SK_REUSEPORT: 'sk_reuseport_md',
  FLOW_DISSECTOR: '__sk_buff',
  CGROUP_SYSCTL: 'bpf_sysctl',
  RAW_TRACEPOINT_WRITABLE: 'bpf_raw_tracepoint_args',
  CGROUP_SOCKOPT: 'bpf_sockopt',
  TRACING: 'u64[] (the traced function arguments, BTF-typed)',
  STRUCT_OPS: 'u64[] (the struct_ops member arguments, BTF-typed)',
  EXT: "the replaced function's arguments",
  LSM: 'u64[] (the LSM hook arguments, BTF-typed)',
  SK_LOOKUP: 'bpf_sk_lookup',
  SYSCALL: 'user-supplied buffer (ctx_size_in)',
  NETFILTER: 'bpf_nf_ctx',
};

/**
 * What a ctx read yields, by the kernel's log name (`R2=pkt(r=0)`): the `enum bpf_reg_type`
 * base and flags, and for BTF pointers the struct.
 */
export interface CtxRegType {
  /** As the level-2 log prints it (`pkt`, `sock_common_or_null`, `scalar`…). */
  readonly logName: string;
  /** `enum bpf_reg_type` (`PTR_TO_PACKET`, `SCALAR_VALUE`…). */
  readonly regType: string;
  /** `PTR_MAYBE_NULL`, `PTR_TRUSTED`. */
  readonly flags: readonly string[];
  /** For `PTR_TO_BTF_ID`: the kernel struct. */
  readonly btfStruct?: string;
}

const LOG_NAMES: Readonly<Record<string, Omit<CtxRegType, 'logName'>>> = {
  scalar: { regType: 'SCALAR_VALUE', flags: [] },
  pkt: { regType: 'PTR_TO_PACKET', flags: [] },
  pkt_end: { regType: 'PTR_TO_PACKET_END', flags: [] },
  pkt_meta: { regType: 'PTR_TO_PACKET_META', flags: [] },
  sock: { regType: 'PTR_TO_SOCKET', flags: [] },
  sock_or_null: { regType: 'PTR_TO_SOCKET', flags: ['PTR_MAYBE_NULL'] },
  sock_common_or_null: { regType: 'PTR_TO_SOCK_COMMON', flags: ['PTR_MAYBE_NULL'] },
  flow_keys: { regType: 'PTR_TO_FLOW_KEYS', flags: [] },
  tp_buffer: { regType: 'PTR_TO_TP_BUFFER', flags: [] },
};

/** Decode a log name (`trusted_ptr_sk_buff` → `PTR_TO_BTF_ID | PTR_TRUSTED`, struct `sk_buff`). */
export function ctxRegType(logName: string): CtxRegType {
  const known = LOG_NAMES[logName];
  if (known) return { logName, ...known };
  const trusted = /^trusted_ptr_(\w+)$/.exec(logName);
  if (trusted) return { logName, regType: 'PTR_TO_BTF_ID', flags: ['PTR_TRUSTED'], btfStruct: trusted[1]! };
  return { logName, regType: 'UNKNOWN', flags: [] };
}

/** The verdict for one context access. */
export interface CtxAccess {
  readonly allowed: boolean;
  /** For allowed reads: what the destination register becomes. */
  readonly type?: CtxRegType;
  /** For refused accesses: the kernel's message. */
  readonly message?: string;
}

const SIZE_INDEX: Readonly<Record<number, number>> = { 1: 0, 2: 1, 4: 2, 8: 3 };

/** Parse `a-b,c` runs (step = the access size) into a set of offsets. */
function expandRuns(runs: string, step: number): Set<number> {
  const out = new Set<number>();
  if (!runs) return out;
  for (const part of runs.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    for (let off = a; off <= (b ?? a); off += step) out.add(off);
  }
  return out;
}

interface ExpandedContext {
  readonly read: readonly Set<number>[];
  readonly write: readonly Set<number>[];
  readonly raw: MeasuredContext;
}

const expanded = new Map<string, ExpandedContext | null>();

/** The measured row for a program type: `TYPE/ATTACH` when measured, else `TYPE`. */
export function contextKey(progType: ProgTypeName, attachType?: string): string | undefined {
  if (attachType && CONTEXT_MEASURED[`${progType}/${attachType}`]) return `${progType}/${attachType}`;
  if (CONTEXT_MEASURED[progType]) return progType;
  // Types that only load with an attach type (sock_addr, sockopt, sk_lookup, netfilter): the
  // first measured attach type stands for the type.
  return Object.keys(CONTEXT_MEASURED).find((k) => k.startsWith(`${progType}/`) && CONTEXT_MEASURED[k]);
}

function rowFor(
  progType: ProgTypeName,
  attachType?: string,
  caps: Caps = 'root',
): ExpandedContext | undefined {
  const key = contextKey(progType, attachType);
  if (!key) return undefined;
  // Unprivileged cgroup_skb programs may not see packet pointers, for one (measured).
  const override = caps === 'root' ? undefined : CAPS_DIFFERENCES[caps].context[key];
  const cacheKey = override ? `${key}:${caps}` : key;
  if (!expanded.has(cacheKey)) {
    const raw = override ?? CONTEXT_MEASURED[key];
    expanded.set(
      cacheKey,
      raw
        ? {
            raw,
            read: raw.read.map((r, i) => expandRuns(r, i === 0 ? 1 : 1 << i)),
            write: raw.write.map((r, i) => expandRuns(r, i === 0 ? 1 : 1 << i)),
          }
        : null,
    );
  }
  return expanded.get(cacheKey) ?? undefined;
}

const fill = (template: string, off: number, size: number): string =>
  template.replace('%d', String(off)).replace('%d', String(size));

/**
 * Whether a program of `progType` loaded with capabilities `caps` may access its context at byte
 * `off` with `size` bytes (`read` or `write`), and what a read yields; undefined when the type was not measured (BTF
 * contexts: TRACING, LSM, STRUCT_OPS, EXT; SYSCALL contexts are plain memory).
 */
export function ctxAccess(
  progType: ProgTypeName,
  off: number,
  size: number,
  kind: 'read' | 'write',
  attachType?: string,
  caps: Caps = 'root',
): CtxAccess | undefined {
  const sizeIndex = SIZE_INDEX[size];
  const row = rowFor(progType, attachType, caps);
  if (!row || sizeIndex === undefined) return undefined;
  let allowed: boolean;
  if (off >= CONTEXT_PROBED_UP_TO && progType === 'TRACEPOINT') {
    allowed = kind === 'read' && off < PERF_MAX_TRACE_SIZE && off % size === 0;
  } else {
    allowed = (kind === 'read' ? row.read : row.write)[sizeIndex]!.has(off);
  }
  if (!allowed) {
    const special = row.raw.errors[`${kind === 'read' ? 'r' : 'w'}${off}/${size}`];
    return { allowed: false, message: fill(special ?? DEFAULT_CTX_ERROR, off, size) };
  }
  if (kind === 'write') return { allowed: true };
  return { allowed: true, type: ctxRegType(row.raw.types[`${off}/${size}`] ?? 'scalar') };
}

/**
 * The context's size as the verifier sees it: one past the last byte any access may touch
 * (tracepoints: {@link PERF_MAX_TRACE_SIZE}); undefined when not measured.
 */
export function ctxSize(progType: ProgTypeName, attachType?: string): number | undefined {
  if (progType === 'TRACEPOINT') return PERF_MAX_TRACE_SIZE;
  const row = rowFor(progType, attachType);
  if (!row) return undefined;
  let end = 0;
  for (const [i, offsets] of [...row.read, ...row.write].entries()) {
    const size = 1 << (i % 4);
    for (const off of offsets) end = Math.max(end, off + size);
  }
  return end;
}

/** Every offset/size whose read yields a pointer, for a program type: `"off/size"` → type. */
export function ctxPointerFields(
  progType: ProgTypeName,
  attachType?: string,
): ReadonlyMap<string, CtxRegType> {
  const row = rowFor(progType, attachType);
  return new Map(Object.entries(row?.raw.types ?? {}).map(([k, v]) => [k, ctxRegType(v)]));
}

/** The uapi struct whose fields name a program type's context bytes (from vmlinux BTF). */
const FIELD_STRUCTS: Readonly<Partial<Record<ProgTypeName, string>>> = {
  SOCKET_FILTER: '__sk_buff',
  SCHED_CLS: '__sk_buff',
  SCHED_ACT: '__sk_buff',
  CGROUP_SKB: '__sk_buff',
  LWT_IN: '__sk_buff',
  LWT_OUT: '__sk_buff',
  LWT_XMIT: '__sk_buff',
  LWT_SEG6LOCAL: '__sk_buff',
  SK_SKB: '__sk_buff',
  FLOW_DISSECTOR: '__sk_buff',
  XDP: 'xdp_md',
  CGROUP_SOCK: 'bpf_sock',
  CGROUP_SOCK_ADDR: 'bpf_sock_addr',
  SOCK_OPS: 'bpf_sock_ops',
  SK_MSG: 'sk_msg_md',
  PERF_EVENT: 'bpf_perf_event_data',
  KPROBE: 'pt_regs',
  CGROUP_SYSCTL: 'bpf_sysctl',
  CGROUP_SOCKOPT: 'bpf_sockopt',
  SK_LOOKUP: 'bpf_sk_lookup',
  CGROUP_DEVICE: 'bpf_cgroup_dev_ctx',
  SK_REUSEPORT: 'sk_reuseport_md',
  NETFILTER: 'bpf_nf_ctx',
};

/** A context field: which struct member a byte offset falls in. */
export interface CtxField {
  readonly struct: string;
  /** `data_end`, `cb[2]`, `remote_ip6[1]`; union members share offsets (the first is given). */
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/**
 * The field of `progType`'s context that byte `off` falls in (for messages and hints: "reading
 * `__sk_buff->data_end`"), or undefined past the struct or for types without a uapi struct.
 */
export function ctxField(progType: ProgTypeName, off: number): CtxField | undefined {
  const struct = FIELD_STRUCTS[progType];
  const fields = struct ? CTX_FIELDS[struct] : undefined;
  const hit = fields?.find(([, offset, size]) => off >= offset && off < offset + size);
  return hit && struct ? { struct, name: hit[0], offset: hit[1], size: hit[2] } : undefined;
}
