import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assembleConformance } from '../isa/conformance-asm.js';
import { assemble } from '../isa/llvm.js';
import { InstructionBudgetError, MemoryAccessError, UnknownHelperError, VmError } from './errors.js';
import { Vm } from './vm.js';

function run(asm: string, options: { mem?: number[]; budget?: number } = {}) {
  const vm = new Vm({
    engine: 'interpreter',
    budget: options.budget,
    now: () => 123n,
    random: () => 0xdeadbeef,
  });
  const program = vm.load(assembleConformance(asm));
  return vm.run(program, { mem: options.mem ? new Uint8Array(options.mem) : undefined });
}

const r0 = (asm: string, mem?: number[]) => run(asm, { mem }).r0;

describe('ALU semantics (Linux)', () => {
  const cases: ReadonlyArray<readonly [string, string, bigint]> = [
    ['mod32 by zero zero-extends dst', 'lddw %r0, 0xffffffff00000007\nmov %r1, 0\nmod32 %r0, %r1\nexit', 7n],
    [
      'mod64 by zero leaves dst',
      'lddw %r0, 0xffffffff00000007\nmov %r1, 0\nmod %r0, %r1\nexit',
      0xffffffff00000007n,
    ],
    ['div64 by zero is 0', 'mov %r0, -1\nmov %r1, 0\ndiv %r0, %r1\nexit', 0n],
    ['sdiv64 INT_MIN / -1 wraps', 'lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit', 0x8000000000000000n],
    ['smod64 INT_MIN % -1 is 0', 'lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit', 0n],
    [
      '64-bit unsigned division uses all bits',
      'lddw %r0, 0xfffffffffffffffe\nlddw %r1, 0x100000000\ndiv %r0, %r1\nexit',
      0xffffffffn,
    ],
    ['mul64 high bits', 'lddw %r0, 0xffffffffffffffff\nlddw %r1, 0xffffffffffffffff\nmul %r0, %r1\nexit', 1n],
    ['mul64 by negative immediate', 'mov %r0, 3\nmul %r0, -2\nexit', 0xfffffffffffffffan],
    ['arsh64 by 40', 'lddw %r0, 0x8000000000000000\narsh %r0, 40\nexit', 0xffffffffff800000n],
    ['rsh64 by register masks 63', 'lddw %r0, 0x8000000000000000\nmov %r1, 127\nrsh %r0, %r1\nexit', 1n],
    ['neg64 of 0', 'mov %r0, 0\nneg %r0\nexit', 0n],
    ['neg64 of 1', 'mov %r0, 1\nneg %r0\nexit', 0xffffffffffffffffn],
    ['be64', 'lddw %r0, 0x0102030405060708\nbe64 %r0\nexit', 0x0807060504030201n],
    ['movsx1664', 'mov %r1, 0x8000\nmovsx1664 %r0, %r1\nexit', 0xffffffffffff8000n],
    ['mov32 zero-extends', 'mov %r0, -1\nmov32 %r0, %r0\nexit', 0xffffffffn],
    ['add64 carry', 'mov32 %r0, -1\nadd %r0, 1\nexit', 0x100000000n],
    ['sub64 borrow', 'mov %r0, 0\nsub %r0, 1\nexit', 0xffffffffffffffffn],
  ];
  for (const [name, asm, expected] of cases) test(name, () => assert.equal(r0(asm), expected));
});

describe('jumps', () => {
  const cases: ReadonlyArray<readonly [string, string, bigint]> = [
    ['jsgt 64-bit signed', 'mov %r0, 0\nmov %r1, -1\njsgt %r1, -2, +1\nexit\nmov %r0, 1\nexit', 1n],
    [
      'jgt 64-bit unsigned sees -1 as large',
      'mov %r0, 0\nmov %r1, -1\njgt %r1, 5, +1\nexit\nmov %r0, 1\nexit',
      1n,
    ],
    [
      'jlt32 looks at low bits only',
      'mov %r0, 0\nlddw %r1, 0x100000001\njlt32 %r1, 2, +1\nexit\nmov %r0, 1\nexit',
      1n,
    ],
    [
      'jset 64 on high bits',
      'mov %r0, 0\nlddw %r1, 0x100000000\nlddw %r2, 0x100000000\njset %r1, %r2, +1\nexit\nmov %r0, 1\nexit',
      1n,
    ],
  ];
  for (const [name, asm, expected] of cases) test(name, () => assert.equal(r0(asm), expected));
});

