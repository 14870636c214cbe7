/**
 * `BPF_PROG_TEST_RUN` in the VM: the same inputs ({@link TestRunOptions}), outputs
 * ({@link TestRunResult}) and refusals as the kernel's `net/bpf/test_run.c`, per program type,
 * quirks included. Every rule below was measured on Linux 6.18 with `KernelProgram.testRun`; the
 * differential tests (`test-run.test.ts`) keep checking them against the running kernel.
 * Tracepoint records, which have no kernel test run, run with {@link runOnRecord}.
 *
 * XDP (`bpf_prog_test_run_xdp`):
 * - the packet sits after `XDP_PACKET_HEADROOM` (256) bytes in a 4096-byte frame whose last 320
 *   bytes are reserved, so at most 3520 bytes are linear; the rest of `data` becomes fragments,
 *   which only `bpf_xdp_load_bytes`/`_store_bytes` reach, and is returned unchanged after the
 *   linear part. `data` shorter than 14 bytes is EINVAL.
 * - `ctx_in` (`struct xdp_md`): `data` is the length of metadata taken from the front of `data_in`
 *   (a multiple of 4, at most 216), `data_end` the end of the linear part (at most the input size;
 *   smaller moves the rest to fragments), `data_meta` and `egress_ifindex` must be 0,
 *   `ingress_ifindex` 0 or a device with an XDP receive queue (here: 1, loopback; others ENODEV),
 *   `rx_queue_index` an existing queue (0) and only with an ifindex. Without `ctx_in` the program
 *   still reads `ingress_ifindex` 1. Bytes past the struct must be zero (E2BIG).
 * - `data_out` starts at `data_meta`; `ctx_out` gets `data` and `data_end` relative to it.
 * - `cpu` (`BPF_F_TEST_RUN_ON_CPU`) is EINVAL; live frames (`BPF_F_TEST_XDP_LIVE_FRAMES`) are not
 *   modelled.
 *
 * Socket filters, tc and cgroup skb (`bpf_prog_test_run_skb`; CGROUP_SKB is a socket filter's L3
 * view with `data`/`data_end` and a stand-in socket: family and addresses from the IP header):
 * - at least 14 bytes, and a whole IPv4 (34) or IPv6 (54) header when the EtherType says so
 *   (EINVAL otherwise); `eth_type_trans` on loopback sets `protocol` and `pkt_type`.
 * - a socket filter's `skb->data` is the network header and `len` excludes the Ethernet header;
 *   its `data_out` has the Ethernet header zeroed. tc sees (and returns) the whole frame.
 * - `ctx_in` may set only `mark`, `priority`, `ingress_ifindex`, `ifindex` (> 1 must exist:
 *   ENODEV), `cb[]`, `tstamp`, `wire_len` (0, or between `len` and 64 KiB), `gso_segs` (≤ 65535),
 *   `gso_size`, `hwtstamp`; any other non-zero byte is EINVAL. `ctx_out` is `ctx_in` with `mark`,
 *   `priority`, `ingress_ifindex`, `ifindex`, `tstamp`, `cb[]`, `wire_len`, `gso_segs` and
 *   `hwtstamp` copied back (not `tc_index`, `tc_classid` or `queue_mapping`).
 *
 * Raw tracepoints (`bpf_prog_test_run_raw_tp`): `ctx_in` is the u64 arguments (at most 12);
 * `data_in`, `data_out`, `ctx_out` and `repeat` are EINVAL (so pass `ctxSizeOut: 0`); `cpu` runs
 * on that CPU.
 *
 * All: the program runs `repeat` times (at least once) on the *same* packet and context, so its
 * changes and map updates accumulate; `retval` is r0 truncated to u32.
 */
import { Errno, errnoName } from '../errno.js';
import { TsbpfError } from '../errors.js';
import { helperId } from '../isa/helper-ids.js';
import type { RecordLoop, RecordWalk } from '../jit/record-loop.js';
import { invalidRepeat, type TestRunOptions, type TestRunResult } from '../program.js';
import type { ProgTypeName } from '../uapi.js';
import type { PacketKind, PacketState, RedirectTarget } from './context/packet.js';
import {
  EthP,
  ethTypeTrans,
  SK_BUFF_SIZE,
  SKB_ACCESS,
  SKB_CTX_IN_FIELDS,
  SKB_CTX_OUT_FIELDS,
  SkBuff,
  type SkBuffFieldName,
  setSkbField,
  skbField,
} from './context/skb.js';
import {
  decodeXdpMd,
  encodeXdpMd,
  XDP_FRAME_RESERVED,
  XDP_FRAME_SIZE,
  XDP_MD_SIZE,
  XDP_PACKET_HEADROOM,
  XDP_TAILROOM,
  XdpMd,
  type XdpMdIn,
  xdpMetalenInvalid,
} from './context/xdp.js';
import { VmError } from './errors.js';
import type { TestRunDevice, VmHost, VmProgram } from './host.js';
import type { Region, VmMemory } from './memory.js';
import type { Runner } from './runner.js';

