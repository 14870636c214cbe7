export * from './codec.js';
export * from './map.js';
export * from './ops.js';
