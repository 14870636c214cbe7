/**
 * The VM's maps: every type with the kernel's semantics, in the VM's flat memory.
 * {@link createVmMap} builds one; a {@link VmMapRegistry} owns a VM's maps and programs by id.
 */
export * from './array.js';
export * from './base.js';
export * from './bloom-filter.js';
export * from './create.js';
export * from './fd-maps.js';
export * from './hash.js';
export * from './lpm-trie.js';
export * from './perf-event-array.js';
export * from './queue-stack.js';
export * from './registry.js';
export * from './ringbuf.js';
export * from './storage.js';
