/**
 * The verifier core's window on the kernel-measured tables (`tables/`): the helper a call gets,
 * what a context access gives, the exit-value range — per program type, expected attach type and
 * capability mode. The core only sees {@link Lookups}; everything program-type specific is data.
 */
import { HELPER_NAMES } from '../isa/helper-ids.js';
import type { ProgTypeName } from '../uapi.js';
import { btfCtxAccess, btfCtxOf, type CtxRead } from './btf-ctx.js';
import { BtfFlag, type RegType } from './scalar.js';
import {
  ctxAccess,
  type HelperArg,
  type HelperRet,
  helperById,
  helperCallError,
  helperProto,
  isGplOnly,
  type ReturnRange,
  returnRange,
} from './tables/index.js';
import type { Caps, VerifierInput } from './types.js';

export type { CtxRead };

/** A helper as a call site sees it: the prototype its program type gets plus the helper's traits. */
export interface CallProto {
  readonly id: number;
  /** `bpf_map_lookup_elem` (as the kernel's messages name it). */
  readonly name: string;
  readonly args: readonly HelperArg[];
  readonly ret: HelperRet;
  readonly gplOnly: boolean;
  /** Returns a reference the program must release (`is_acquire_function`). */
  readonly acquire: boolean;
  /** The result keeps the argument's reference (`is_ptr_cast_function`). */
  readonly ptrCast: boolean;
  /** Every packet pointer is invalid after the call (`bpf_helper_changes_pkt_data`). */
  readonly changesPktData: boolean;
  /** `do_refine_retval_range`: the result is in `[-MAX_ERRNO, size argument]`. */
  readonly retMaxFromSize: boolean;
}

/** The lookups the verifier core uses (the tables by default; tests may substitute their own). */
export interface Lookups {
  /** The prototype a call to helper `id` uses here, or the kernel's refusal. */
  helper(id: number): CallProto | string;
  /** A context access: what a read gives (writes: any {@link CtxRead}), or the kernel's refusal. */
  ctx(off: number, size: number, write: boolean): CtxRead | string;
  /** The range R0 must be in at the main program's exit; null or undefined: not checked. */
  returnRange(): ReturnRange | null | undefined;
  /** Told of every load/store checked (slot, pointer type): facts for the JIT when accepted. */
  access?(slot: number, type: RegType, write: boolean): void;
}

/** Helpers whose result `do_refine_retval_range` bounds by the size argument. */
const RET_MAX_FROM_SIZE = new Set([
  'get_stack',
  'get_task_stack',
  'probe_read_str',
  'probe_read_kernel_str',
  'probe_read_user_str',
]);

/** Context read results by the kernel's log name; unknown BTF pointers stay opaque `btf_id`s. */
function ctxRegType(logName: string): CtxRead {
  const maybeNull = logName.endsWith('_or_null');
  const base = maybeNull ? logName.slice(0, -'_or_null'.length) : logName;
  const known: Readonly<Record<string, RegType>> = {
    scalar: 'scalar',
    pkt: 'pkt',
    pkt_end: 'pkt_end',
    pkt_meta: 'pkt_meta',
    sock: 'sock',
    sock_common: 'sock_common',
    tcp_sock: 'tcp_sock',
    flow_keys: 'flow_keys',
  };
  const type = known[base];
  if (type) return { type, maybeNull };
  // trusted_ptr_sk_buff: a pointer to a kernel struct, found by name in the kernel's BTF
  const trusted = /^trusted_ptr_(\w+)$/.exec(base);
  return trusted
    ? { type: 'btf_id', maybeNull, btfStruct: trusted[1]!, btfFlags: BtfFlag.TRUSTED }
    : { type: 'btf_id', maybeNull };
}

/** Per program type, capabilities, attach type and sleepability: helper id → what calls get. */
const protoCache = new Map<string, Map<number, CallProto | string>>();

/** The helper `id` as programs of `progType` loaded with `caps` get it. */
export function callProto(
  id: number,
  progType: ProgTypeName,
  caps: Caps,
  attachType?: string,
  sleepable = false,
): CallProto | string {
  return protosFor(progType, caps, attachType, sleepable)(id);
}

/** The helper prototypes one kind of program gets, built once per helper and kept. */
function protosFor(
  progType: ProgTypeName,
  caps: Caps,
  attachType: string | undefined,
  sleepable: boolean,
): (id: number) => CallProto | string {
  const key = `${progType}:${caps}:${attachType ?? ''}:${sleepable}`;
  let protos = protoCache.get(key);
  if (!protos) {
    protos = new Map();
    protoCache.set(key, protos);
  }
  const cache = protos;
  return (id) => {
    let hit = cache.get(id);
    if (hit === undefined) {
      hit = buildProto(id, progType, caps, attachType, sleepable);
      cache.set(id, hit);
    }
    return hit;
  };
}

