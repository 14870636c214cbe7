/**
 * Kernel/LLVM BPF assembly syntax: {@link formatInsn} and {@link disassemble} print it in the
 * `objdump` (llvm-objdump-19) or `verifier` (kernel `print_bpf_insn`, bpftool) flavour, and
 * {@link assemble} reads either back. The syntax table and printer live in `llvm-print.ts`, the
 * parser in `llvm-parse.ts`.
 */
export { type AssembleOptions, assemble } from './llvm-parse.js';
export {
  type DisassembleOptions,
  disassemble,
  type Flavor,
  type FormatOptions,
  formatInsn,
  jumpTarget,
  llvm19Knows,
  type RelocationNote,
} from './llvm-print.js';
