import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../isa/instruction.js';
import { assemble } from '../isa/llvm.js';
import { loadProgram } from '../kernel/load/program.js';
import { ProgType } from '../uapi.js';
import { TestRunError } from './test-run.js';
import { Vm } from './vm.js';

const source = 'r2 = *(u32 *)(r1 + 0)\nr2 += 1\n*(u32 *)(r1 + 0) = r2\nr0 = 7\nexit';

function kernelProgram() {
  try {
    return loadProgram({
      type: ProgType.SYSCALL,
      insns: encode(assemble(source)),
      license: 'GPL',
      progFlags: 16,
    });
  } catch (error) {
    return `SYSCALL programs cannot be loaded here: ${(error as Error).message}`;
  }
}

test('SYSCALL programs: the context is written back in place, as Linux does', (t) => {
  const vm = new Vm();
  const program = vm.loadProgram({ type: 'SYSCALL', insns: assemble(source) });
  const ctx = new Uint8Array([1, 0, 0, 0, 9]);
  const result = vm.testRun(program, { ctx });
  assert.equal(result.retval, 7);
  assert.deepEqual([...ctx], [2, 0, 0, 0, 9]);
  assert.throws(
    () => vm.testRun(program, { ctx, repeat: 2 }),
    (e: unknown) => e instanceof TestRunError && e.code === 'EINVAL',
  );
  assert.throws(() => vm.testRun(program, { ctx: new Uint8Array(70000) }), TestRunError);
  const kernel = kernelProgram();
  if (typeof kernel === 'string') {
    t.diagnostic(`kernel comparison skipped: ${kernel}`);
    return;
  }
  try {
    const same = new Uint8Array([1, 0, 0, 0, 9]);
    const k = kernel.testRun({ ctx: same, ctxSizeOut: 0, dataSizeOut: 0 });
    assert.equal(k.retval, 7);
    assert.deepEqual([...same], [2, 0, 0, 0, 9]);
    assert.throws(
      () => kernel.testRun({ ctx: new Uint8Array(4), ctxSizeOut: 0, dataSizeOut: 0, repeat: 2 }),
      /EINVAL/,
    );
  } finally {
    kernel.close();
  }
});
