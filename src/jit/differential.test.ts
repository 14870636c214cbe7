/**
 * Differential property test: random programs — valid and faulting, looping into the budget,
 * calling helpers, maps and subprograms — run on the interpreter and on the JIT, which must agree
 * on everything observable: r0, executed instructions, input memory, maps, trace lines, and
 * faults (class, slot and message).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { helperId } from '../isa/helper-ids.js';
import { type Insn, makeInsn, type RawInsn } from '../isa/instruction.js';
import type { MapSpec } from '../maps/ops.js';
import type { VmMap } from '../vm/maps/index.js';
import { Vm } from '../vm/vm.js';
import { generate } from './codegen.js';

/** One generated instruction; `to` is a jump/call target as an instruction index, resolved at layout. */
interface Gen {
  readonly raw: RawInsn;
  readonly imm2?: number;
  readonly to?: number;
}

const reg = fc.integer({ min: 0, max: 9 });
const anyReg = fc.integer({ min: 0, max: 10 });
const imm = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, 7, 8, 16, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0xff, 0x8000),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
);
const aluOp = fc.constantFrom(0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0);
const jmpOp = fc.constantFrom(0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0);
const size = fc.constantFrom(0x00, 0x08, 0x10, 0x18); // W, H, B, DW
const target = fc.integer({ min: 0, max: 63 });

/** A base register and offset that hit the stack, the input memory, or anything. */
const place = fc.oneof(
  fc.record({ base: fc.constant(10), off: fc.integer({ min: -520, max: 8 }) }),
  fc.record({ base: fc.constant(1), off: fc.integer({ min: -8, max: 40 }) }),
  fc.record({ base: reg, off: fc.integer({ min: -64, max: 64 }) }),
);

const alu = fc
  .record({
    cls: fc.constantFrom(0x04, 0x07),
    op: aluOp,
    x: fc.boolean(),
    dst: reg,
    src: anyReg,
    imm,
    signed: fc.boolean(),
  })
  .map(({ cls, op, x, dst, src, imm, signed }): Gen[] => {
    const off = (op === 0x30 || op === 0x90) && signed ? 1 : 0;
    const neg = op === 0x80;
    return [
      {
        raw: {
          opcode: cls | op | (x && !neg ? 0x08 : 0),
          dst,
          src: x && !neg ? src : 0,
          off,
          imm: x || neg ? 0 : imm,
        },
      },
    ];
  });
const movsx = fc
  .record({ cls: fc.constantFrom(0x04, 0x07), dst: reg, src: anyReg, ext: fc.constantFrom(8, 16, 32) })
  .filter(({ cls, ext }) => cls === 0x07 || ext !== 32)
  .map(({ cls, dst, src, ext }): Gen[] => [{ raw: { opcode: cls | 0xb8, dst, src, off: ext, imm: 0 } }]);
const end = fc
  .record({ opcode: fc.constantFrom(0xd4, 0xdc, 0xd7), dst: reg, bits: fc.constantFrom(16, 32, 64) })
  .map(({ opcode, dst, bits }): Gen[] => [{ raw: { opcode, dst, src: 0, off: 0, imm: bits } }]);
const jump = fc
  .record({
    cls: fc.constantFrom(0x05, 0x06),
    op: jmpOp,
    x: fc.boolean(),
    dst: anyReg,
    src: anyReg,
    imm,
    to: target,
  })
  .map(({ cls, op, x, dst, src, imm, to }): Gen[] => [
    { raw: { opcode: cls | op | (x ? 0x08 : 0), dst, src: x ? src : 0, off: 0, imm: x ? 0 : imm }, to },
  ]);
const ja = target.map((to): Gen[] => [{ raw: { opcode: 0x05, dst: 0, src: 0, off: 0, imm: 0 }, to }]);
const ldx = fc
  .record({ p: place, dst: reg, sz: size, signed: fc.boolean() })
  .map(({ p, dst, sz, signed }): Gen[] => [
    { raw: { opcode: (signed && sz !== 0x18 ? 0x81 : 0x61) | sz, dst, src: p.base, off: p.off, imm: 0 } },
  ]);
const st = fc
  .record({ p: place, src: anyReg, sz: size, x: fc.boolean(), imm })
  .map(({ p, src, sz, x, imm }): Gen[] => [
    { raw: { opcode: (x ? 0x63 : 0x62) | sz, dst: p.base, src: x ? src : 0, off: p.off, imm: x ? 0 : imm } },
  ]);
