/**
 * What every kernel object (map, program, link, BTF) shares: a file descriptor that must be
 * closed, pinning in bpffs, `OBJ_GET_INFO_BY_FD`, and ids (`*_GET_NEXT_ID`, `*_GET_FD_BY_ID`).
 */
import {
  BpfCmd,
  COMMAND_LAYOUTS,
  type CommandName,
  cString,
  type Decoded,
  encodeAttr,
  encodeStruct,
  type Layout,
  readField,
  type Values,
} from './attr.js';
import { BpfSyscallError, SyscallError } from './errors.js';
import { getSys, type Sys } from './syscall.js';

/**
 * Make one `bpf()` call: encode the attr from `values`, call, and return the result and the attr
 * (which the kernel may have written back into). `values` keeps every pointed-to buffer
 * referenced until the call has returned.
 */
export function bpfCall<C extends CommandName>(
  sys: Sys,
  command: C,
  values: Values<(typeof COMMAND_LAYOUTS)[C]>,
): { result: number; attr: Uint8Array } {
  const attr = encodeAttr(command, values, (bytes) => sys.addressOf(bytes));
  const result = sys.bpf(BpfCmd[command], attr);
  return { result, attr };
}

/**
 * Like {@link bpfCall}, but a failure is returned with the attr rather than thrown: batch
 * commands write how many elements they processed into the attr even when they fail.
 */
export function bpfTry<C extends CommandName>(
  sys: Sys,
  command: C,
  values: Values<(typeof COMMAND_LAYOUTS)[C]>,
): { result: number; attr: Uint8Array; error?: undefined } | { attr: Uint8Array; error: BpfSyscallError } {
  const attr = encodeAttr(command, values, (bytes) => sys.addressOf(bytes));
  try {
    return { result: sys.bpf(BpfCmd[command], attr), attr };
  } catch (error) {
    if (error instanceof BpfSyscallError) return { attr, error };
    throw error;
  }
}

/**
 * Closes file descriptors whose owner was garbage-collected without `close()`, as cilium/ebpf's
 * finalizers do: a forgotten map must not hold kernel memory until the process exits. Owners
 * unregister when closed explicitly, so an fd is never closed twice.
 */
const finalizer = new FinalizationRegistry<{ fd: number; sys: Sys }>(({ fd, sys }) => sys.close(fd));

/** An open kernel object's file descriptor with idempotent, leak-proof closing. */
export class FdOwner {
  readonly sys: Sys;
  #fd: number;
  constructor(fd: number, sys: Sys) {
    this.#fd = fd;
    this.sys = sys;
    finalizer.register(this, { fd, sys }, this);
  }

  /** The file descriptor; throws once closed. */
  get fd(): number {
    if (this.#fd < 0)
      throw new SyscallError('fd', 9 /* EBADF */, 'the object is already closed', { hint: null });
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Close the fd; closing again does nothing. */
  close(): void {
    if (this.#fd < 0) return;
    finalizer.unregister(this);
    this.sys.close(this.#fd);
    this.#fd = -1;
  }
}

/** `BPF_OBJ_PIN`: pin an object at `path` in a bpffs (e.g. `/sys/fs/bpf/name`). */
export function pinObject(fd: number, path: string, sys?: Sys): void {
  bpfCall(getSys(sys), 'OBJ_PIN', { pathname: cString(path), bpf_fd: fd });
}

/** `BPF_F_RDONLY` / `BPF_F_WRONLY`: `file_flags` of `OBJ_GET` and `open_flags` of `*_GET_FD_BY_ID`. */
export const OpenFlags = { RDONLY: 1 << 3, WRONLY: 1 << 4 } as const;

/** `BPF_OBJ_GET`: open the object pinned at `path`; returns a new fd. */
export function getPinnedObject(path: string, options: { flags?: number; sys?: Sys } = {}): number {
  return bpfCall(getSys(options.sys), 'OBJ_GET', { pathname: cString(path), file_flags: options.flags ?? 0 })
    .result;
}

/**
 * `BPF_OBJ_GET_INFO_BY_FD` into the struct `layout` (`BPF_MAP_INFO`…). `values` pre-set input
 * fields: pointers and lengths of arrays the kernel should fill (xlated instructions, map ids).
 */
export function objectInfo<L extends Layout>(
  fd: number,
  layout: L,
  values: Values<L> = {},
  sys?: Sys,
): Decoded<L> {
  const s = getSys(sys);
  const info = encodeStruct(layout, values, (bytes) => s.addressOf(bytes));
  bpfCall(s, 'OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: info.length, info });
  return decodeInfo(layout, info);
}

function decodeInfo<L extends Layout>(layout: L, info: Uint8Array): Decoded<L> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(layout.fields)) out[name] = readField(layout, info, name);
  return out as Decoded<L>;
}

/** The kinds of objects that have ids. */
export type ObjectKind = 'prog' | 'map' | 'link' | 'btf';

const NEXT_ID = {
  prog: 'PROG_GET_NEXT_ID',
  map: 'MAP_GET_NEXT_ID',
  link: 'LINK_GET_NEXT_ID',
  btf: 'BTF_GET_NEXT_ID',
} as const;

const FD_BY_ID = {
  prog: 'PROG_GET_FD_BY_ID',
  map: 'MAP_GET_FD_BY_ID',
  link: 'LINK_GET_FD_BY_ID',
  btf: 'BTF_GET_FD_BY_ID',
} as const;

/** Every id of a kind of object in the system, ascending (needs CAP_SYS_ADMIN). */
export function* objectIds(kind: ObjectKind, sys?: Sys): Generator<number> {
  const s = getSys(sys);
  let id = 0;
  for (;;) {
    try {
      const { attr } = bpfCall(s, NEXT_ID[kind], { start_id: id });
      id = readField(COMMAND_LAYOUTS.PROG_GET_NEXT_ID, attr, 'next_id');
    } catch (error) {
      // ENOENT: no id above start_id, the end of the walk.
      if (error instanceof BpfSyscallError && error.is('ENOENT')) return;
      throw error;
    }
    yield id;
  }
}

/** A new fd for the object with this id (`BPF_*_GET_FD_BY_ID`; needs CAP_SYS_ADMIN). */
export function fdFromId(kind: ObjectKind, id: number, options: { flags?: number; sys?: Sys } = {}): number {
  return bpfCall(getSys(options.sys), FD_BY_ID[kind], { start_id: id, open_flags: options.flags ?? 0 })
    .result;
}

/** Object names the kernel accepts: `[A-Za-z0-9_.]`, at most 15 bytes. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
}
