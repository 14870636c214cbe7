/**
 * The eBPF → WebAssembly JIT. The VM uses it by default (`new Vm({ engine: 'jit' })`); these
 * exports are for giving it verifier facts and for tools that time or inspect compilation.
 */
export { type GeneratedModule, generate } from './codegen.js';
// jitFor compiles ahead of the first run (and caches it as runs do): tools that time runs, like the
// playground, keep compilation out of the first run's time.
export {
  compileJit,
  type JitProgram,
  jitAvailable,
  jitExecute,
  jitFor,
  useVerifierFacts,
} from './runtime.js';