/** A test run the kernel would refuse, with the errno it would return. */
export class TestRunError extends TsbpfError {
  override name = 'TestRunError';
  readonly errno: number;
  /** The errno's name: `EINVAL`, `E2BIG`, `ENODEV`, `ENOTSUPP`… */
  readonly code: string;
  readonly program: string;
  constructor(program: string, errno: number, reason: string) {
    super(`test run of '${program}': ${errnoName(errno)}: ${reason}`);
    this.errno = errno;
    this.code = errnoName(errno);
    this.program = program;
  }
}

/** A program wrote a context field its type may only read (the verifier would have refused it). */
export class ContextAccessError extends VmError {
  override name = 'ContextAccessError';
  readonly field: string;
  constructor(field: string, type: string) {
    super(-1, `write to __sk_buff->${field}, which ${type} programs may not write`);
    this.field = field;
  }
}

/** What a VM test run gives beyond the kernel's: the redirect asked for, instructions, trace. */
export interface VmTestRunResult extends TestRunResult {
  /** Where `bpf_redirect`/`bpf_redirect_map` sent the packet (last run), if they were called. */
  readonly redirect: RedirectTarget | undefined;
  /** Instructions executed, summed over all runs. */
  readonly insnsExecuted: number;
  /** `bpf_trace_printk` lines of all runs. */
  readonly trace: readonly string[];
}

export type { TestRunDevice } from './host.js';

/** The devices of a fresh network namespace: loopback only. */
export const DEFAULT_DEVICES: readonly TestRunDevice[] = [{ ifindex: 1, name: 'lo', xdpRxQueues: 1 }];

/** `BPF_F_TEST_RUN_ON_CPU`, `BPF_F_TEST_XDP_LIVE_FRAMES`, `BPF_F_TEST_SKB_CHECKSUM_COMPLETE`. */
const TestFlags = { RUN_ON_CPU: 1, XDP_LIVE_FRAMES: 2, SKB_CHECKSUM_COMPLETE: 4 } as const;
/** `NET_SKB_PAD` on x86-64 (64-byte cache lines): headroom of a test run's skb. */
const NET_SKB_PAD = 64;
/** Page size minus skb headroom and `skb_shared_info`: the largest skb test-run packet. */
const SKB_MAX_DATA = 4096 - NET_SKB_PAD - XDP_TAILROOM;
const ETH_HLEN = 14;
/** `GSO_LEGACY_MAX_SIZE`, `GSO_MAX_SEGS`. */
const GSO_LEGACY_MAX_SIZE = 65536;
const GSO_MAX_SEGS = 65535;

/** The flag bits a test run sends, as the kernel backend composes them. */
function flagsOf(options: TestRunOptions): number {
  return (options.flags ?? 0) | (options.cpu === undefined ? 0 : TestFlags.RUN_ON_CPU);
}

/** `bpf_ctx_init`: the context buffer (zero-filled to `size`), or undefined when none is asked for. */
function contextIn(program: string, options: TestRunOptions, size: number): Uint8Array | undefined {
  const wantOut = (options.ctxSizeOut ?? options.ctx?.length ?? 0) > 0;
  if (!options.ctx && !wantOut) return undefined;
  const ctx = new Uint8Array(size);
  if (options.ctx) {
    // Bytes past the struct this kernel knows must be zero (bpf_check_uarg_tail_zero).
    if (options.ctx.subarray(size).some((byte) => byte !== 0))
      throw new TestRunError(program, Errno.E2BIG, `ctx_in has non-zero bytes past the ${size}-byte context`);
    ctx.set(options.ctx.subarray(0, size));
  }
  return ctx;
}

/** Whether the caller gets a `ctx_out` (`ctx_out` was given a size). */
function wantsContextOut(options: TestRunOptions): boolean {
  return (options.ctxSizeOut ?? options.ctx?.length ?? 0) > 0;
}

/** Whether the caller gets `data_out`. */
function wantsDataOut(options: TestRunOptions): boolean {
  return (options.dataSizeOut ?? (options.data?.length ? options.data.length + 256 : 0)) > 0;
}

/** Which packet family a program type's test run builds, if any. */
function packetKindOf(type: ProgTypeName): PacketKind | undefined {
  if (type === 'XDP') return 'xdp';
  if (type === 'SOCKET_FILTER') return 'socket';
  if (type === 'SCHED_CLS' || type === 'SCHED_ACT') return 'tc';
  if (type === 'CGROUP_SKB') return 'cgroup';
  return undefined;
}

/** Run `program` as `BPF_PROG_TEST_RUN` would. Throws {@link TestRunError} where the kernel fails. */
export function testRun(
  vm: VmHost,
  program: VmProgram,
  options: TestRunOptions,
  devices: readonly TestRunDevice[] = DEFAULT_DEVICES,
): VmTestRunResult {
  // A count past the kernel's u32 is EINVAL on both backends, never a wrapped count.
  const badRepeat = invalidRepeat(options.repeat);
  if (badRepeat) throw new TestRunError(program.name, Errno.EINVAL, badRepeat);
  const kind = packetKindOf(program.type);
  if (kind === 'xdp') return xdpTestRun(vm, program, options, devices);
  if (kind) return skbTestRun(vm, program, options, kind, devices);
  if (program.type === 'RAW_TRACEPOINT') return rawTracepointTestRun(vm, program, options);
  if (program.type === 'SYSCALL') return syscallTestRun(vm, program, options);
  // Tracepoints, kprobes, perf events… have no test run (Linux 6.18: ENOTSUPP).
  throw new TestRunError(program.name, Errno.ENOTSUPP, `${program.type} programs have no test run`);
}

