/**
 * The kernel backend: the `bpf()` system call through koffi, maps, programs, links, BTF, feature
 * probes. Linux only; everything here may touch `fs` and `process`.
 */
export * from './attach.js';
export * from './attr.js';
export * from './availability.js';
export * from './bcc.js';
export * from './btf.js';
export * from './btf-sanitize.js';
export * from './epoll.js';
export * from './errors.js';
export * from './fake.js';
export * from './features.js';
export * from './info.js';
export * from './kconfig.js';
export * from './links.js';
export * from './map.js';
export * from './object.js';
export * from './objects.js';
export * from './perfbuf.js';
export * from './probe.js';
export * from './program.js';
export * from './ringbuf.js';
export * from './skeleton.js';
export {
  type Arg,
  addressOf,
  type BpfSyscall,
  bpf,
  close,
  getSys,
  ioctl,
  Mmap,
  mmap,
  munmap,
  nativeSys,
  perfEventOpen,
  rawSyscall,
  type Sys,
} from './syscall.js';
export * from './trace-pipe.js';
