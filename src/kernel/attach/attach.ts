/**
 * Attaching loaded programs to their hooks, one function per kind of hook, each returning a
 * {@link Link} that detaches on `close()` and when the process exits (links.ts keeps the
 * registry). {@link attachBySection} picks the function from the program's section name, the
 * way libbpf's auto-attach does.
 *
 * | hook | function | mechanism |
 * |---|---|---|
 * | tracepoint | `attachTracepoint` (links.ts) | perf event + `LINK_CREATE(BPF_PERF_EVENT)` |
 * | raw tracepoint | `attachRawTracepoint` (links.ts) | `RAW_TRACEPOINT_OPEN` |
 * | tp_btf, fentry, fexit, fmod_ret, lsm | {@link attachTracing} | `LINK_CREATE` (BTF target fixed at load) |
 * | kprobe, kretprobe | {@link attachKprobe} | kprobe PMU perf event |
 * | uprobe, uretprobe | {@link attachUprobe} | uprobe PMU perf event, symbol → file offset from ELF |
 * | perf_event | {@link attachPerfEventSampling} | one sampling perf event per CPU |
 * | XDP | {@link attachXdp} | `LINK_CREATE(BPF_XDP)` on an ifindex (5.9) |
 * | tc | {@link attachTcx} | tcx link, `BPF_TCX_INGRESS`/`EGRESS` (6.6) |
 * | cgroup | {@link attachCgroup} | `LINK_CREATE` on a cgroup v2 directory fd (5.7) |
 * | socket filter | {@link attachSocketFilter} | `setsockopt(SO_ATTACH_BPF)` on a socket fd |
 *
 * Socket filters need a socket fd. We support three sources: any fd number you have; a
 * {@link PacketSocket} we open through libc (`AF_PACKET`, optionally bound to an interface);
 * and Node's own `net`/`dgram` sockets through {@link socketFd}, which reads the fd from Node's
 * internal handle (undocumented, but stable since Node 0.x on Unix).
 */
import { constants, closeSync as fsClose, openSync, readFileSync } from 'node:fs';
import { TsbpfError } from '../../errors.js';
import type { ProgramSpec } from '../../object/object.js';
import { AttachType, type AttachTypeName, enumName } from '../../uapi.js';
import type { KernelProgram } from '../load/program.js';
import { cString } from '../sys/attr.js';
import { SyscallError } from '../sys/errors.js';
import { bpfCall } from '../sys/objects.js';
import { type Arg, getSys, native, type Sys } from '../sys/syscall.js';
import { attachKprobe, attachPerfEventSampling, attachUprobe, findBinarySymbol } from './attach-probes.js';
import { attachTracing, type TracingKind } from './attach-tracing.js';
import { attachRawTracepoint, attachTracepoint, Link } from './links.js';

export * from './attach-probes.js';
export * from './attach-tracing.js';
export { attachRawTracepoint, attachTracepoint, Link } from './links.js';

type NativeFn = (...args: Arg[]) => unknown;
let net:
  | { ifNameToIndex: NativeFn; setsockopt: NativeFn; socket: NativeFn; bind: NativeFn; recv: NativeFn }
  | undefined;

function netLibc() {
  if (net) return net;
  const lib = native().koffi.load('libc.so.6');
  net = {
    ifNameToIndex: lib.func('unsigned int if_nametoindex(int64_t name)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, int64_t value, unsigned int length)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    bind: lib.func('int bind(int fd, int64_t address, unsigned int length)'),
    recv: lib.func('intptr_t recv(int fd, int64_t buf, size_t length, int flags)'),
  };
  return net;
}

function address(bytes: Uint8Array): bigint {
  return native().koffi.address(bytes) ?? 0n;
}

/**
 * The index of network interface `name` in *our* network namespace (`if_nametoindex(3)`; not
 * `/sys/class/net`, which shows the namespace sysfs was mounted in). A number passes through.
 */
export function interfaceIndex(name: string | number): number {
  if (typeof name === 'number') return name;
  const name0 = cString(name);
  const index = Number(netLibc().ifNameToIndex(address(name0)));
  if (index === 0)
    throw new TsbpfError(
      `network interface '${name}': not found (${native().koffi.errno() === 19 ? 'ENODEV' : 'if_nametoindex failed'})`,
    );
  return index;
}

/** `XDP_FLAGS_*` of `linux/if_link.h`. */
export const XdpFlags = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
} as const;