/** Run the program `repeat` times with r1 = `ctx`; the last r0 and the mean duration. */
function repeatRuns(
  vm: VmHost,
  program: VmProgram,
  ctx: number,
  repeat: number | undefined,
): { retval: number; durationNs: number; insnsExecuted: number; trace: string[] } {
  const runs = Math.max(1, repeat ?? 0);
  // Prepared once and repeated inside the JIT's code, as the kernel sets a test run up once and
  // loops over the program.
  const runner = vm.prepare(program);
  const start = performance.now();
  const retval = runner.repeatWith(runs, ctx, 0);
  const durationNs = Math.round(((performance.now() - start) * 1e6) / runs);
  return { retval, durationNs, insnsExecuted: runner.insnsExecuted, trace: [...runner.trace] };
}

function xdpTestRun(
  vm: VmHost,
  program: VmProgram,
  options: TestRunOptions,
  devices: readonly TestRunDevice[],
): VmTestRunResult {
  const name = program.name;
  const fail = (errno: number, reason: string) => new TestRunError(name, errno, reason);
  const flags = flagsOf(options);
  if (flags & ~TestFlags.XDP_LIVE_FRAMES)
    throw fail(Errno.EINVAL, `flags 0x${flags.toString(16)} (cpu is for raw tracepoints)`);
  if (flags & TestFlags.XDP_LIVE_FRAMES)
    throw fail(Errno.EOPNOTSUPP, 'live frames (BPF_F_TEST_XDP_LIVE_FRAMES) are not modelled by the VM');
  if (options.batchSize) throw fail(Errno.EINVAL, 'batch_size is for live frames');
  const data = options.data ?? new Uint8Array(0);
  const ctxIn = contextIn(name, options, XDP_MD_SIZE);
  const md: XdpMdIn | undefined = ctxIn && decodeXdpMd(ctxIn);
  let metalen = 0;
  let linear = data.length;
  if (md) {
    if (md.dataMeta !== 0) throw fail(Errno.EINVAL, 'xdp_md.data_meta must be 0');
    if (md.dataEnd > data.length)
      throw fail(Errno.EINVAL, `xdp_md.data_end ${md.dataEnd} is past the ${data.length} bytes of data`);
    if (md.data > md.dataEnd) throw fail(Errno.EINVAL, 'xdp_md.data is after data_end');
    if (xdpMetalenInvalid(md.data) || md.data > XDP_PACKET_HEADROOM - XDP_FRAME_RESERVED)
      throw fail(Errno.EINVAL, `${md.data} bytes of metadata (a multiple of 4, at most 216)`);
    metalen = md.data;
    linear = md.dataEnd;
  }
  if (data.length < ETH_HLEN)
    throw fail(Errno.EINVAL, `${data.length} bytes of data, less than an Ethernet header`);
  const headroom = XDP_PACKET_HEADROOM - metalen;
  linear = Math.min(linear, XDP_FRAME_SIZE - headroom - XDP_TAILROOM);
  let ingress = 1;
  let queue = 0;
  if (md) {
    if (md.egressIfindex !== 0) throw fail(Errno.EINVAL, 'xdp_md.egress_ifindex must be 0');
    if (!md.ingressIfindex && md.rxQueueIndex)
      throw fail(Errno.EINVAL, 'rx_queue_index without ingress_ifindex');
    if (md.ingressIfindex) {
      const device = devices.find((d) => d.ifindex === md.ingressIfindex);
      if (!device) throw fail(Errno.ENODEV, `no device with ifindex ${md.ingressIfindex}`);
      if (md.rxQueueIndex >= device.xdpRxQueues)
        throw fail(Errno.EINVAL, `device ${device.name} has no XDP receive queue ${md.rxQueueIndex}`);
      ingress = md.ingressIfindex;
      queue = md.rxQueueIndex;
    }
  }

  const memory = vm.memory;
  const frame = memory.scratch('xdp frame', XDP_FRAME_SIZE);
  memory.bytes.set(data.subarray(0, linear), frame.start + headroom);
  const ctx = memory.alloc(XDP_MD_SIZE, { name: 'xdp_md', writable: false });
  const frags = data.slice(linear);
  const state: PacketState = {
    kind: 'xdp',
    memory,
    frame,
    ctx: ctx.start,
    dataMeta: frame.start + headroom,
    data: frame.start + XDP_PACKET_HEADROOM,
    dataEnd: frame.start + headroom + linear,
    hardStart: frame.start + XDP_FRAME_RESERVED,
    hardEnd: frame.end - XDP_TAILROOM,
    mac: frame.start + XDP_PACKET_HEADROOM,
    network: frame.start + XDP_PACKET_HEADROOM,
    frags,
    hash: 0,
    redirect: undefined,
    syncContext() {
      const view = memory.view;
      view.setUint32(ctx.start + XdpMd.data, this.data, true);
      view.setUint32(ctx.start + XdpMd.data_end, this.dataEnd, true);
      view.setUint32(ctx.start + XdpMd.data_meta, this.dataMeta, true);
    },
  };
  state.syncContext();
  memory.view.setUint32(ctx.start + XdpMd.ingress_ifindex, ingress, true);
  memory.view.setUint32(ctx.start + XdpMd.rx_queue_index, queue, true);
  try {
    vm.packet = state;
    const run = repeatRuns(vm, program, ctx.start, options.repeat);
    const dataOut = new Uint8Array(state.dataEnd - state.dataMeta + frags.length);
    dataOut.set(memory.bytes.subarray(state.dataMeta, state.dataEnd));
    dataOut.set(frags, state.dataEnd - state.dataMeta);
    const ctxOut =
      md && wantsContextOut(options)
        ? encodeXdpMd({ ...md, data: state.data - state.dataMeta, dataEnd: state.dataEnd - state.dataMeta })
        : undefined;
    return {
      retval: run.retval,
      dataOut: wantsDataOut(options) ? dataOut : new Uint8Array(0),
      ctxOut,
      durationNs: run.durationNs,
      redirect: state.redirect,
      insnsExecuted: run.insnsExecuted,
      trace: run.trace,
    };
  } finally {
    vm.packet = undefined;
    memory.free(ctx);
  }
}

