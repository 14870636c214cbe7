import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assembleConformance } from '../isa/conformance-asm.js';
import { parseDataFile } from '../isa/data-file.js';
import { assemble } from '../isa/llvm.js';
import { readCapture } from '../pcap/pcap.js';
import { XdpTestRunner } from './test-run.js';
import { Vm } from './vm.js';

const conformance = fileURLToPath(new URL('../../../shared/conformance/tests/', import.meta.url));
const skipConformance = existsSync(conformance) ? false : `${conformance} not found`;
const engines = ['interpreter', 'jit'] as const;

/** What a run gave: r0 and instructions, or the fault's class, slot and message. */
function outcome(run: () => { r0: bigint; insns: number }): unknown {
  try {
    return run();
  } catch (error) {
    const e = error as Error & { slot?: number };
    return { error: e.name, slot: e.slot, message: e.message };
  }
}

describe('Runner (vm.prepare)', () => {
  test('gives vm.run’s r0, instruction count and faults on every conformance vector, on both engines', {
    skip: skipConformance,
  }, () => {
    const names = readdirSync(conformance).filter((name) => name.endsWith('.data'));
    const mismatches: string[] = [];
    for (const engine of engines) {
      const vm = new Vm({ engine });
      for (const name of names.sort()) {
        const parsed = parseDataFile(readFileSync(conformance + name, 'utf8'), name);
        if (parsed.kind !== 'test') continue;
        let program: ReturnType<Vm['load']>;
        try {
          program = vm.load(parsed.program);
        } catch {
          continue;
        }
        const mem = parsed.mem;
        const expected = outcome(() => {
          const result = vm.run(program, { mem, readMem: false });
          return { r0: result.r0, insns: result.insnsExecuted };
        });
        const runner = vm.prepare(program);
        // Twice: the second run reuses everything the first one set up.
        for (let i = 0; i < 2; i++) {
          const got = outcome(() => {
            const low = runner.run(mem ?? undefined);
            assert.equal(low, Number(runner.r0 & 0xffffffffn));
            return { r0: runner.r0, insns: runner.insnsExecuted };
          });
          if (
            JSON.stringify(got, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) !==
            JSON.stringify(expected, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))
          )
            mismatches.push(`${engine} ${name} run ${i + 1}`);
        }
        runner.close();
      }
    }
    assert.deepEqual(mismatches, []);
  });

  test('a budget fault and memory faults match vm.run’s on both engines', () => {
    const cases = [
      { asm: 'mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit', budget: 1000 },
      { asm: 'ldxdw %r0, [%r1+70]\nexit', budget: 100 },
      { asm: 'ldxb %r0, [%r1+3]\nexit', budget: 100 },
    ];
    for (const engine of engines) {
      for (const { asm, budget } of cases) {
        // Two fresh VMs: the input lands at the same address, so fault messages match too.
        const [a, b] = [new Vm({ engine, budget }), new Vm({ engine, budget })];
        const mem = new Uint8Array(74).fill(9);
        const expected = outcome(() => {
          const r = a.run(a.load(assembleConformance(asm)), { mem });
          return { r0: r.r0, insns: r.insnsExecuted };
        });
        const runner = b.prepare(b.load(assembleConformance(asm)));
        const got = outcome(() => {
          runner.run(mem);
          return { r0: runner.r0, insns: runner.insnsExecuted };
        });
        assert.deepEqual(got, expected, `${engine}: ${asm}`);
      }
    }
  });

  test('without new input a run sees the input as the last run left it (the kernel’s repeat)', () => {
    for (const engine of engines) {
      const vm = new Vm({ engine });
      // Adds 1 to the input's first byte and returns it.
      const program = vm.load(assembleConformance('ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\nexit'));
      const runner = vm.prepare(program);
      assert.equal(runner.run(new Uint8Array([5, 0])), 6);
      assert.equal(runner.run(), 7);
      assert.deepEqual(runner.readInput(), new Uint8Array([7, 0]));
      assert.equal(runner.run(new Uint8Array([1])), 2, 'new input, new length');
      assert.equal(runner.insnsExecuted, 4);
    }
  });

  test('repeat runs n times as n runs would (changes accumulate, instructions add up, faults stop it)', () => {
    for (const engine of engines) {
      const vm = new Vm({ engine });
      const program = vm.load(assembleConformance('ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\nexit'));
      const runner = vm.prepare(program);
      runner.run(new Uint8Array([5]));
      assert.equal(runner.repeat(10), 16, engine);
      assert.equal(runner.insnsExecuted, 40);
      assert.deepEqual(runner.readInput(), new Uint8Array([16]));
      assert.equal(runner.r0, 16n);
      const loop = vm.load(assembleConformance('mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 5, loop\nexit'));
      const looping = vm.prepare(loop, { budget: 12 });
      assert.equal(looping.repeat(3), 5);
      assert.equal(looping.insnsExecuted, 3 * 12);
      // The first run exhausts its budget at the exit: repeat throws the run's error.
      assert.throws(() => vm.prepare(loop, { budget: 11 }).repeat(3), {
        name: 'InstructionBudgetError',
        message: 'run: instruction 3: instruction budget of 11 exhausted (runaway loop?)',
      });
    }
  });

  test('a program without input runs with r1 = r2 = 0, and the budget of prepare wins', () => {
    for (const engine of engines) {
      const vm = new Vm({ engine });
      const program = vm.load(assembleConformance('mov %r0, %r1\nadd %r0, %r2\nexit'));
      assert.equal(vm.prepare(program).run(), 0);
      assert.throws(() => vm.prepare(program, { budget: 2 }).run(), { name: 'InstructionBudgetError' });
    }
  });
});