/** Where an XDP program runs: in the driver, in the generic skb path, or on the NIC. */
export type XdpMode = 'native' | 'generic' | 'offload';

const XDP_MODE_FLAGS: Readonly<Record<XdpMode, number>> = {
  native: XdpFlags.DRV_MODE,
  generic: XdpFlags.SKB_MODE,
  offload: XdpFlags.HW_MODE,
};

/**
 * Attach an XDP program to an interface (by name or index) with an XDP link (since 5.9). Without
 * `mode` the kernel picks native when the driver supports it, else generic.
 */
export function attachXdp(
  program: KernelProgram,
  iface: string | number,
  options: { mode?: XdpMode; sys?: Sys } = {},
): Link {
  const sys = getSys(options.sys);
  const ifindex = interfaceIndex(iface);
  const flags = options.mode ? XDP_MODE_FLAGS[options.mode] : 0;
  try {
    const { result } = bpfCall(sys, 'LINK_CREATE', {
      prog_fd: program.fd,
      target_ifindex: ifindex,
      attach_type: AttachType.XDP,
      flags,
    });
    return new Link(`xdp ${iface}${options.mode ? ` (${options.mode})` : ''}`, { link: result }, sys);
  } catch (error) {
    throw new TsbpfError(
      `attach XDP to ${iface}${options.mode ? ` in ${options.mode} mode` : ''}` +
        (error instanceof SyscallError && error.is('EBUSY') ? ': another XDP program is attached' : '') +
        (error instanceof SyscallError && error.is('EOPNOTSUPP')
          ? ': the driver does not support this mode'
          : ''),
      { cause: error },
    );
  }
}

/** Attach a `SCHED_CLS` program to an interface's ingress or egress with a tcx link (since 6.6). */
export function attachTcx(
  program: KernelProgram,
  iface: string | number,
  direction: 'ingress' | 'egress',
  options: { sys?: Sys } = {},
): Link {
  const sys = getSys(options.sys);
  const ifindex = interfaceIndex(iface);
  try {
    const { result } = bpfCall(sys, 'LINK_CREATE', {
      prog_fd: program.fd,
      target_ifindex: ifindex,
      attach_type: direction === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS,
    });
    return new Link(`tcx ${iface} ${direction}`, { link: result }, sys);
  } catch (error) {
    throw new TsbpfError(
      `attach tc ${direction} to ${iface}` +
        (error instanceof SyscallError && error.is('EINVAL') ? ': tcx links need Linux 6.6' : ''),
      { cause: error },
    );
  }
}

/** Where cgroup v2 is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid systems). */
export function cgroup2Root(): string {
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'cgroup2') return dir.replace(/\\040/g, ' ');
  }
  throw new TsbpfError('cgroup: no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup)');
}

/**
 * Attach a cgroup program (`CGROUP_SKB`, `CGROUP_SOCK`, …) to a cgroup v2 directory with a link
 * (since 5.7). `attachType` must be the one the program was loaded with. The program applies to
 * every process in the cgroup and its descendants; `cgroup` defaults to the v2 root.
 */
