// may_goto (BPF_JMP | BPF_JCOND, src 0) on the VM and on this kernel: the regression object is
// testdata/fidelity/may_goto.bpf.c, loops escaped with the cond_break idiom clang emits.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { decode, InvalidInstructionError } from '../isa/instruction.js';
import { assemble, formatInsn } from '../isa/llvm.js';
import { loadObject } from '../kernel/load/object.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { u32 } from '../maps/codec.js';
import { MAY_GOTO_LOOPS, MAY_GOTO_TIMEOUT_NS } from './interpreter.js';
import { Vm } from './vm.js';

const OBJECT = new URL('../../testdata/fidelity/may_goto.bpf.o', import.meta.url);
const XDP_PASS = 2;

/** main_falls, sub_falls[0], sub_falls[1] from the object's .bss. */
function counters(bss: Uint8Array): bigint[] {
  const view = new DataView(bss.buffer, bss.byteOffset, bss.byteLength);
  return [0, 8, 16].map((at) => view.getBigUint64(at, true));
}

describe('may_goto', () => {
  test('encoding: only src 0 (BPF_MAY_GOTO) is an instruction, as in the kernel', () => {
    const [insn] = assemble('may_goto +2');
    assert.equal(formatInsn(insn), 'may_goto +0x2');
    assert.equal(formatInsn(insn, { flavor: 'verifier', opcode: true }), '(e5) may_goto pc+2');
    const bytes = new Uint8Array([0xe5, 0x10, 2, 0, 0, 0, 0, 0]);
    assert.throws(() => decode(bytes), InvalidInstructionError);
  });

  test('VM: a loop that ends first is not cut short; each call gets its own budget', () => {
    const vm = new Vm();
    const object = vm.loadObject(readFileSync(OBJECT));
    const result = vm.testRun(object.programs.get('may_goto_bounded')!, { data: new Uint8Array(64) });
    assert.equal(result.retval, XDP_PASS);
    assert.deepEqual(counters(object.maps.get('.bss')!.get(u32.encode(0))!), [100n, 101n, 102n]);
  });

  test('VM: falls through 65535 times per clock check, until 250 ms have passed', () => {
    // Each read of the clock is 100 ms later: checks at 65535 (start), 2×, 3× (200 ms), 4×
    // (300 ms ≥ 250 ms) fall-throughs, then the next may_goto jumps.
    let now = 0n;
    const vm = new Vm({ now: () => (now += 100_000_000n), budget: 2_000_000 });
    const object = vm.loadObject(readFileSync(OBJECT));
    vm.testRun(object.programs.get('may_goto_unbounded')!, { data: new Uint8Array(64) });
    const [falls] = counters(object.maps.get('.bss')!.get(u32.encode(0))!);
    const checks = 1n + (MAY_GOTO_TIMEOUT_NS + 99_999_999n) / 100_000_000n;
    assert.equal(falls, checks * BigInt(MAY_GOTO_LOOPS));
  });

  test('VM: without a clock that moves, the instruction budget ends the loop', () => {
    const vm = new Vm({ now: () => 0n, budget: 300_000 });
    const object = vm.loadObject(readFileSync(OBJECT));
    assert.throws(
      () => vm.testRun(object.programs.get('may_goto_unbounded')!, { data: new Uint8Array(64) }),
      /budget/,
    );
  });

  test('kernel: same counts as the VM, and a k × 65535 escape (k ≥ 2)', (t) => {
    const reason = bpfUnavailable();
    if (reason) {
      t.skip(`needs bpf(): ${reason}`);
      return;
    }
    const kernel = loadObject(readFileSync(OBJECT));
    try {
      const bss = kernel.maps.get('.bss')!;
      const bounded = kernel.programs.get('may_goto_bounded')!.program!;
      assert.equal(bounded.testRun({ data: new Uint8Array(64) }).retval, XDP_PASS);
      assert.deepEqual(counters(bss.get(u32.encode(0))!), [100n, 101n, 102n]);
      const unbounded = kernel.programs.get('may_goto_unbounded')!.program!;
      assert.equal(unbounded.testRun({ data: new Uint8Array(64) }).retval, XDP_PASS);
      const [falls] = counters(bss.get(u32.encode(0))!);
      assert.equal(falls % BigInt(MAY_GOTO_LOOPS), 0n, `${falls} fall-throughs`);
      assert.ok(falls >= 2n * BigInt(MAY_GOTO_LOOPS), `${falls} fall-throughs`);
    } finally {
      kernel.close();
    }
  });
});