/** Check the `__sk_buff` a test run got: only {@link SKB_CTX_IN_FIELDS} may be non-zero. */
function checkSkbContextIn(name: string, ctx: Uint8Array, frameLength: number): void {
  const allowed = new Uint8Array(SK_BUFF_SIZE);
  for (const field of SKB_CTX_IN_FIELDS) {
    const { offset, size } = SkBuff[field];
    allowed.fill(1, offset, offset + size);
  }
  for (let i = 0; i < SK_BUFF_SIZE; i++) {
    if (ctx[i] !== 0 && !allowed[i]) {
      const field = (Object.keys(SkBuff) as SkBuffFieldName[]).find(
        (key) => i >= SkBuff[key].offset && i < SkBuff[key].offset + SkBuff[key].size,
      );
      throw new TestRunError(name, Errno.EINVAL, `__sk_buff.${field ?? `byte ${i}`} must be 0 in ctx_in`);
    }
  }
  const view = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const wireLen = Number(skbField(view, 'wire_len'));
  if (wireLen !== 0 && (wireLen < frameLength || wireLen > GSO_LEGACY_MAX_SIZE))
    throw new TestRunError(
      name,
      Errno.EINVAL,
      `__sk_buff.wire_len ${wireLen} (0, or ${frameLength}-${GSO_LEGACY_MAX_SIZE})`,
    );
  if (Number(skbField(view, 'gso_segs')) > GSO_MAX_SEGS)
    throw new TestRunError(name, Errno.EINVAL, `__sk_buff.gso_segs above ${GSO_MAX_SEGS}`);
}