function buildProto(
  id: number,
  progType: ProgTypeName,
  caps: Caps,
  attachType: string | undefined,
  sleepable: boolean,
): CallProto | string {
  const name = HELPER_NAMES[id];
  // get_helper_proto: ids past __BPF_FUNC_MAX_ID are -ERANGE ("invalid func"); id 0 is a known
  // id without a prototype.
  if (id < 0 || name === undefined) return `invalid func unknown#${id}`;
  if (id === 0) return `program of this type cannot use helper bpf_${name}#0`;
  const refused = helperCallError(id, progType, caps, attachType, { sleepable });
  if (refused) return refused;
  const def = helperById(id);
  const proto = helperProto(id, progType, attachType);
  if (!def || !proto) return `program of this type cannot use helper bpf_${name}#${id}`;
  return {
    id,
    name: `bpf_${name}`,
    args: proto.args,
    ret: proto.ret,
    gplOnly: isGplOnly(id),
    acquire: def.acquire,
    ptrCast: def.ptrCast,
    changesPktData: def.changesPktData,
    retMaxFromSize: RET_MAX_FROM_SIZE.has(name),
  };
}

/** Per program type, capabilities and attach type: context accesses answered by the tables. */
const ctxCaches = new Map<string, Map<number, CtxRead | string>>();
/** Accesses kept per kind of program (random programs reach any offset). */
const CTX_CACHE_MAX = 4096;

function ctxCacheFor(
  progType: ProgTypeName,
  caps: Caps,
  attach: string | undefined,
): Map<number, CtxRead | string> {
  const key = `${progType}:${caps}:${attach ?? ''}`;
  let cache = ctxCaches.get(key);
  if (!cache) {
    cache = new Map();
    ctxCaches.set(key, cache);
  }
  return cache;
}

/** The table-backed lookups for one program (its type, attach type, capabilities, flags). */
export function tableLookups(input: VerifierInput): Lookups {
  const caps = input.caps ?? 'root';
  const { progType, expectedAttachType: attach } = input;
  // BPF_F_SLEEPABLE
  const sleepable = ((input.progFlags ?? 0) & (1 << 4)) !== 0;
  const btfCtx =
    (progType === 'TRACING' || progType === 'LSM') && input.kernelBtf && input.attachTarget
      ? btfCtxOf(input.kernelBtf, attach, input.attachTarget)
      : undefined;
  // the tables' answers hold for every program of this kind; a BTF context's for this one
  const ctxCache = btfCtx ? new Map<number, CtxRead | string>() : ctxCacheFor(progType, caps, attach);
  return {
    helper: protosFor(progType, caps, attach, sleepable),
    ctx(off, size, write) {
      const key = (off * 16 + size) * 2 + (write ? 1 : 0);
      let hit = ctxCache.get(key);
      if (hit === undefined && btfCtx) {
        hit = btfCtxAccess(btfCtx, off, size, write);
        ctxCache.set(key, hit);
      }
      if (hit === undefined) {
        const acc = ctxAccess(progType, off, size, write ? 'write' : 'read', attach, caps);
        if (!acc) hit = `invalid bpf_context access off=${off} size=${size}`;
        else if (!acc.allowed) hit = acc.message ?? `invalid bpf_context access off=${off} size=${size}`;
        else hit = acc.type ? ctxRegType(acc.type.logName) : { type: 'scalar', maybeNull: false };
        if (ctxCache.size < CTX_CACHE_MAX) ctxCache.set(key, hit);
      }
      return hit;
    },
    returnRange() {
      return returnRange(progType, attach, caps);
    },
  };
}

/** `struct bpf_sock` fields a 4-byte-default narrow read may take (`bpf_sock_is_valid_access`). */
const SOCK_NARROW: readonly (readonly [number, number])[] = [
  [4, 8], // family
  [8, 12], // type
  [12, 16], // protocol
  [24, 44], // src_ip4, src_ip6[4]
  [44, 48], // src_port
  [52, 72], // dst_ip4, dst_ip6[4]
  [72, 76], // state
  [76, 80], // rx_queue_mapping
];
const SOCK_SIZE = 80;
/** `struct bpf_tcp_sock`: size, and its two 8-byte counters. */
const TCP_SOCK_SIZE = 112;
const TCP_SOCK_U64 = [80, 88];

/**
 * Whether a read of `size` bytes at `off` through a socket pointer is allowed
 * (`bpf_sock_is_valid_access`, `bpf_sock_common_is_valid_access`, `bpf_tcp_sock_is_valid_access`).
 */
export function sockAccessOk(type: 'sock' | 'sock_common' | 'tcp_sock', off: number, size: number): boolean {
  if (off < 0 || off % size !== 0) return false;
  if (type === 'tcp_sock') {
    if (off >= TCP_SOCK_SIZE) return false;
    return size === (TCP_SOCK_U64.includes(off) ? 8 : 4);
  }
  if (off >= SOCK_SIZE) return false;
  // sock_common: type, protocol, mark and priority are full-socket fields
  if (type === 'sock_common' && off >= 8 && off < 24) return false;
  const narrowOk = size <= 4 && (size & (size - 1)) === 0;
  if (off >= 48 && off < 52) return off < 50 ? narrowOk : size === 4; // dst_port, its padding
  if (SOCK_NARROW.some(([a, b]) => off >= a && off < b)) return narrowOk;
  return size === 4;
}
