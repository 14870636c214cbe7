/**
 * The one door to the kernel: `bpf(2)` and the few other system calls the kernel layer needs
 * (`close`, `ioctl`, `mmap`/`munmap`, `perf_event_open`), called through libc with koffi.
 *
 * ## Pointers
 *
 * `bpf()` takes a `union bpf_attr` whose pointer fields are 64-bit user addresses. We get the
 * address of a JavaScript buffer with `koffi.address(typedArray)` (koffi ≥ 2.16), which returns
 * the address of the view's first byte (its `byteOffset` included) as a bigint. That address stays
 * valid while the buffer is alive: V8 never moves an ArrayBuffer's off-heap backing store, and
 * small typed arrays that V8 keeps on its heap are moved off it ("externalised") permanently the
 * first time their backing store is asked for, before the address is returned. The kernel layer
 * keeps every buffer it passes referenced from the JavaScript frame that makes the (synchronous)
 * call, so none can be collected while the kernel reads or writes it. A zero-length view gives
 * address 0 (NULL).
 *
 * ## errno
 *
 * `koffi.errno()` reads the calling thread's `errno` (the same value libc's `__errno_location()`
 * points at). A synchronous koffi call runs on the JavaScript thread and leaves `errno` as the
 * callee set it, so we read it on the very next line after a negative return, before any other
 * foreign call could overwrite it. (Libuv's worker threads have their own thread-local `errno`.)
 *
 * ## Testing without a kernel
 *
 * Everything above this module takes a {@link Sys}: {@link nativeSys} is the real one; unit
 * tests pass a fake whose `bpf` inspects the attr bytes and whose `addressOf` hands out fake
 * addresses it can resolve back to buffers (see `fake.ts`).
 */
import { createRequire } from 'node:module';
import { BpfSyscallError, SyscallError } from './errors.js';

/**
 * `bpf(cmd, attr, attr.length)`: returns the non-negative result, or throws
 * {@link BpfSyscallError} carrying the errno.
 */
export type BpfSyscall = (cmd: number, attr: Uint8Array) => number;

/** The system calls the kernel layer makes; injectable so unit tests run without a kernel. */
export interface Sys {
  readonly bpf: BpfSyscall;
  /** The user-space address of a buffer's first byte, as the kernel will see it (0 when empty). */
  addressOf(bytes: Uint8Array): bigint;
  /** Close a file descriptor; errors are ignored (the fd is gone either way on Linux). */
  close(fd: number): void;
}

/** Raw system call numbers of the architectures we know (`asm/unistd_64.h`). */
const SYSCALL_NUMBERS: Readonly<Record<string, { bpf: number; perfEventOpen: number }>> = {
  x64: { bpf: 321, perfEventOpen: 298 },
  arm64: { bpf: 280, perfEventOpen: 241 },
  riscv64: { bpf: 280, perfEventOpen: 241 },
};

/** The slice of koffi's API we use, typed narrowly so no `any` leaks out of this module. */
export interface Koffi {
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
  address(value: Uint8Array): bigint | null;
  view(pointer: bigint, length: number): ArrayBuffer;
  errno(): number;
}

/** The libc functions we bind, each with a fixed prototype (see {@link native}). */
export interface Libc {
  readonly koffi: Koffi;
  /** `long syscall(long nr, …)` with six integer arguments. */
  syscall(nr: number, a1: Arg, a2: Arg, a3: Arg, a4: Arg, a5: Arg): number;
  close(fd: number): number;
  ioctl(fd: number, request: number, arg: Arg): number;
  mmap(addr: Arg, length: number, prot: number, flags: number, fd: number, offset: Arg): bigint;
  munmap(addr: Arg, length: number): number;
}

/** An integer or pointer argument of a raw call. */
export type Arg = number | bigint;

let libc: Libc | undefined;

/**
 * Load koffi and bind libc, once. Loaded lazily so that importing the kernel layer (for its types,
 * or to run unit tests with a fake {@link Sys}) works where koffi or libc are missing.
 *
 * `syscall` and `ioctl` are variadic in C. We bind them with fixed integer prototypes instead:
 * on x86-64 and AArch64 Linux variadic integer arguments travel in the same registers as fixed
 * ones, glibc's `syscall` is an assembly stub that never touches `va_arg`, and koffi's variadic
 * calls would re-parse the argument types on every call.
 */