function skbTestRun(
  vm: VmHost,
  program: VmProgram,
  options: TestRunOptions,
  kind: 'socket' | 'tc' | 'cgroup',
  devices: readonly TestRunDevice[],
): VmTestRunResult {
  const name = program.name;
  const fail = (errno: number, reason: string) => new TestRunError(name, errno, reason);
  const flags = flagsOf(options);
  if (flags & ~TestFlags.SKB_CHECKSUM_COMPLETE || options.batchSize)
    throw fail(Errno.EINVAL, `flags 0x${flags.toString(16)}, cpu and batch_size are not for skb programs`);
  const data = options.data ?? new Uint8Array(0);
  if (data.length < ETH_HLEN)
    throw fail(Errno.EINVAL, `${data.length} bytes of data, less than an Ethernet header`);
  if (data.length > SKB_MAX_DATA)
    throw fail(Errno.EINVAL, `${data.length} bytes of data, more than ${SKB_MAX_DATA}`);
  const ctxIn = contextIn(name, options, SK_BUFF_SIZE);
  const inView = ctxIn && new DataView(ctxIn.buffer);
  let ifindex = 1;
  if (inView) {
    const wanted = Number(skbField(inView, 'ifindex'));
    if (wanted > 1) {
      if (!devices.some((device) => device.ifindex === wanted))
        throw fail(Errno.ENODEV, `no device with ifindex ${wanted}`);
      ifindex = wanted;
    }
  }
  const { pktType, protocol } = ethTypeTrans(data);
  // A frame that says IPv4 or IPv6 must hold the whole fixed header.
  if (protocol === EthP.IP && data.length < ETH_HLEN + 20)
    throw fail(Errno.EINVAL, 'IPv4 frame shorter than its header');
  if (protocol === EthP.IPV6 && data.length < ETH_HLEN + 40)
    throw fail(Errno.EINVAL, 'IPv6 frame shorter than its header');
  const len = kind === 'tc' ? data.length : data.length - ETH_HLEN;
  if (ctxIn) checkSkbContextIn(name, ctxIn, len);

  const memory = vm.memory;
  const buffer = memory.scratch('skb', NET_SKB_PAD + data.length);
  const mac = buffer.start + NET_SKB_PAD;
  memory.bytes.set(data, mac);
  const ctx: Region = memory.scratch('__sk_buff', SK_BUFF_SIZE);
  const view = memory.view;
  const base = ctx.start;
  const access = SKB_ACCESS[kind];
  const state: PacketState = {
    kind,
    memory,
    frame: buffer,
    ctx: base,
    data: kind === 'tc' ? mac : mac + ETH_HLEN,
    dataEnd: mac + data.length,
    dataMeta: kind === 'tc' ? mac : mac + ETH_HLEN,
    hardStart: buffer.start,
    hardEnd: mac + data.length,
    mac,
    network: mac + ETH_HLEN,
    frags: new Uint8Array(0),
    hash: 0,
    redirect: undefined,
    syncContext() {
      const v = memory.view;
      setSkbField(v, 'len', this.dataEnd - this.data, base);
      setSkbField(v, 'hash', this.hash, base);
      if (!access.hidden.includes('data')) {
        setSkbField(v, 'data', this.data, base);
        setSkbField(v, 'data_end', this.dataEnd, base);
        setSkbField(v, 'data_meta', this.dataMeta, base);
      }
    },
  };
  const copyIn = (field: SkBuffFieldName) => {
    if (!inView || access.hidden.includes(field)) return;
    const { offset, size } = SkBuff[field];
    memory.bytes.set(ctxIn.subarray(offset, offset + size), base + offset);
  };
  state.syncContext();
  setSkbField(view, 'pkt_type', pktType, base);
  // `protocol` is a __be16 in a u32: the EtherType's bytes in network order.
  setSkbField(view, 'protocol', ((protocol & 0xff) << 8) | (protocol >> 8), base);
  setSkbField(view, 'ifindex', ifindex, base);
  if (kind === 'cgroup') standInSocket(view, base, data, protocol);
  for (const field of [
    'mark',
    'priority',
    'ingress_ifindex',
    'cb',
    'tstamp',
    'gso_segs',
    'gso_size',
    'hwtstamp',
  ] as const)
    copyIn(field);
  // cb->pkt_len: set only when a ctx_in is converted, to the length at that point (before a socket
  // filter's header is pushed back); without ctx_in a tc program reads wire_len 0.
  const wireLen = inView ? Number(skbField(inView, 'wire_len')) || len : 0;
  if (!access.hidden.includes('wire_len')) setSkbField(view, 'wire_len', wireLen, base);
  const before = memory.read(base, SK_BUFF_SIZE);
  try {
    vm.packet = state;
    const run = repeatRuns(vm, program, base, options.repeat);
    const after = memory.read(base, SK_BUFF_SIZE);
    for (const field of Object.keys(SkBuff) as SkBuffFieldName[]) {
      if (access.writable.includes(field) || field === 'len' || field === 'hash') continue;
      const { offset, size } = SkBuff[field];
      for (let i = offset; i < offset + size; i++)
        if (after[i] !== before[i]) throw new ContextAccessError(field, program.type);
    }
    const dataOut = memory.read(mac, state.dataEnd - mac);
    // A socket filter's Ethernet header is pushed back zeroed after the run.
    if (kind !== 'tc') dataOut.fill(0, 0, ETH_HLEN);
    let ctxOut: Uint8Array | undefined;
    if (ctxIn && wantsContextOut(options)) {
      ctxOut = ctxIn.slice();
      const outView = new DataView(ctxOut.buffer);
      const result = new DataView(after.buffer);
      for (const field of SKB_CTX_OUT_FIELDS) {
        const { offset, size } = SkBuff[field];
        if (field === 'wire_len') setSkbField(outView, field, wireLen);
        else if (access.hidden.includes(field)) ctxOut.set(ctxIn.subarray(offset, offset + size), offset);
        else ctxOut.set(after.subarray(offset, offset + size), offset);
      }
      setSkbField(outView, 'ifindex', skbField(result, 'ifindex'));
    }
    return {
      retval: run.retval,
      dataOut: wantsDataOut(options) ? dataOut : new Uint8Array(0),
      ctxOut,
      durationNs: run.durationNs,
      redirect: state.redirect,
      insnsExecuted: run.insnsExecuted,
      trace: run.trace,
    };
  } finally {
    vm.packet = undefined;
  }
}

/**
 * The socket a CGROUP_SKB test run attaches to its skb (`bpf_prog_test_run_skb`): family
 * AF_INET / AF_INET6 by the EtherType, local and remote addresses the packet's source and
 * destination, ports 0 — what `__sk_buff.family`, `local_ip4`… read.
 */
function standInSocket(view: DataView, base: number, frame: Uint8Array, protocol: number): void {
  const AF_INET = 2;
  const AF_INET6 = 10;
  const bytes = (at: number, n: number) => frame.subarray(at, at + n);
  const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  if (protocol === EthP.IP) {
    setSkbField(view, 'family', AF_INET, base);
    setSkbField(view, 'local_ip4', u32(bytes(ETH_HLEN + 12, 4)), base);
    setSkbField(view, 'remote_ip4', u32(bytes(ETH_HLEN + 16, 4)), base);
  } else if (protocol === EthP.IPV6) {
    setSkbField(view, 'family', AF_INET6, base);
    const local = bytes(ETH_HLEN + 8, 16);
    const remote = bytes(ETH_HLEN + 24, 16);
    for (let i = 0; i < 4; i++) {
      view.setUint32(base + SkBuff.local_ip6.offset + 4 * i, u32(local.subarray(4 * i)), true);
      view.setUint32(base + SkBuff.remote_ip6.offset + 4 * i, u32(remote.subarray(4 * i)), true);
    }
  }
}

