export * from './btf.js';
export * from './btf-dump.js';
export * from './btf-ext.js';
export * from './elf.js';
export * from './object.js';
export * from './sections.js';
