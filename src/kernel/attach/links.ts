/**
 * Attaching programs: links (`BPF_LINK_CREATE`, `BPF_RAW_TRACEPOINT_OPEN`), tracepoints through
 * perf events, and the older `BPF_PROG_ATTACH`. Open links are closed when the process exits or
 * is interrupted, so a crashed tool does not leave programs attached (unless pinned).
 */
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../../errors.js';
import { AttachType, type AttachTypeName, enumName, LinkType } from '../../uapi.js';
import type { KernelProgram } from '../load/program.js';
import { BPF_LINK_INFO, cString, encodeStruct, PERF_EVENT_ATTR } from '../sys/attr.js';
import { onProcessEnd } from '../sys/cleanup.js';
import { SyscallError } from '../sys/errors.js';
import { bpfCall, FdOwner, fdFromId, getPinnedObject, objectInfo, pinObject } from '../sys/objects.js';
import { getSys, ioctl, perfEventOpen, type Sys } from '../sys/syscall.js';

/** `linux/perf_event.h` constants we use. */
const PERF_TYPE_TRACEPOINT = 2;
/** `perf_event_open` flag: close the fd on exec. */
export const PERF_FLAG_FD_CLOEXEC = 1 << 3;
/** `_IO('$', 0)`, `_IO('$', 1)`, `_IOW('$', 8, __u32)`. */
export const PERF_EVENT_IOC_ENABLE = 0x2400;
export const PERF_EVENT_IOC_DISABLE = 0x2401;
export const PERF_EVENT_IOC_SET_BPF = 0x40042408;

/** Where tracefs may be mounted, newest convention first. */
const TRACEFS_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** What `BPF_OBJ_GET_INFO_BY_FD` says about a link (the common fields). */
export interface LinkInfo {
  readonly type: number;
  readonly typeName: keyof typeof LinkType | undefined;
  readonly id: number;
  readonly progId: number;
}

/** Links still open, closed at exit and on SIGINT/SIGTERM/SIGHUP (`sys/cleanup.ts`). */
const openLinks = new Set<Link>();
let unregister: (() => void) | undefined;

function closeAllLinks(): void {
  for (const link of [...openLinks]) link.close();
}

function installCleanup(): void {
  unregister ??= onProcessEnd(closeAllLinks);
}

function uninstallCleanup(): void {
  unregister?.();
  unregister = undefined;
}

/** How many links are open (for leak checks in tests). */
export function openLinkCount(): number {
  return openLinks.size;
}

/**
 * An attachment of a program. Closing it detaches the program, unless the link is pinned.
 * `close()` is idempotent and also runs at process exit.
 */
export class Link {
  /** What the link attaches (`tracepoint syscalls/sys_enter_getpid`). */
  readonly description: string;
  /** A `bpf_link` fd, or undefined for a legacy perf-event attachment. */
  readonly #link: FdOwner | undefined;
  /** The perf event fd of a tracepoint attachment. */
  readonly #perf: FdOwner | undefined;
  /**
   * Undoes an attachment that no fd of ours holds (a socket filter, other CPUs' perf events):
   * run once, at close.
   */
  #release: (() => void) | undefined;
  #released = false;

  constructor(description: string, fds: { link?: number; perf?: number; release?: () => void }, sys: Sys) {
    this.description = description;
    this.#link = fds.link === undefined ? undefined : new FdOwner(fds.link, sys);
    this.#perf = fds.perf === undefined ? undefined : new FdOwner(fds.perf, sys);
    this.#release = fds.release;
    openLinks.add(this);
    installCleanup();
  }

  /** The `bpf_link` fd, else the perf event fd; -1 for an attachment held by no fd of ours. */
  get fd(): number {
    const owner = this.#link ?? this.#perf;
    return owner ? owner.fd : -1;
  }

  /** Whether this is a `bpf_link` (pinnable, updatable) rather than a legacy attachment. */
  get isBpfLink(): boolean {
    return this.#link !== undefined;
  }

  get closed(): boolean {
    const owner = this.#link ?? this.#perf;
    return owner ? owner.closed : this.#released;
  }

