/**
 * Linux errno values (asm-generic/errno-base.h, errno.h) that eBPF maps, helpers and the bpf()
 * syscall return. Both backends speak these: VM helpers return `-errno` in r0 exactly as the
 * kernel's do, and errors carry the name.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ELOOP: 40,
  ENODATA: 61,
  EPROTO: 71,
  EOVERFLOW: 75,
  EBADMSG: 74,
  ENOTSOCK: 88,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ETIMEDOUT: 110,
  EALREADY: 114,
  EINPROGRESS: 115,
  ENOTSUPP: 524,
} as const;

export type ErrnoName = keyof typeof Errno;

/** The name of an errno value (`2` → `ENOENT`), or `E<n>` when it is not in the table. */
export function errnoName(errno: number): string {
  const value = Math.abs(errno);
  return (Object.keys(Errno) as ErrnoName[]).find((name) => Errno[name] === value) ?? `E${value}`;
}
