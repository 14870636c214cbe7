/**
 * The eBPF → WebAssembly JIT. The VM uses it by default (`new Vm({ engine: 'jit' })`); these
 * exports are for giving it verifier facts and for tools that time or inspect compilation.
 */
export { type GeneratedModule, generate } from './codegen.js';
export { compileJit, type JitProgram, jitAvailable, jitExecute, useVerifierFacts } from './runtime.js';