export function attachCgroup(
  program: KernelProgram,
  attachType: AttachTypeName | number,
  options: { cgroup?: string; sys?: Sys } = {},
): Link {
  const sys = getSys(options.sys);
  const path = options.cgroup ?? cgroup2Root();
  const type = typeof attachType === 'number' ? attachType : AttachType[attachType];
  // The kernel holds its own reference to the cgroup once linked: the directory fd is only needed
  // for the call.
  const dirFd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const { result } = bpfCall(sys, 'LINK_CREATE', {
      prog_fd: program.fd,
      target_fd: dirFd,
      attach_type: type,
    });
    return new Link(`cgroup ${path} ${enumName(AttachType, type) ?? type}`, { link: result }, sys);
  } catch (error) {
    throw new TsbpfError(`attach to cgroup ${path} as ${enumName(AttachType, type) ?? type}`, {
      cause: error,
    });
  } finally {
    fsClose(dirFd);
  }
}

const SOL_SOCKET = 1;
const SO_ATTACH_BPF = 50;
/** `SO_DETACH_BPF` is `SO_DETACH_FILTER`. */
const SO_DETACH_BPF = 27;

function setsockoptInt(fd: number, option: number, value: number): void {
  const buffer = new Uint8Array(new Int32Array([value]).buffer);
  const result = Number(netLibc().setsockopt(fd, SOL_SOCKET, option, address(buffer), 4));
  if (result < 0) throw new SyscallError(`setsockopt(${fd}, SOL_SOCKET, ${option})`, native().koffi.errno());
}

/** Something that is, or has, a socket fd. */
export type SocketLike = number | { readonly fd: number } | object;

/**
 * The fd of a socket: a number, a {@link PacketSocket}, or a Node `net.Socket`/`net.Server`
 * (`_handle.fd`) or `dgram.Socket` (its state's `handle.fd`) — the latter two read Node internals.
 * Node sockets must be bound or connected first (before that they have no fd).
 */
export function socketFd(socket: SocketLike): number {
  if (typeof socket === 'number') return socket;
  const record = socket as Record<string | symbol, unknown>;
  if (typeof record.fd === 'number') return record.fd;
  const handle = record._handle as { fd?: unknown } | undefined | null;
  if (handle && typeof handle.fd === 'number' && handle.fd >= 0) return handle.fd;
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    const state = record[symbol] as { handle?: { fd?: unknown } } | undefined;
    if (state && typeof state === 'object' && typeof state.handle?.fd === 'number' && state.handle.fd >= 0) {
      return state.handle.fd;
    }
  }
  throw new TsbpfError('socket filter: cannot find a socket fd (is the socket bound or connected yet?)');
}

/**
 * Attach a `SOCKET_FILTER` program to a socket (`SO_ATTACH_BPF`). The returned link detaches it
 * (`SO_DETACH_BPF`) on close; closing the socket detaches it too.
 */
export function attachSocketFilter(
  program: KernelProgram,
  socket: SocketLike,
  options: { sys?: Sys } = {},
): Link {
  const fd = socketFd(socket);
  setsockoptInt(fd, SO_ATTACH_BPF, program.fd);
  return new Link(
    `socket filter on fd ${fd}`,
    {
      release: () => {
        try {
          setsockoptInt(fd, SO_DETACH_BPF, 0);
        } catch {
          // The socket is already closed (EBADF) or has no filter (ENOENT): nothing to undo.
        }
      },
    },
    getSys(options.sys),
  );
}

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ALL = 0x0003;

/**
 * A raw `AF_PACKET` socket seeing every frame of one interface (or all interfaces), opened
 * through libc so a socket filter can be attached to it. Non-blocking: {@link receive} returns
 * undefined when nothing is queued.
 */
export class PacketSocket {
  readonly fd: number;
  #closed = false;

