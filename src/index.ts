/**
 * tsbpf: eBPF for TypeScript.
 *
 * The public API: the instruction set (decode, encode, assemble, disassemble), object files (ELF,
 * BTF, CO-RE), the map API both backends share, packet captures, and the userspace VM. Everything
 * exported here runs in any JavaScript runtime, browsers included; the Linux kernel backend is
 * `tsbpf/kernel`.
 */
export * from './errno.js';
export * from './errors.js';
export * from './isa/index.js';
export * from './jit/index.js';
export * from './maps/index.js';
export * from './object/index.js';
export * from './pcap/pcap.js';
export * from './skeleton/index.js';
export * from './uapi.js';
export { builtinLookups, verify } from './verifier/index.js';
export { programType, verifierInputOf } from './verifier/object.js';
export type * from './verifier/types.js';
export * from './vm/index.js';