/**
 * `BPF_PROG_TYPE_SYSCALL` (since 5.14): the context is the caller's own bytes (at most 65535),
 * which the program may change and Linux writes back into `ctx_in`; no data, no `ctx_out`, no
 * repeat, no flags (all EINVAL). Like the kernel, the VM changes `options.ctx` in place; the
 * result's `ctxOut` holds the same bytes.
 */
function syscallTestRun(vm: VmHost, program: VmProgram, options: TestRunOptions): VmTestRunResult {
  const fail = (reason: string) => new TestRunError(program.name, Errno.EINVAL, reason);
  if (options.data?.length || (options.dataSizeOut ?? 0) > 0) throw fail('syscall programs take no data');
  if ((options.ctxSizeOut ?? 0) > 0)
    throw fail('syscall programs return their context in ctx_in, not ctx_out');
  if (options.repeat || flagsOf(options) || options.batchSize)
    throw fail('syscall test runs take no repeat or flags');
  const ctx = options.ctx ?? new Uint8Array(0);
  if (ctx.length > 0xffff) throw fail(`ctx of ${ctx.length} bytes is more than 65535`);
  const memory = vm.memory;
  const region = memory.alloc(ctx.length, { name: 'syscall ctx' });
  memory.bytes.set(ctx, region.start);
  try {
    const run = repeatRuns(vm, program, ctx.length ? region.start : 0, 1);
    const out = memory.read(region.start, ctx.length);
    ctx.set(out);
    return {
      retval: run.retval,
      dataOut: new Uint8Array(0),
      ctxOut: out,
      durationNs: run.durationNs,
      redirect: undefined,
      insnsExecuted: run.insnsExecuted,
      trace: run.trace,
    };
  } finally {
    memory.free(region);
  }
}

function rawTracepointTestRun(vm: VmHost, program: VmProgram, options: TestRunOptions): VmTestRunResult {
  const name = program.name;
  const fail = (errno: number, reason: string) => new TestRunError(name, errno, reason);
  if (
    options.data?.length ||
    wantsDataOut(options) ||
    wantsContextOut(options) ||
    options.repeat ||
    options.batchSize
  )
    throw fail(
      Errno.EINVAL,
      'raw tracepoint test runs take ctx_in only (pass ctxSizeOut: 0; no data, no repeat)',
    );
  const flags = flagsOf(options);
  if (flags & ~TestFlags.RUN_ON_CPU) throw fail(Errno.EINVAL, `flags 0x${flags.toString(16)}`);
  const args = options.ctx ?? new Uint8Array(0);
  if (args.length > 12 * 8) throw fail(Errno.EINVAL, `${args.length} bytes of arguments, more than 12 u64`);
  if (options.cpu !== undefined && options.cpu >= vm.maps.cpus)
    throw fail(6 /* ENXIO */, `CPU ${options.cpu} is not online (the VM has ${vm.maps.cpus})`);
  const previousCpu = vm.maps.cpu;
  if (options.cpu !== undefined) vm.maps.cpu = options.cpu;
  const memory = vm.memory;
  // Exactly the arguments given: reading past them faults, where the kernel refuses a ctx_in
  // shorter than the largest offset the program reads (EINVAL).
  const ctx = memory.alloc(args.length, { name: 'raw tracepoint args', writable: false });
  memory.bytes.set(args, ctx.start);
  try {
    const run = repeatRuns(vm, program, args.length ? ctx.start : 0, 1);
    return {
      retval: run.retval,
      dataOut: new Uint8Array(0),
      ctxOut: undefined,
      durationNs: run.durationNs,
      redirect: undefined,
      insnsExecuted: run.insnsExecuted,
      trace: run.trace,
    };
  } finally {
    memory.free(ctx);
    vm.maps.cpu = previousCpu;
  }
}

/**
 * Run a tracepoint (or any context-only) program on a record built by the caller — what the
 * kernel has no test run for (tracepoint test runs are ENOTSUPP), e.g. a `sys_enter_execve` record
 * from `buildTracepointRecord` (`context/tracepoint.ts`). The record is read-only, as the verifier makes it.
 */
export function runOnRecord(vm: VmHost, program: VmProgram, record: Uint8Array): VmTestRunResult {
  const region = vm.memory.alloc(record.length, {
    name: `${program.type.toLowerCase()} record`,
    writable: false,
  });
  vm.memory.bytes.set(record, region.start);
  try {
    const run = repeatRuns(vm, program, region.start, 1);
    return {
      retval: run.retval,
      dataOut: new Uint8Array(0),
      ctxOut: undefined,
      durationNs: run.durationNs,
      redirect: undefined,
      insnsExecuted: run.insnsExecuted,
      trace: run.trace,
    };
  } finally {
    vm.memory.free(region);
  }
}

