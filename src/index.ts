/**
 * tsbpf: eBPF for TypeScript.
 *
 * The public API: the instruction set (decode, encode, assemble, disassemble) and the userspace
 * VM. Everything exported here runs in any JavaScript runtime, browsers included.
 */
export * from './errors.js';
export * from './isa/index.js';
export * from './vm/index.js';