describe('memory', () => {
  test('atomics on the stack return old values', () => {
    const asm = [
      'stdw [%r10-8], 5',
      'mov %r1, 3',
      'lock fetch add [%r10-8], %r1',
      'ldxdw %r0, [%r10-8]',
      'lsh %r0, 8',
      'or %r0, %r1',
      'exit',
    ].join('\n');
    assert.equal(r0(asm), (8n << 8n) | 5n);
  });
  test('cmpxchg stores only when r0 matches and loads the old value into r0', () => {
    const asm = [
      'stdw [%r10-8], 7',
      'mov %r0, 7',
      'mov %r1, 9',
      'lock cmpxchg [%r10-8], %r1',
      'ldxdw %r2, [%r10-8]',
      'lsh %r2, 8',
      'or %r0, %r2',
      'exit',
    ].join('\n');
    assert.equal(r0(asm), (9n << 8n) | 7n);
  });
  test('stores into the input memory are visible after the run', () => {
    const result = run('stb [%r1+1], 0x7f\nmov %r0, 0\nexit', { mem: [1, 2, 3] });
    assert.deepEqual([...(result.mem ?? [])], [1, 0x7f, 3]);
  });
  test('null dereference is a MemoryAccessError naming the instruction', () => {
    assert.throws(
      () => run('mov %r0, 1\nldxw %r0, [%r1+0]\nexit'),
      (e: unknown) =>
        e instanceof MemoryAccessError && e.slot === 1 && e.address === 0n && /null pointer/.test(e.message),
    );
  });
  test('reading past the input memory faults', () => {
    assert.throws(
      () => run('ldxw %r0, [%r1+2]\nexit', { mem: [1, 2, 3, 4] }),
      (e: unknown) =>
        e instanceof MemoryAccessError && e.address > 0x1000n && e.size === 4 && e.access === 'read',
    );
  });
  test('writing above the frame pointer faults', () => {
    assert.throws(
      () => run('stdw [%r10+0], 1\nexit'),
      (e: unknown) => e instanceof MemoryAccessError && e.access === 'write',
    );
  });
  test('a pointer with high bits set faults without wrapping', () => {
    assert.throws(
      () => run('lddw %r1, 0x100001000\nldxb %r0, [%r1+0]\nexit'),
      (e: unknown) => e instanceof MemoryAccessError && e.address === 0x100001000n,
    );
  });
});

describe('load-acquire and store-release (since 6.15)', () => {
  test('behave as loads and stores of their size', () => {
    const vm = new Vm({ engine: 'interpreter' });
    const source = [
      'r1 = 0x1122334455667788 ll',
      '*(u64 *)(r10 - 8) = r1',
      'r2 = r10',
      'r2 += -8',
      'r0 = load_acquire((u64 *)(r2 + 0x0))',
      'w3 = 0x7',
      'store_release((u8 *)(r2 + 0x0), w3)',
      'r4 = *(u64 *)(r10 - 8)',
      'r0 ^= r4',
      'exit',
    ].join('\n');
    assert.equal(vm.run(vm.load(assemble(source))).r0, 0x8fn);
  });
});