const atomic = fc
  .record({
    p: place,
    src: reg,
    wide: fc.boolean(),
    code: fc.constantFrom(0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1),
  })
  .map(({ p, src, wide, code }): Gen[] => [
    { raw: { opcode: wide ? 0xdb : 0xc3, dst: p.base, src, off: p.off, imm: code } },
  ]);
const lddw = fc
  .record({ dst: reg, lo: imm, hi: imm })
  .map(({ dst, lo, hi }): Gen[] => [{ raw: { opcode: 0x18, dst, src: 0, off: 0, imm: lo }, imm2: hi }]);
const exit: fc.Arbitrary<Gen[]> = fc.constant([{ raw: { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 } }]);
/** A map helper call on map 0 (array) or 1 (hash) with a key on the stack. */
const mapCall = fc
  .record({ map: fc.constantFrom(0, 1), key: fc.integer({ min: 0, max: 5 }), op: fc.constantFrom(1, 2, 3) })
  .map(({ map, key, op }): Gen[] => [
    { raw: { opcode: 0x18, dst: 1, src: 5, off: 0, imm: map }, imm2: 0 },
    { raw: { opcode: 0x7a, dst: 10, src: 0, off: -8, imm: key } },
    { raw: { opcode: 0xbf, dst: 2, src: 10, off: 0, imm: 0 } },
    { raw: { opcode: 0x07, dst: 2, src: 0, off: 0, imm: -8 } },
    { raw: { opcode: 0xbf, dst: 3, src: 10, off: 0, imm: 0 } },
    { raw: { opcode: 0x07, dst: 3, src: 0, off: 0, imm: -16 } },
    { raw: { opcode: 0xb7, dst: 4, src: 0, off: 0, imm: 0 } },
    { raw: { opcode: 0x85, dst: 0, src: 0, off: 0, imm: op } },
  ]);
const printk = fc.constant<Gen[]>([
  { raw: { opcode: 0x7a, dst: 10, src: 0, off: -8, imm: 0x64257825 } }, // "%xd%" … NUL after
  { raw: { opcode: 0xbf, dst: 1, src: 10, off: 0, imm: 0 } },
  { raw: { opcode: 0x07, dst: 1, src: 0, off: 0, imm: -8 } },
  { raw: { opcode: 0xb7, dst: 2, src: 0, off: 0, imm: 8 } },
  { raw: { opcode: 0x85, dst: 0, src: 0, off: 0, imm: helperId('trace_printk')! } },
]);
const otherHelper = fc
  .constantFrom(helperId('get_prandom_u32')!, helperId('ktime_get_ns')!, 9999)
  .map((id): Gen[] => [{ raw: { opcode: 0x85, dst: 0, src: 0, off: 0, imm: id } }]);
/** A bpf-to-bpf call: to the subprogram (index -1 marks it) or anywhere (recursion, odd entries). */
const localCall = fc
  .oneof(fc.constant(-1), target)
  .map((to): Gen[] => [{ raw: { opcode: 0x85, dst: 0, src: 1, off: 0, imm: 0 }, to }]);

const piece = fc.oneof(
  { arbitrary: alu, weight: 12 },
  { arbitrary: movsx, weight: 1 },
  { arbitrary: end, weight: 1 },
  { arbitrary: jump, weight: 5 },
  { arbitrary: ja, weight: 1 },
  { arbitrary: ldx, weight: 4 },
  { arbitrary: st, weight: 4 },
  { arbitrary: atomic, weight: 2 },
  { arbitrary: lddw, weight: 1 },
  { arbitrary: exit, weight: 1 },
  { arbitrary: mapCall, weight: 1 },
  { arbitrary: printk, weight: 1 },
  { arbitrary: otherHelper, weight: 1 },
  { arbitrary: localCall, weight: 1 },
);

