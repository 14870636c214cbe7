export * from './conformance-asm.js';
export * from './data-file.js';
export * from './errors.js';
export * from './helper-ids.js';
export * from './instruction.js';
export * from './llvm.js';
export * from './opcodes.js';
export * from './table.js';