  constructor(iface?: string | number) {
    const c = netLibc();
    // protocol is in network byte order: htons(ETH_P_ALL).
    const protocol = ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >> 8);
    const fd = Number(c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
    if (fd < 0) throw new SyscallError('socket(AF_PACKET)', native().koffi.errno());
    this.fd = fd;
    if (iface !== undefined) {
      try {
        // struct sockaddr_ll { u16 family; be16 protocol; int ifindex; u16 hatype; u8 pkttype, halen; u8 addr[8]; }
        const sll = new Uint8Array(new ArrayBuffer(20));
        const view = new DataView(sll.buffer);
        view.setUint16(0, AF_PACKET, true);
        view.setUint16(2, ETH_P_ALL, false);
        view.setInt32(4, interfaceIndex(iface), true);
        if (Number(c.bind(fd, address(sll), sll.length)) < 0) {
          throw new SyscallError(`bind(AF_PACKET, ${iface})`, native().koffi.errno());
        }
      } catch (error) {
        native().close(fd);
        throw error;
      }
    }
  }

  /** The next queued frame, or undefined when there is none. */
  receive(maxBytes = 65536): Uint8Array | undefined {
    if (this.#closed) return undefined;
    const buffer = new Uint8Array(new ArrayBuffer(maxBytes));
    const n = Number(netLibc().recv(this.fd, address(buffer), maxBytes, 0));
    return n < 0 ? undefined : buffer.subarray(0, n);
  }

  /** Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native().close(this.fd);
  }
}

/**
 * The kernel function that implements system call `name` (`clone` → `__x64_sys_clone`), found
 * in `/proc/kallsyms`, for kprobes on system calls (bcc's `get_syscall_fnname`). Tries the
 * architecture's wrapper prefix, then `sys_<name>`.
 */
export function syscallFunctionName(name: string, kallsyms?: string): string {
  const prefixes =
    process.arch === 'arm64' ? ['__arm64_sys_', 'sys_'] : ['__x64_sys_', '__ia32_sys_', 'sys_'];
  let symbols: string;
  try {
    symbols = kallsyms ?? readFileSync('/proc/kallsyms', 'utf8');
  } catch {
    return `${prefixes[0]}${name}`;
  }
  for (const prefix of prefixes) {
    if (new RegExp(`^[0-9a-f]+ [tTwW] ${prefix}${name}$`, 'm').test(symbols)) return `${prefix}${name}`;
  }
  return `${prefixes[0]}${name}`;
}

/** What {@link attachBySection} may need beyond the section name. */
export interface AttachBySectionOptions {
  /** Interface for XDP and tc programs. */
  readonly iface?: string | number;
  readonly xdpMode?: XdpMode;
  /** cgroup v2 directory for cgroup programs (default: the v2 root). */
  readonly cgroup?: string;
  /** Socket for socket filters. */
  readonly socket?: SocketLike;
  /** For uprobes without a binary in the section (`uprobe//path:func` carries one). */
  readonly binary?: string;
  readonly pid?: number;
  readonly cookie?: bigint;
  readonly sys?: Sys;
}

/** The section does not say enough to attach, or names a hook kind we cannot attach. */
export class AttachError extends TsbpfError {
  override name = 'AttachError';
  readonly program: string;
  readonly section: string;
  constructor(program: string, section: string, detail: string, options?: { cause?: unknown }) {
    super(`attach '${program}' (section '${section}'): ${detail}`, options);
    this.program = program;
    this.section = section;
  }
}

/** `func+0x10` / `func+16` / `func`. */
function splitOffset(target: string): [string, number] {
  const match = /^(.+?)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(target);
  return match ? [match[1], match[2] ? Number(match[2]) : 0] : [target, 0];
}

/**
 * Attach `program` the way its section name says (libbpf's conventions): `tracepoint/cat/name`,
 * `raw_tp/name`, `tp_btf/name`, `fentry/func`…, `kprobe/func[+off]`, `kretprobe/func`,
 * `ksyscall/name`, `uprobe/path:func[+off]`, `xdp` (needs `iface`), `tc/ingress` (needs `iface`),
 * `cgroup_skb/egress`…, `socket` (needs `socket`), `perf_event`.
 */
export function attachBySection(
  program: KernelProgram,
  spec: Pick<ProgramSpec, 'name' | 'section' | 'sectionInfo'>,
  options: AttachBySectionOptions = {},
): Link {
  const info = spec.sectionInfo;
  const fail = (detail: string): never => {
    throw new AttachError(spec.name, spec.section, detail);
  };
  if (!info) return fail('unknown section name: nothing says how to attach it');
  const { def, target } = info;
  const sys = options.sys;
  const needTarget = (format: string): string =>
    target || fail(`the section names no target (expected '${def.prefix}/${format}')`);
  switch (def.attach) {
    case 'tracepoint': {
      const [category, name, extra] = needTarget('<category>/<name>').split('/');
      if (!name || extra !== undefined) fail(`'${target}' is not '<category>/<name>'`);
      return attachTracepoint(program, category, name, { cookie: options.cookie, sys });
    }
    case 'raw_tracepoint':
      return attachRawTracepoint(program, needTarget('<name>'), { sys });
    case 'tracing':
    case 'lsm': {
      const kind = (def.attach === 'lsm' ? 'lsm' : def.prefix.replace(/\.s$/, '')) as TracingKind;
      return attachTracing(program, kind, { target, cookie: options.cookie, sys });
    }
    case 'kprobe':
    case 'kretprobe': {
      const [symbol, offset] = splitOffset(needTarget('<function>[+offset]'));
      return attachKprobe(program, symbol, {
        offset,
        retprobe: def.attach === 'kretprobe',
        cookie: options.cookie,
        sys,
      });
    }
    case 'ksyscall':
    case 'kretsyscall':
      return attachKprobe(program, syscallFunctionName(needTarget('<syscall>')), {
        retprobe: def.attach === 'kretsyscall',
        cookie: options.cookie,
        sys,
      });
    case 'uprobe':
    case 'uretprobe': {
      // libbpf: uprobe/<path>:<function>[+offset]; a path may itself contain ':' only before the last.
      const spot = target.lastIndexOf(':');
      const binary = spot > 0 ? target.slice(0, spot) : options.binary;
      const where = spot > 0 ? target.slice(spot + 1) : target;
      if (!binary || !where) fail("expected 'uprobe/<path>:<function>[+offset]' (or pass options.binary)");
      const path = binary as string;
      const [symbol, offset] = splitOffset(where);
      // A number is a file offset already; a name plus an offset is resolved here, a bare name
      // by attachUprobe (which then names it in the link's description).
      const at = /^(0x[0-9a-fA-F]+|\d+)$/.test(symbol)
        ? Number(symbol) + offset
        : offset
          ? findBinarySymbol(path, symbol).fileOffset + offset
          : symbol;
      return attachUprobe(program, path, at, {
        retprobe: def.attach === 'uretprobe',
        pid: options.pid,
        cookie: options.cookie,
        sys,
      });
    }
    case 'perf_event':
      return attachPerfEventSampling(program, { pid: options.pid, sys });
    case 'xdp':
      if (options.iface === undefined) fail('XDP programs need an interface (options.iface)');
      return attachXdp(program, options.iface as string | number, { mode: options.xdpMode, sys });
    case 'tcx':
    case 'tc': {
      if (options.iface === undefined) fail('tc programs need an interface (options.iface)');
      const direction = info.attachType === AttachType.TCX_EGRESS ? 'egress' : 'ingress';
      return attachTcx(program, options.iface as string | number, direction, { sys });
    }
    case 'cgroup':
      if (info.attachType === undefined)
        fail('the section does not say which cgroup hook (e.g. cgroup_skb/ingress)');
      return attachCgroup(program, info.attachType as number, { cgroup: options.cgroup, sys });
    case 'socket':
      if (options.socket === undefined) fail('socket filters need a socket (options.socket)');
      return attachSocketFilter(program, options.socket as SocketLike, { sys });
    default:
      return fail(`attaching '${def.attach}' programs is not supported`);
  }
}