export function native(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new SyscallError('load libc', 0, `not Linux (${process.platform})`);
  const require = createRequire(import.meta.url);
  let koffi: Koffi;
  try {
    koffi = require('koffi') as Koffi;
  } catch (error) {
    throw new SyscallError('load koffi', 0, 'the koffi package is not installed (npm install koffi)', {
      cause: error,
    });
  }
  const lib = koffi.load('libc.so.6');
  const syscall = lib.func(
    'long syscall(long nr, int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5)',
  );
  const close = lib.func('int close(int fd)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, int64_t arg)');
  const mmap = lib.func(
    'intptr_t mmap(intptr_t addr, size_t length, int prot, int flags, int fd, int64_t offset)',
  );
  const munmap = lib.func('int munmap(intptr_t addr, size_t length)');
  libc = {
    koffi,
    syscall: (nr, a1, a2, a3, a4, a5) => Number(syscall(nr, a1, a2, a3, a4, a5)),
    close: (fd) => Number(close(fd)),
    ioctl: (fd, request, arg) => Number(ioctl(fd, request, arg)),
    mmap: (addr, length, prot, flags, fd, offset) =>
      BigInt(mmap(addr, length, prot, flags, fd, offset) as number),
    munmap: (addr, length) => Number(munmap(addr, length)),
  };
  return libc;
}

function numbers(): { bpf: number; perfEventOpen: number } {
  const nr = SYSCALL_NUMBERS[process.arch];
  if (!nr) throw new SyscallError('syscall', 0, `no system call numbers for architecture ${process.arch}`);
  return nr;
}

/** The address of a buffer (0n for an empty one); see the module comment for why it is stable. */
export function addressOf(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return native().koffi.address(bytes) ?? 0n;
}

/** The real `bpf()` system call. Throws {@link BpfSyscallError} on failure. */
export const bpf: BpfSyscall = (cmd, attr) => {
  const c = native();
  const result = c.syscall(numbers().bpf, cmd, addressOf(attr), attr.length, 0, 0);
  if (result < 0) throw new BpfSyscallError(cmd, c.koffi.errno());
  return result;
};

/** Close a file descriptor (libc `close`). Errors are ignored: Linux frees the fd even on EINTR. */
export function close(fd: number): void {
  if (fd >= 0) native().close(fd);
}

/** The real kernel. */
export function nativeSys(): Sys {
  return { bpf, addressOf, close };
}

let defaultSys: Sys | undefined;

/** The {@link Sys} used when none is passed: the real kernel. */
export function getSys(sys?: Sys): Sys {
  if (sys) return sys;
  defaultSys ??= nativeSys();
  return defaultSys;
}

/** A raw `syscall(nr, …)`; returns the result or throws {@link SyscallError} named `name`. */
export function rawSyscall(name: string, nr: number, ...args: Arg[]): number {
  const c = native();
  const [a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0] = args;
  const result = c.syscall(nr, a1, a2, a3, a4, a5);
  if (result < 0) throw new SyscallError(name, c.koffi.errno());
  return result;
}

/** `ioctl(fd, request, arg)`; throws {@link SyscallError} on failure. */
export function ioctl(fd: number, request: number, arg: Arg = 0): number {
  const c = native();
  const result = c.ioctl(fd, request, arg);
  if (result < 0) throw new SyscallError(`ioctl 0x${request.toString(16)}`, c.koffi.errno());
  return result;
}

/** `PROT_*` and `MAP_*` values of `mmap(2)` on Linux. */
export const Mmap = {
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 1,
  MAP_PRIVATE: 2,
  MAP_ANONYMOUS: 0x20,
} as const;

/**
 * `mmap(NULL, length, prot, flags, fd, offset)`, returning the address and a view of the mapped
 * bytes (a koffi external buffer: valid until {@link munmap}; touching it afterwards crashes).
 */
export function mmap(
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset = 0,
): { address: bigint; bytes: Uint8Array } {
  const c = native();
  const address = c.mmap(0, length, prot, flags, fd, offset);
  // MAP_FAILED is (void *)-1.
  if (address === -1n) throw new SyscallError('mmap', c.koffi.errno());
  return { address, bytes: new Uint8Array(c.koffi.view(address, length)) };
}

/** `munmap(address, length)`. */
export function munmap(address: bigint, length: number): void {
  const c = native();
  if (c.munmap(address, length) < 0) throw new SyscallError('munmap', c.koffi.errno());
}

/**
 * `perf_event_open(attr, pid, cpu, groupFd, flags)`; `attr` is an encoded `struct
 * perf_event_attr` (see `PERF_EVENT_ATTR` in attr.ts). Returns the new fd.
 */
export function perfEventOpen(
  attr: Uint8Array,
  pid: number,
  cpu: number,
  groupFd: number,
  flags: number,
): number {
  return rawSyscall('perf_event_open', numbers().perfEventOpen, addressOf(attr), pid, cpu, groupFd, flags);
}