  /** Pin the link in a bpffs: the program stays attached after this process exits. */
  pin(path: string): void {
    if (!this.#link) {
      throw new TsbpfError(
        `pin ${this.description}: a perf-event attachment is not a bpf_link (kernel < 5.15)`,
      );
    }
    pinObject(this.#link.fd, path, this.#link.sys);
  }

  /** `BPF_OBJ_GET_INFO_BY_FD` on the link. */
  info(): LinkInfo {
    if (!this.#link) throw new TsbpfError(`info ${this.description}: not a bpf_link`);
    const raw = objectInfo(this.#link.fd, BPF_LINK_INFO, {}, this.#link.sys);
    return { type: raw.type, typeName: enumName(LinkType, raw.type), id: raw.id, progId: raw.prog_id };
  }

  /** Replace the program (`BPF_LINK_UPDATE`); with `expected`, only if that one is attached. */
  update(program: KernelProgram, expected?: KernelProgram): void {
    if (!this.#link) throw new TsbpfError(`update ${this.description}: not a bpf_link`);
    bpfCall(this.#link.sys, 'LINK_UPDATE', {
      link_fd: this.#link.fd,
      new_prog_fd: program.fd,
      flags: expected ? 1 << 2 /* BPF_F_REPLACE */ : 0,
      old_prog_fd: expected?.fd ?? 0,
    });
  }

  /** Detach the program while keeping the link fd (and its pin) open (`BPF_LINK_DETACH`, 5.9). */
  detach(): void {
    if (!this.#link) throw new TsbpfError(`detach ${this.description}: not a bpf_link`);
    bpfCall(this.#link.sys, 'LINK_DETACH', { link_fd: this.#link.fd });
  }

  /** Close the link (and its perf event). Idempotent. */
  close(): void {
    this.#link?.close();
    if (this.#perf && !this.#perf.closed) {
      // A legacy attachment lives as long as the perf event; disable it before closing so no
      // event fires into a half-closed program.
      if (!this.#link) {
        try {
          ioctl(this.#perf.fd, PERF_EVENT_IOC_DISABLE);
        } catch {
          // closing below detaches anyway
        }
      }
      this.#perf.close();
    }
    if (!this.#released) {
      this.#released = true;
      const release = this.#release;
      this.#release = undefined;
      release?.();
    }
    openLinks.delete(this);
    if (openLinks.size === 0) uninstallCleanup();
  }
}

/** `BPF_RAW_TRACEPOINT_OPEN`: attach a `RAW_TRACEPOINT` program to the tracepoint `name`. */
export function attachRawTracepoint(program: KernelProgram, name: string, options: { sys?: Sys } = {}): Link {
  const sys = getSys(options.sys);
  const { result } = bpfCall(sys, 'RAW_TRACEPOINT_OPEN', { name: cString(name), prog_fd: program.fd });
  return new Link(`raw_tracepoint ${name}`, { link: result }, sys);
}

/** The tracefs event id of `category/name`, e.g. `syscalls/sys_enter_getpid`. */
export function tracepointId(category: string, name: string): number {
  if (/[/.]/.test(category) || /[/.]/.test(name)) {
    throw new TsbpfError(`tracepoint ${category}/${name}: invalid name`);
  }
  const tried: string[] = [];
  for (const root of TRACEFS_ROOTS) {
    const path = `${root}/events/${category}/${name}/id`;
    try {
      return Number(readFileSync(path, 'utf8').trim());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new TsbpfError(`tracepoint ${category}/${name}: read ${path}: ${code}`);
      tried.push(path);
    }
  }
  const mounted = TRACEFS_ROOTS.some((root) => {
    try {
      return readFileSync(`${root}/events/header_page`, 'utf8').length > 0;
    } catch {
      return false;
    }
  });
  throw new TsbpfError(
    `tracepoint ${category}/${name}: not found (${tried.join(', ')})` +
      (mounted ? '' : ': tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)'),
  );
}

/**
 * Attach a `TRACEPOINT` program to `category/name`: open a perf event on the tracepoint and link
 * the program to it with `BPF_LINK_CREATE` (`BPF_PERF_EVENT`, since 5.15), falling back to
 * `PERF_EVENT_IOC_SET_BPF` on older kernels. One event on CPU 0 suffices: the program is attached
 * to the tracepoint itself and runs on every CPU.
 */
export function attachTracepoint(
  program: KernelProgram,
  category: string,
  name: string,
  options: { cookie?: bigint; sys?: Sys } = {},
): Link {
  const sys = getSys(options.sys);
  const id = tracepointId(category, name);
  const attr = encodeStruct(
    PERF_EVENT_ATTR,
    { type: PERF_TYPE_TRACEPOINT, size: PERF_EVENT_ATTR.size, config: id },
    (bytes) => sys.addressOf(bytes),
  );
  const perfFd = perfEventOpen(attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  return attachToPerfEvent(program, perfFd, `tracepoint ${category}/${name}`, { ...options, sys });
}

/**
 * Link `program` to an open perf event and enable it: `BPF_LINK_CREATE` with `BPF_PERF_EVENT`
 * (since 5.15, carries a cookie, pinnable), else `PERF_EVENT_IOC_SET_BPF`. Takes ownership of
 * `perfFd` (closed on failure, and by the returned link). `release` runs at close too.
 */
export function attachToPerfEvent(
  program: KernelProgram,
  perfFd: number,
  description: string,
  options: { cookie?: bigint; sys?: Sys; release?: () => void } = {},
): Link {
  const sys = getSys(options.sys);
  let linkFd: number | undefined;
  try {
    try {
      linkFd = bpfCall(sys, 'LINK_CREATE', {
        prog_fd: program.fd,
        target_fd: perfFd,
        attach_type: AttachType.PERF_EVENT,
        'perf_event.bpf_cookie': options.cookie ?? 0n,
      }).result;
    } catch (error) {
      if (!(error instanceof SyscallError && error.is('EINVAL')) || options.cookie) throw error;
      ioctl(perfFd, PERF_EVENT_IOC_SET_BPF, program.fd);
    }
    ioctl(perfFd, PERF_EVENT_IOC_ENABLE);
  } catch (error) {
    if (linkFd !== undefined) sys.close(linkFd);
    sys.close(perfFd);
    options.release?.();
    throw error;
  }
  return new Link(
    description,
    { ...(linkFd === undefined ? {} : { link: linkFd }), perf: perfFd, release: options.release },
    sys,
  );
}

/** Options of {@link createLink}. */
export interface CreateLinkOptions {
  /** `link_create.flags`. */
  readonly flags?: number;
  /** `target_btf_id` (freplace/fentry targets). */
  readonly targetBtfId?: number;
  readonly sys?: Sys;
}

/**
 * `BPF_LINK_CREATE` for attach points identified by an fd or ifindex: cgroups (`target` is the
 * cgroup directory's fd), XDP and tcx (`target` is an ifindex), netns, and so on.
 */
export function createLink(
  program: KernelProgram,
  target: number,
  attachType: AttachTypeName | number,
  options: CreateLinkOptions = {},
): Link {
  const sys = getSys(options.sys);
  const type = typeof attachType === 'number' ? attachType : AttachType[attachType];
  const { result } = bpfCall(sys, 'LINK_CREATE', {
    prog_fd: program.fd,
    target_fd: target,
    attach_type: type,
    flags: options.flags ?? 0,
    target_btf_id: options.targetBtfId ?? 0,
  });
  return new Link(`${enumName(AttachType, type) ?? type} ${target}`, { link: result }, sys);
}

/** Open the link pinned at `path`. */
export function openPinnedLink(path: string, options: { sys?: Sys } = {}): Link {
  const sys = getSys(options.sys);
  return new Link(`pinned ${path}`, { link: getPinnedObject(path, { sys }) }, sys);
}

/** Open a link by its kernel id (needs CAP_SYS_ADMIN). */
export function linkFromId(id: number, options: { sys?: Sys } = {}): Link {
  const sys = getSys(options.sys);
  return new Link(`link ${id}`, { link: fdFromId('link', id, { sys }) }, sys);
}

/** `BPF_F_ALLOW_OVERRIDE`, `BPF_F_ALLOW_MULTI`, `BPF_F_REPLACE` of `PROG_ATTACH`. */
export const AttachFlags = { ALLOW_OVERRIDE: 1 << 0, ALLOW_MULTI: 1 << 1, REPLACE: 1 << 2 } as const;

/**
 * `BPF_PROG_ATTACH`: the pre-link way to attach (cgroups, sockmaps, flow dissector, lirc). The
 * attachment outlives the program fd; undo it with {@link detachProgram}.
 */
export function attachProgram(
  program: KernelProgram,
  target: number,
  attachType: AttachTypeName | number,
  options: { flags?: number; replace?: KernelProgram; sys?: Sys } = {},
): void {
  bpfCall(getSys(options.sys), 'PROG_ATTACH', {
    target_fd: target,
    attach_bpf_fd: program.fd,
    attach_type: typeof attachType === 'number' ? attachType : AttachType[attachType],
    attach_flags: options.flags ?? 0,
    replace_bpf_fd: options.replace?.fd ?? 0,
  });
}

/** `BPF_PROG_DETACH`: undo {@link attachProgram}. */
export function detachProgram(
  program: KernelProgram | undefined,
  target: number,
  attachType: AttachTypeName | number,
  options: { sys?: Sys } = {},
): void {
  bpfCall(getSys(options.sys), 'PROG_DETACH', {
    target_fd: target,
    attach_bpf_fd: program?.fd ?? 0,
    attach_type: typeof attachType === 'number' ? attachType : AttachType[attachType],
  });
}