/** Lay out main + exit + subprogram + exit, resolving targets to slot offsets. */
function layout(main: Gen[][], sub: Gen[][]): Insn[] {
  const gens: Gen[] = [...main.flat(), { raw: { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 } }];
  const subStart = gens.length;
  gens.push(...sub.flat(), { raw: { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 } });
  const slots: number[] = [];
  let slot = 0;
  for (const g of gens) {
    slots.push(slot);
    slot += g.raw.opcode === 0x18 ? 2 : 1;
  }
  slots.push(slot);
  return gens.map((g, i) => {
    let raw = g.raw;
    if (g.to !== undefined) {
      const to = g.to < 0 ? subStart : g.to % (gens.length + 1);
      const rel = slots[to] - slots[i] - 1;
      raw = raw.opcode === 0x85 ? { ...raw, imm: rel } : { ...raw, off: rel };
    }
    try {
      return makeInsn(raw, slots[i], g.imm2 ?? 0);
    } catch {
      // A combination of fields the ISA reserves: a no-op in its place (keeps the layout).
      return makeInsn({ opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, slots[i]);
    }
  });
}

const program = fc
  .record({
    main: fc.array(piece, { minLength: 1, maxLength: 30 }),
    sub: fc.array(piece, { minLength: 0, maxLength: 8 }),
    mem: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  })
  .map(({ main, sub, mem }) => ({ insns: layout(main, sub), mem }));

const specs: MapSpec[] = [
  { name: 'array', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 4 },
  { name: 'hash', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4 },
];

function dump(map: VmMap): string[] {
  const lines: string[] = [];
  let key: Uint8Array | undefined;
  for (let n = 0; n <= map.spec.maxEntries; n++) {
    key = map.nextKey(key);
    if (!key) break;
    lines.push(`${[...key].join(',')}=${[...(map.lookup(key) ?? [])].join(',')}`);
  }
  return lines;
}

type Outcome =
  | { ok: true; r0: bigint; insns: number; mem: number[]; trace: readonly string[]; maps: string[][] }
  | { ok: false; error: string; slot: number | undefined; message: string; maps: string[][] }
  | { ok: false; load: string };

function outcome(engine: 'jit' | 'interpreter', insns: readonly Insn[], mem: Uint8Array): Outcome {
  const vm = new Vm({ engine, budget: 150, now: () => 1000n, random: () => 0x12345678 });
  const maps = specs.map((spec) => vm.maps.create(spec));
  let compiled: ReturnType<Vm['load']>;
  try {
    compiled = vm.load(insns, { fdArray: maps });
  } catch (error) {
    return { ok: false, load: (error as Error).message };
  }
  try {
    const result = vm.run(compiled, { mem });
    return {
      ok: true,
      r0: result.r0,
      insns: result.insnsExecuted,
      mem: [...result.mem!],
      trace: result.trace,
      maps: maps.map(dump),
    };
  } catch (error) {
    const e = error as Error & { slot?: number };
    return { ok: false, error: e.name, slot: e.slot, message: e.message, maps: maps.map(dump) };
  }
}

test('random programs: the JIT and the interpreter agree on everything observable', () => {
  const kinds = new Map<string, number>();
  fc.assert(
    fc.property(program, ({ insns, mem }) => {
      const expected = outcome('interpreter', insns, mem);
      const actual = outcome('jit', insns, mem);
      const kind = 'load' in expected ? 'rejected' : expected.ok ? 'ok' : expected.error;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      assert.deepEqual(actual, expected);
    }),
    { numRuns: 600 },
  );
  if (process.env.JIT_DIFF_STATS) console.log([...kinds]);
  // The generator must reach the interesting outcomes, or the comparison proves little.
  for (const kind of ['ok', 'MemoryAccessError', 'InstructionBudgetError'])
    assert.ok((kinds.get(kind) ?? 0) > 5, `${kind}: ${JSON.stringify([...kinds])}`);
});

test('random control flow (loops, irreducible graphs, calls): same results, budget faults at the same slot', () => {
  const flow = fc.oneof(
    { arbitrary: alu, weight: 6 },
    { arbitrary: jump, weight: 6 },
    { arbitrary: ja, weight: 2 },
    { arbitrary: exit, weight: 1 },
    { arbitrary: localCall, weight: 1 },
    { arbitrary: st, weight: 1 },
  );
  const programs = fc
    .record({ main: fc.array(flow, { minLength: 1, maxLength: 40 }), sub: fc.array(flow, { maxLength: 6 }) })
    .map(({ main, sub }) => layout(main, sub));
  let budgetFaults = 0;
  let irreducible = 0;
  let structured = 0;
  fc.assert(
    fc.property(programs, (insns) => {
      const mem = new Uint8Array(32);
      try {
        const generated = generate(new Vm().load(insns));
        structured += generated.structured;
        irreducible += generated.functions - generated.structured;
      } catch {
        // rejected at load: compared below
      }
      const expected = outcome('interpreter', insns, mem);
      if (!('load' in expected) && !expected.ok && expected.error === 'InstructionBudgetError')
        budgetFaults++;
      assert.deepEqual(outcome('jit', insns, mem), expected);
    }),
    { numRuns: 400 },
  );
  assert.ok(budgetFaults > 20, `only ${budgetFaults} budget faults`);
  assert.ok(
    irreducible > 5 && structured > 100,
    `${irreducible} irreducible, ${structured} structured functions`,
  );
});
