export * from './conformance.js';
export * from './errors.js';
export * from './helpers.js';
export { type CompiledProgram, compile, MAX_CALL_FRAMES, STACK_SIZE } from './interpreter.js';
export * from './map-helpers.js';
export * from './maps/index.js';
export * from './memory.js';
export * from './printk.js';
export * from './vm.js';