const NO_FRAGMENTS = new Uint8Array(0);

/**
 * Helpers that read and change no per-packet state (bounds, fragments, hash, redirect target):
 * a program calling no others may run its packets in the JIT's record loop
 * ({@link XdpTestRunner.runRecords}).
 */
const RECORD_LOOP_HELPERS: ReadonlySet<number> = new Set(
  [
    'map_lookup_elem',
    'map_update_elem',
    'map_delete_elem',
    'map_push_elem',
    'map_pop_elem',
    'map_peek_elem',
    'map_lookup_percpu_elem',
    'ktime_get_ns',
    'ktime_get_boot_ns',
    'ktime_get_coarse_ns',
    'jiffies64',
    'trace_printk',
    'get_prandom_u32',
    'get_smp_processor_id',
    'ringbuf_output',
    'ringbuf_reserve',
    'ringbuf_submit',
    'ringbuf_discard',
    'ringbuf_query',
    'spin_lock',
    'spin_unlock',
  ].map((name) => helperId(name) ?? -1),
);

/** The parts of a {@link RecordWalk} the caller gives {@link XdpTestRunner.runRecords}. */
export type RecordSpan = Pick<RecordWalk, 'pos' | 'limit' | 'swap' | 'counts' | 'seen' | 'keep'>;

/**
 * An XDP test run prepared for many packets (a capture): `vm.testRun(program, { data })` per
 * packet, with the same retval, faults, maps, trace lines and `data_out`, but the frame and
 * `xdp_md` stay mapped and the program's {@link Runner} is reused, so a packet costs its copy and
 * its run. Between packets the frame is zeroed again as a fresh test run's is: all of it after a
 * program that moved the packet's bounds (`bpf_xdp_adjust_head`…) or was not verified (its
 * stores may land anywhere), else only the bytes past the new packet's end that the last one
 * covered — a verified program stores nowhere else in the frame.
 */
export class XdpTestRunner {
  readonly program: VmProgram;
  private readonly vm: VmHost;
  private readonly runner: Runner;
  private readonly frame: Region;
  private readonly ctx: Region;
  private readonly state: PacketState & { frags: Uint8Array };
  private readonly verified: boolean;
  /** Where each packet starts in the frame, and the most of it that is linear. */
  private readonly dataStart: number;
  private readonly maxLinear = XDP_FRAME_SIZE - XDP_PACKET_HEADROOM - XDP_TAILROOM;
  /** Bounds changes by helpers during the last run. */
  private moved = 0;
  /** End of the bytes the last packet may have left non-zero. */
  private dirtyEnd: number;
  /** {@link records}, null until asked. */
  private loop: RecordLoop | undefined | null = null;
  /**
   * What {@link runRecords} gives the loop, its fields set in place: a new object per call (a
   * spread) cost more than a chunk's packets.
   */
  private readonly walk: { -readonly [K in keyof RecordWalk]: RecordWalk[K] };

  constructor(vm: VmHost, program: VmProgram) {
    if (program.type !== 'XDP')
      throw new TestRunError(program.name, Errno.EINVAL, `${program.type} is not an XDP program`);
    this.vm = vm;
    this.program = program;
    this.verified = program.verified !== undefined && !program.unverified;
    const memory = vm.memory;
    const frame = memory.alloc(XDP_FRAME_SIZE, { name: 'xdp frame', align: 16 });
    const ctx = memory.alloc(XDP_MD_SIZE, { name: 'xdp_md', writable: false });
    this.frame = frame;
    this.ctx = ctx;
    const data = frame.start + XDP_PACKET_HEADROOM;
    this.dataStart = data;
    this.dirtyEnd = data;
    const self = this;
    // The field addresses once: a packet's set-up is a handful of stores.
    const fields = {
      data: ctx.start + XdpMd.data,
      dataEnd: ctx.start + XdpMd.data_end,
      dataMeta: ctx.start + XdpMd.data_meta,
    };
    this.state = {
      kind: 'xdp',
      memory,
      frame,
      ctx: ctx.start,
      dataMeta: data,
      data,
      dataEnd: data,
      hardStart: frame.start + XDP_FRAME_RESERVED,
      hardEnd: frame.end - XDP_TAILROOM,
      mac: data,
      network: data,
      frags: NO_FRAGMENTS,
      hash: 0,
      redirect: undefined,
      syncContext() {
        const view = memory.view;
        view.setUint32(fields.data, this.data, true);
        view.setUint32(fields.dataEnd, this.dataEnd, true);
        view.setUint32(fields.dataMeta, this.dataMeta, true);
        self.moved++;
      },
    };
    this.walk = {
      pos: 0,
      limit: 0,
      swap: false,
      counts: 0,
      seen: 0,
      keep: 0,
      data,
      maxLength: this.maxLinear,
      ctx: ctx.start,
      dataField: fields.data,
      endField: fields.dataEnd,
      metaField: fields.dataMeta,
    };
    memory.view.setUint32(ctx.start + XdpMd.ingress_ifindex, 1, true);
    memory.view.setUint32(ctx.start + XdpMd.rx_queue_index, 0, true);
    this.runner = vm.prepare(program);
  }

