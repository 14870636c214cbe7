/**
 * Running bpf_conformance test vectors on the VM (the contract of
 * `shared/conformance/FORMAT.md` §4): r1 = a fresh copy of the input memory, r2 = its length,
 * pass when the program exits with the full 64-bit r0 equal to the expected result.
 */
import type { ConformanceTest } from '../isa/data-file.js';
import type { Vm } from './vm.js';

export interface ConformanceOutcome {
  readonly name: string;
  /** Whether the vector passed: r0 matched, or an expected failure happened. */
  readonly pass: boolean;
  /** r0 at exit, or undefined when the program was rejected or faulted. */
  readonly r0: bigint | undefined;
  /** The rejection or fault, if any. */
  readonly error: Error | undefined;
  readonly insnsExecuted: number;
}

/** Load and run one vector; never throws for a program's own failure. */
export function runConformanceTest(vm: Vm, test: ConformanceTest): ConformanceOutcome {
  try {
    const program = vm.load(test.program);
    const result = vm.run(program, { mem: test.mem, readMem: false });
    const pass = test.expectedError === undefined && result.r0 === test.result;
    return { name: test.name, pass, r0: result.r0, error: undefined, insnsExecuted: result.insnsExecuted };
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return {
      name: test.name,
      pass: test.expectedError !== undefined,
      r0: undefined,
      error,
      insnsExecuted: 0,
    };
  }
}
