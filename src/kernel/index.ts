/**
 * The kernel backend: the `bpf()` system call through koffi, maps, programs, links, BTF, feature
 * probes. Linux only; everything here may touch `fs` and `process`.
 */
export * from './attr.js';
export * from './btf.js';
export * from './errors.js';
export * from './fake.js';
export * from './links.js';
export * from './map.js';
export * from './objects.js';
export * from './probe.js';
export * from './program.js';
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
