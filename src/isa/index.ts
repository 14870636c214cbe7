export * from './errors.js';
export * from './instruction.js';
export * from './opcodes.js';
export * from './table.js';
