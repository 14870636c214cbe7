export * from './btf-codec.js';
export * from './codec.js';
export * from './histogram.js';
export * from './map.js';
export * from './ops.js';
export * from './ringbuf.js';