describe('XdpTestRunner', () => {
  const sample = readCapture(readFileSync(new URL('../../testdata/pcap/sample.pcap', import.meta.url)));
  const object = readFileSync(new URL('../../examples/xdp_count.bpf.o', import.meta.url));

  test('gives vm.testRun’s retval, data_out and maps over a capture, on both engines', () => {
    const dumps: unknown[] = [];
    for (const engine of engines) {
      const [a, b] = [new Vm({ engine }), new Vm({ engine })];
      const [oa, ob] = [a.loadObject(object), b.loadObject(object)];
      const pa = oa.programs.get('xdp_count_protocols')!;
      const pb = ob.programs.get('xdp_count_protocols')!;
      assert.ok(pb.verified, 'the program is verified: the runner zeroes only what packets covered');
      const runner = new XdpTestRunner(b, pb);
      for (const packet of sample.packets) {
        const expected = a.testRun(pa, { data: packet.data });
        // The packet in the middle of a larger buffer, as a streamed capture hands it over.
        const buffer = new Uint8Array(packet.data.length + 20);
        buffer.set(packet.data, 10);
        assert.equal(runner.run(buffer, 10, 10 + packet.data.length), expected.retval);
        assert.deepEqual(runner.dataOut(), expected.dataOut);
        assert.equal(runner.insnsExecuted, expected.insnsExecuted);
      }
      const dump = (o: typeof oa) => [...o.maps.get('proto_stats')!.entries()];
      assert.deepEqual(dump(ob), dump(oa));
      dumps.push(dump(ob));
    }
    // The JIT compiles the per-CPU array lookup inline: the counts must be the interpreter's.
    assert.deepEqual(dumps[1], dumps[0]);
  });

  test('moved bounds and unverified stores leave no trace in the next packet’s frame', () => {
    // Grows the head by 8 bytes and copies the packet's first 8 bytes there; then returns the
    // byte 300 past data (zero in a fresh frame) and stores a 1 there (a wild store, unverified).
    const asm = [
      'mov %r6, %r1',
      'mov %r2, -8',
      'call 44',
      'ldxw %r2, [%r6+0]',
      'ldxdw %r4, [%r2+8]',
      'stxdw [%r2+0], %r4',
      'ldxb %r0, [%r2+300]',
      'stb [%r2+300], 1',
      'exit',
    ].join('\n');
    for (const engine of engines) {
      const [a, b] = [new Vm({ engine, verify: false }), new Vm({ engine, verify: false })];
      const load = (vm: Vm) => vm.loadProgram({ type: 'XDP', insns: assembleConformance(asm), name: 'x' });
      const pa = load(a);
      const runner = new XdpTestRunner(b, load(b));
      for (const length of [400, 100, 60, 14, 300]) {
        const data = new Uint8Array(length).map((_, i) => (i * 7 + length) & 0xff);
        const expected = a.testRun(pa, { data });
        assert.equal(runner.run(data), expected.retval, `${engine}: ${length} bytes`);
        assert.deepEqual(runner.dataOut(), expected.dataOut);
      }
      assert.throws(() => runner.run(new Uint8Array(13)), {
        name: 'TestRunError',
        message: /less than an Ethernet header/,
      });
    }
  });
});

