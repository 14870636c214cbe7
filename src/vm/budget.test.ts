/**
 * One instruction budget per run, counted across nested executions: callbacks of `bpf_loop` and
 * `bpf_for_each_map_elem`, tail calls and subprograms all draw on it and stop inside it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { decode } from '../isa/instruction.js';
import { assemble } from '../isa/llvm.js';
import { InstructionBudgetError } from './errors.js';
import { Vm } from './vm.js';

/** The 11-instruction program of issue 14: bpf_loop(2^23) over a callback that spins 400,000 times. */
const spin = decode(
  new Uint8Array(readFileSync(new URL('../../testdata/sandbox/bpf_loop-spin.bin', import.meta.url))),
);

describe('one budget per run', () => {
  test('bpf_loop whose callbacks each stay under the budget stops with the budget error', () => {
    const vm = new Vm();
    assert.throws(
      () => vm.run(vm.load(spin)),
      (error) => error instanceof InstructionBudgetError && error.budget === 1_000_000,
    );
    // The same with a budget smaller than one callback's spin.
    assert.throws(() => vm.run(vm.load(spin), { budget: 1000 }), InstructionBudgetError);
  });

  test('callbacks are counted exactly: the run fits its budget or fails by one instruction', () => {
    // Six instructions before the call, one after; each of the 10 callbacks executes 2.
    const source = [
      'r1 = 10',
      'r2 = 7',
      'r3 = 0',
      'r4 = 0',
      'call 181',
      'r0 = 0',
      'exit',
      'r0 = 0',
      'exit',
    ].join('\n');
    const vm = new Vm();
    const program = vm.load(assemble(source));
    const result = vm.run(program);
    assert.equal(result.insnsExecuted, 7 + 10 * 2);
    assert.equal(vm.run(program, { budget: 27 }).r0, 0n);
    assert.throws(
      () => vm.run(program, { budget: 26 }),
      (error) => error instanceof InstructionBudgetError && error.budget === 26,
    );
  });

  test('bpf_loop takes its count as the kernel’s u32 and refuses more than 2^23 iterations', () => {
    const vm = new Vm();
    const run = (count: string) =>
      vm.run(
        vm.load(
          assemble(
            [`r1 = ${count} ll`, 'r2 = 6', 'r3 = 0', 'r4 = 0', 'call 181', 'exit', 'r0 = 0', 'exit'].join(
              '\n',
            ),
          ),
        ),
      ).r0;
    assert.equal(run('0x100000003'), 3n, 'the high half of nr_loops is not part of a u32');
    assert.equal(run('0x800001'), 2n ** 64n - 7n, '-E2BIG');
  });

  test('for_each_map_elem callbacks draw on the run’s budget', () => {
    const vm = new Vm();
    const array = vm.maps.create({ name: 'a', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 4096 });
    // Each callback spins 300 times (603 instructions), under a budget of 1,000 but 4096 of them.
    const source = [
      'r1 = map[idx:0]',
      'r2 = subprog[+0x5]',
      'r3 = 0',
      'r4 = 0',
      'call 164',
      'exit',
      'r0 = 0',
      'r0 += 1',
      'if r0 < 300 goto -2',
      'r0 = 0',
      'exit',
    ].join('\n');
    const program = vm.load(assemble(source), { fdArray: [array] });
    assert.throws(() => vm.run(program, { budget: 1000 }), InstructionBudgetError);
    const result = vm.run(program, { budget: 10_000_000 });
    assert.equal(result.r0, 4096n);
    assert.ok(result.insnsExecuted > 4096 * 603, 'every callback instruction is counted');
  });

  test('a tail-called program runs on what the caller left', () => {
    const vm = new Vm();
    const spinner = vm.loadProgram({
      type: 'SOCKET_FILTER',
      insns: assemble(['r0 = 0', 'r0 += 1', 'if r0 < 1000 goto -2', 'exit'].join('\n')),
    });
    const jumps = vm.maps.create({
      name: 'jumps',
      type: 'PROG_ARRAY',
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
    });
    jumps.update(new Uint8Array(4), new Uint8Array(new Uint32Array([spinner.id]).buffer), 0);
    const caller = vm.loadProgram({
      type: 'SOCKET_FILTER',
      insns: assemble(['r2 = map[idx:0]', 'r3 = 0', 'call 12', 'r0 = 7', 'exit'].join('\n')),
      fdArray: [jumps],
    });
    const full = vm.runWithContext(caller, 0);
    const cost = full.insnsExecuted;
    assert.equal(full.r0, 1000n);
    assert.equal(vm.runWithContext(caller, 0, { budget: cost }).r0, 1000n);
    assert.throws(
      () => vm.runWithContext(caller, 0, { budget: cost - 1 }),
      (error) => error instanceof InstructionBudgetError && error.budget === cost - 1,
    );
  });
});
