export * from './generate.js';
export * from './runtime.js';
export { pascalCase } from './ts-types.js';