  /** Instructions executed by the last run. */
  get insnsExecuted(): number {
    return this.runner.insnsExecuted;
  }

  /** `bpf_trace_printk` lines of the last run. */
  get trace(): readonly string[] {
    return this.runner.trace;
  }

  /** Where the last run redirected the packet, if it did. */
  get redirect(): RedirectTarget | undefined {
    return this.state.redirect;
  }

  /**
   * Run the program on the packet `bytes[start, end)`; its retval (r0 as u32). Throws what
   * `vm.testRun` throws: {@link TestRunError} for a packet shorter than an Ethernet header, the
   * program's faults.
   */
  run(bytes: Uint8Array, start = 0, end = bytes.length): number {
    const length = end - start;
    if (length < ETH_HLEN)
      throw new TestRunError(
        this.program.name,
        Errno.EINVAL,
        `${length} bytes of data, less than an Ethernet header`,
      );
    const state = this.state;
    const memory = this.vm.memory;
    const frame = this.frame;
    const data = this.dataStart;
    const linear = Math.min(length, this.maxLinear);
    const target = memory.bytes;
    if (this.moved > 0 || !this.verified) target.fill(0, frame.start, frame.end);
    else if (this.dirtyEnd > data + linear) target.fill(0, data + linear, this.dirtyEnd);
    target.set(start === 0 && linear === bytes.length ? bytes : bytes.subarray(start, start + linear), data);
    state.data = state.dataMeta = data;
    state.dataEnd = data + linear;
    state.frags = linear < length ? bytes.slice(start + linear, end) : NO_FRAGMENTS;
    state.hash = 0;
    state.redirect = undefined;
    state.syncContext();
    this.moved = 0;
    this.dirtyEnd = data + linear;
    const vm = this.vm;
    vm.packet = state;
    try {
      return this.runner.runWith(this.ctx.start, 0);
    } finally {
      vm.packet = undefined;
      if (state.dataEnd > this.dirtyEnd) this.dirtyEnd = state.dataEnd;
    }
  }

  /** The VM memory the packets run in (where {@link runRecords} reads its records). */
  get memory(): VmMemory {
    return this.vm.memory;
  }

  /**
   * The JIT's record loop for this program, or undefined when its packets must run one by one
   * through {@link run}: on the interpreter, unverified (its stores may land anywhere in the
   * frame), tail calls, or a helper that keeps per-packet state (`bpf_xdp_adjust_head`,
   * `bpf_redirect`…; only {@link RECORD_LOOP_HELPERS}).
   */
  get records(): RecordLoop | undefined {
    if (this.loop === null) {
      const helpersKept = this.program.compiled.insns.every(
        (insn) => insn.kind !== 'call' || insn.src !== 0 || RECORD_LOOP_HELPERS.has(insn.imm),
      );
      this.loop = this.verified && helpersKept ? this.runner.recordLoop() : undefined;
    }
    return this.loop;
  }

  /**
   * Run the program over the classic pcap records in VM memory from `span.pos` to `span.limit`,
   * each packet as {@link run} runs it, inside WebAssembly (`jit/record-loop.ts`: the status it
   * returns, and {@link records}' `next`, `record`, `packets`, `retval` after it). A fault thrown
   * by a packet's run propagates, with `records.record` and `records.next` set. {@link trace}
   * then holds the lines of all the walk's packets, {@link dataOut} is the last packet's. Only
   * when {@link records} is defined.
   */
  runRecords(span: RecordSpan): number {
    const loop = this.records;
    if (!loop) throw new TestRunError(this.program.name, Errno.EINVAL, 'no record loop for this program');
    const state = this.state;
    const frame = this.frame;
    const data = this.dataStart;
    if (this.moved > 0) this.vm.memory.bytes.fill(0, frame.start, frame.end);
    this.moved = 0;
    loop.dirty = this.dirtyEnd;
    state.data = state.dataMeta = data;
    state.frags = NO_FRAGMENTS;
    state.hash = 0;
    state.redirect = undefined;
    const vm = this.vm;
    vm.packet = state;
    const walk = this.walk;
    walk.pos = span.pos;
    walk.limit = span.limit;
    walk.swap = span.swap;
    walk.counts = span.counts;
    walk.seen = span.seen;
    walk.keep = span.keep;
    try {
      return this.runner.walkRecords(loop, walk);
    } finally {
      vm.packet = undefined;
      // No helper the loop allows moves the bounds: the last packet ends where the frame is dirty.
      this.dirtyEnd = state.dataEnd = Math.max(loop.dirty, data);
    }
  }

  /** The last run's `data_out`: the packet from `data_meta` as the program left it, fragments after. */
  dataOut(): Uint8Array {
    const { state } = this;
    // `memory.read`, not a subarray of the memory's view (which costs microseconds).
    const linear = this.vm.memory.read(state.dataMeta, state.dataEnd - state.dataMeta);
    if (state.frags.length === 0) return linear;
    const out = new Uint8Array(linear.length + state.frags.length);
    out.set(linear);
    out.set(state.frags, linear.length);
    return out;
  }

  /** Unmap the frame and context. */
  close(): void {
    this.vm.memory.free(this.frame);
    this.vm.memory.free(this.ctx);
  }
}