describe('control', () => {
  test('runaway loop stops at the budget', () => {
    assert.throws(
      () => run('mov %r0, 0\nja -1\nexit', { budget: 1000 }),
      (e: unknown) => e instanceof InstructionBudgetError && e.budget === 1000 && e.slot === 1,
    );
  });
  test('local calls get their own stack frame and preserve r6-r9', () => {
    const asm = [
      'mov %r6, 42',
      'stdw [%r10-8], 1',
      'call local f',
      'ldxdw %r1, [%r10-8]',
      'add %r0, %r1',
      'add %r0, %r6',
      'exit',
      'f:',
      'stdw [%r10-8], 100',
      'mov %r6, 0',
      'ldxdw %r0, [%r10-8]',
      'exit',
    ].join('\n');
    assert.equal(r0(asm), 143n);
  });
  test('recursion deeper than 8 frames is refused', () => {
    assert.throws(
      () => run('f:\ncall local f\nexit'),
      (e: unknown) => e instanceof VmError && /too deep/.test(e.message),
    );
  });
  test('unknown helper names its id', () => {
    assert.throws(
      () => run('call 999\nexit'),
      (e: unknown) => e instanceof UnknownHelperError && e.helperId === 999 && /#999/.test(e.message),
    );
    assert.throws(
      () => run('call 18\nexit'),
      (e: unknown) => e instanceof UnknownHelperError && /bpf_skb_vlan_push#18/.test(e.message),
    );
  });
  test('falling off the end is an error', () => {
    assert.throws(
      () => run('mov %r0, 0'),
      (e: unknown) => e instanceof VmError && /fell off/.test(e.message),
    );
  });
  test('writing r10 is refused at load', () => {
    const vm = new Vm({ engine: 'interpreter' });
    assert.throws(
      () => vm.load(assembleConformance('mov %r0, 0\nmov %r10, 1\nexit')),
      (e: unknown) => e instanceof VmError && e.slot === 1 && /read-only/.test(e.message),
    );
  });
  test('a jump out of the program is refused at load', () => {
    const vm = new Vm({ engine: 'interpreter' });
    assert.throws(
      () => vm.load(assembleConformance('ja +5\nexit')),
      (e: unknown) => e instanceof VmError && /out of the program/.test(e.message),
    );
  });
});

describe('helpers', () => {
  test('ktime_get_ns and get_prandom_u32 come from the VM options', () => {
    assert.equal(r0('call 5\nexit'), 123n);
    assert.equal(r0('call 7\nexit'), 0xdeadbeefn);
  });
  test('bpf_trace_printk formats with the kernel rules', () => {
    // "x=%d %s!\0" on the stack, args -1 and a pointer to "hi"
    const fmt = [...new TextEncoder().encode('x=%d %s!\0')];
    const lines: string[] = [];
    const asm = [
      ...fmt.map((byte, i) => `stb [%r10-${32 - i}], ${byte}`),
      'stb [%r10-4], 0x68',
      'stb [%r10-3], 0x69',
      'stb [%r10-2], 0',
      'mov %r1, %r10',
      'add %r1, -32',
      `mov %r2, ${fmt.length}`,
      'mov %r3, -1',
      'mov %r4, %r10',
      'add %r4, -4',
      'call 6',
      'exit',
    ].join('\n');
    const vm = new Vm({ trace: (line) => lines.push(line) });
    const result = vm.run(vm.load(assembleConformance(asm)));
    assert.deepEqual(lines, ['x=-1 hi!']);
    assert.equal(result.r0, 8n, 'the formatted length, as Linux returns');
  });
});

describe('stack frames start zeroed', () => {
  test('a run does not see the previous run’s stack, nor a callee the caller’s leftovers', () => {
    const vm = new Vm({ engine: 'interpreter' });
    const dirty = vm.load(assembleConformance('stdw [%r10-8], 0x55\nmov %r0, 0\nexit'));
    const read = vm.load(assembleConformance('ldxdw %r0, [%r10-8]\nexit'));
    vm.run(dirty);
    assert.equal(vm.run(read).r0, 0n);
    const nested = vm.load(
      assembleConformance(
        [
          'call local f',
          'call local g',
          'exit',
          'f:',
          'stdw [%r10-8], 0x77',
          'exit',
          'g:',
          'ldxdw %r0, [%r10-8]',
          'exit',
        ].join('\n'),
      ),
    );
    assert.equal(vm.run(nested).r0, 0n);
  });
});