describe('map_lookup_elem compiled inline', () => {
  // counts[key] += 1 for the packet's first word as the key; 1 when the lookup misses.
  const source = [
    'r6 = r1',
    'r2 = *(u32 *)(r6 + 0)',
    'r3 = *(u32 *)(r6 + 4)',
    'r4 = r2',
    'r4 += 4',
    'if r4 > r3 goto out',
    'r5 = *(u32 *)(r2 + 0)',
    '*(u32 *)(r10 - 4) = r5',
    'r2 = r10',
    'r2 += -4',
    'r1 = map[idx:0]',
    'call 1',
    'if r0 == 0 goto miss',
    'r1 = *(u64 *)(r0 + 0)',
    'r1 += 1',
    '*(u64 *)(r0 + 0) = r1',
    'r0 = 2',
    'exit',
    'miss:',
    'r0 = 1',
    'exit',
    'out:',
    'r0 = 0',
    'exit',
  ].join('\n');

  test('gives the helper’s results (keys past the end, per-CPU slots) on ARRAY and PERCPU_ARRAY', () => {
    for (const type of ['ARRAY', 'PERCPU_ARRAY'] as const) {
      const results = engines.map((engine) => {
        const vm = new Vm({ engine });
        const counts = vm.maps.create({ name: 'counts', type, keySize: 4, valueSize: 8, maxEntries: 4 });
        const program = vm.loadProgram({ type: 'XDP', insns: assemble(source), fdArray: [counts] });
        assert.ok(program.verified, `${type}: verified`);
        const runner = new XdpTestRunner(vm, program);
        const retvals: number[] = [];
        for (const cpu of [0, 1, 0])
          for (const key of [0, 3, 4, 5, 0xffffffff, 2, 3]) {
            vm.maps.cpu = cpu;
            const data = new Uint8Array(14);
            new DataView(data.buffer).setUint32(0, key, true);
            retvals.push(runner.run(data));
          }
        const key = (k: number) => new Uint8Array(new Uint32Array([k]).buffer);
        return { retvals, counts: [0, 1, 2, 3].map((k) => counts.lookup(key(k))) };
      });
      assert.deepEqual(results[1], results[0], type);
      assert.deepEqual(results[0]!.retvals.slice(0, 7), [2, 2, 1, 1, 1, 2, 2]);
    }
  });
});

test('vm.run takes what loadProgram returns, as prepare does (the one Program)', () => {
  for (const engine of ['jit', 'interpreter'] as const) {
    const vm = new Vm({ engine });
    const program = vm.loadProgram({ type: 'SOCKET_FILTER', insns: assemble('r0 = 7\nr0 += 35\nexit') });
    assert.equal(vm.run(program).r0, 42n, engine);
    assert.equal(vm.run(program.compiled).r0, 42n, engine);
  }
});
