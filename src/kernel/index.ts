/**
 * The kernel backend: the `bpf()` system call through koffi, maps, programs, links, BTF, feature
 * probes. Linux only; everything here may touch `fs` and `process`.
 */
export * from './attach/attach.js';
export * from './attach/links.js';
export * from './bcc.js';
export * from './events/perfbuf.js';
export * from './events/ringbuf.js';
export * from './events/trace-pipe.js';
export * from './export/index.js';
export * from './inspect/features.js';
export * from './inspect/info.js';
export * from './inspect/probe.js';
export * from './load/btf.js';
export * from './load/btf-sanitize.js';
export * from './load/kconfig.js';
export * from './load/map.js';
export * from './load/object.js';
export * from './load/program.js';
export * from './skeleton.js';
export * from './sys/attr.js';
export * from './sys/availability.js';
export * from './sys/epoll.js';
export * from './sys/errors.js';
export * from './sys/fake.js';
export * from './sys/objects.js';
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
} from './sys/syscall.js';
/** bcc's tools as functions: `tools.execsnoop(options, output, { signal })`. */
export * as tools from './tools/index.js';
