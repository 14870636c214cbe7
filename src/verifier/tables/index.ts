/**
 * The verifier's tables: helper prototypes and availability, context access, return ranges —
 * derived from Linux 6.18's sources and measured on the live kernel (see each module).
 */
export * from './context.js';
export * from './helpers.js';
export * from './returns.js';
