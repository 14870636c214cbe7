import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assembleConformance } from '../isa/conformance-asm.js';
import { parseDataFile } from '../isa/data-file.js';
import { readCapture } from '../pcap/pcap.js';
import { verify } from '../verifier/index.js';
import type { VerifierFacts } from '../verifier/types.js';
import { runConformanceTest } from '../vm/conformance.js';
import { InstructionBudgetError, MemoryAccessError, VmError } from '../vm/errors.js';
import { Vm } from '../vm/vm.js';
import { jitFor, useVerifierFacts } from './runtime.js';

const shared = fileURLToPath(new URL('../../../shared/', import.meta.url));
const conformance = `${shared}conformance/tests/`;
const bench = `${shared}bench/`;
const skipConformance = existsSync(conformance)
  ? false
  : `${conformance} not found: the shared vectors are absent`;
const skipBench = existsSync(bench) ? false : `${bench} not found: the shared benchmarks are absent`;

const engines = ['interpreter', 'jit'] as const;

function runBoth(asm: string, options: { mem?: number[]; budget?: number } = {}) {
  return engines.map((engine) => {
    const vm = new Vm({ engine, budget: options.budget, now: () => 5n, random: () => 7 });
    const program = vm.load(assembleConformance(asm));
    try {
      const result = vm.run(program, { mem: options.mem ? new Uint8Array(options.mem) : undefined });
      if (engine === 'jit') assert.ok(jitFor(program, vm.memory), 'the JIT compiled the program');
      return { r0: result.r0, insns: result.insnsExecuted, mem: result.mem };
    } catch (error) {
      return { error };
    }
  });
}

describe('JIT', () => {
  test('all 313 bpf_conformance vectors pass through the JIT, with the interpreter’s r0 and counts', {
    skip: skipConformance,
  }, () => {
    const names = readdirSync(conformance).filter((name) => name.endsWith('.data'));
    assert.equal(names.length, 313);
    const jit = new Vm({ engine: 'jit' });
    const interpreter = new Vm({ engine: 'interpreter' });
    const failures: string[] = [];
    for (const name of names.sort()) {
      const parsed = parseDataFile(readFileSync(conformance + name, 'utf8'), name);
      if (parsed.kind !== 'test') continue;
      const outcome = runConformanceTest(jit, parsed);
      const reference = runConformanceTest(interpreter, parsed);
      if (!outcome.pass) failures.push(`${name}: ${outcome.error?.message ?? outcome.r0?.toString(16)}`);
      else if (outcome.insnsExecuted !== reference.insnsExecuted)
        failures.push(
          `${name}: ${outcome.insnsExecuted} instructions, interpreter ${reference.insnsExecuted}`,
        );
    }
    assert.deepEqual(failures, []);
  });

  test('the benchmark programs give the expected r0 and instruction counts', { skip: skipBench }, () => {
    for (const name of readdirSync(bench).filter((n) => /_kernel\.data$|pkt_parse/.test(n))) {
      const parsed = parseDataFile(readFileSync(bench + name, 'utf8'), name);
      if (parsed.kind !== 'test') continue;
      const [a, b] = engines.map((engine) => {
        const vm = new Vm({ engine, budget: 1e8 });
        return vm.run(vm.load(parsed.program), { mem: parsed.mem });
      });
      assert.equal(b.r0, parsed.result, name);
      assert.equal(b.insnsExecuted, a.insnsExecuted, name);
    }
  });

  test('a runaway loop exhausts the budget at the interpreter’s instruction', () => {
    const asm = 'mov %r0, 0\nloop:\nadd %r0, 1\nstxdw [%r10-8], %r0\nja loop\nexit';
    for (const budget of [1, 2, 3, 4, 100, 101, 102, 1000]) {
      const [a, b] = runBoth(asm, { budget });
      assert.ok(a.error instanceof InstructionBudgetError);
      assert.ok(b.error instanceof InstructionBudgetError);
      assert.equal(b.error.slot, a.error.slot, `budget ${budget}`);
      assert.equal(b.error.message, a.error.message);
    }
  });

  test('a loop that just fits its budget completes with the same count', () => {
    const asm = 'mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10, loop\nexit';
    const [a, b] = runBoth(asm, { budget: 22 });
    assert.deepEqual(b, a);
    assert.equal(a.insns, 22);
    const [c, d] = runBoth(asm, { budget: 21 });
    assert.ok(c.error instanceof InstructionBudgetError && d.error instanceof InstructionBudgetError);
    assert.equal(d.error.slot, c.error.slot);
  });

  test('faults: same class, slot and message', () => {
    const programs = [
      'ldxw %r0, [%r1+0]\nexit', // null
      'mov %r1, 1\nlsh %r1, 40\nldxb %r0, [%r1+0]\nexit', // unmapped
      'ldxdw %r0, [%r1+28]\nexit', // crosses the end of the input
      'stw [%r10+0], 1\nexit', // just above the frame: still the stack region? (same answer either way)
      'mov %r0, 0',
      // A base of 2^32 or more faults even where base + offset wraps onto a mapped address (the
      // first stack lies at 0x1000): one with an offset past FIRST_ADDRESS, one below.
      'mov %r2, -8\nldxdw %r0, [%r2+0x1010]\nexit',
      'mov %r2, -8\nstdw [%r2+0x1010], 1\nexit',
      'mov %r2, -8\nldxdw %r0, [%r2+0x1000]\nexit',
      'mov %r2, 1\nlsh %r2, 32\nldxb %r0, [%r2-1]\nexit',
      // The access caches start at the stack; the input's last byte hits, one more crosses its end.
      'mov %r2, %r10\nstdw [%r2-8], 7\nldxdw %r0, [%r2-8]\nexit',
      'ldxb %r0, [%r1+31]\nldxh %r0, [%r1+31]\nexit',
      'ldxb %r0, [%r1+31]\nstb [%r1+31], 1\nldxb %r0, [%r1+31]\nexit',
    ];
    for (const asm of programs) {
      const [a, b] = runBoth(asm, { mem: [...new Uint8Array(32)] });
      assert.deepEqual(Object.keys(b), Object.keys(a), asm);
      if ('error' in a) {
        assert.ok(b.error instanceof VmError, asm);
        assert.equal(b.error.constructor, (a.error as Error).constructor, asm);
        assert.equal(b.error.message, (a.error as Error).message, asm);
      } else assert.deepEqual(b, a, asm);
    }
  });

  test('regions shorter than the access caches take the slow path, with the same results', () => {
    // A 4-byte input is never cached (the caches hold regions of 8 bytes or more).
    const asm =
      'mov %r0, 0\nmov %r3, 0\nloop:\nldxw %r4, [%r1+0]\nadd %r0, %r4\nadd %r3, 1\njlt %r3, 50, loop\nldxb %r4, [%r1+3]\nadd %r0, %r4\nldxh %r4, [%r1+3]\nexit';
    const [a, b] = runBoth(asm, { mem: [1, 2, 3, 4] });
    assert.ok('error' in a && a.error instanceof MemoryAccessError);
    assert.equal((b as { error: Error }).error.message, a.error.message);
    const [c, d] = runBoth(asm.replace('ldxh %r4, [%r1+3]\n', ''), { mem: [1, 2, 3, 4] });
    assert.deepEqual(d, c);
    assert.equal((c as { r0: bigint }).r0, 50n * 0x04030201n + 4n);
  });

  test('near the end of its budget a callee finishes on the interpreter with its frame as it was', () => {
    // f stores to its frame, loops, then reads the store back on a short path beside a long one
    // (the long path sets how early the loop header deopts); the caller's r6 and frame survive.
    const asm = [
      'mov %r6, 7\nstdw [%r10-8], 1000\ncall local f\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nadd %r0, %r6\nexit',
      'f:\nmov %r6, 100\nstdw [%r10-8], 50\nmov %r2, 0\nloop:\nadd %r2, 1\njlt %r2, 20, loop',
      'jne %r2, 20, long\nldxdw %r0, [%r10-8]\nadd %r0, %r2\nexit',
      `long:\n${'add %r0, 1\n'.repeat(10)}exit`,
    ].join('\n');
    const full = runBoth(asm)[0] as { insns: number; r0: bigint };
    assert.equal(full.r0, 50n + 20n + 1000n + 7n);
    // Every budget from "faults at the first instruction" to "just fits": deopts at each point.
    for (let budget = 1; budget <= full.insns; budget++) {
      const [a, b] = runBoth(asm, { budget });
      if ('error' in a) {
        assert.ok(
          a.error instanceof InstructionBudgetError && b.error instanceof InstructionBudgetError,
          `${budget}`,
        );
        assert.equal(b.error.slot, a.error.slot, `${budget}`);
      } else assert.deepEqual(b, a, `${budget}`);
    }
  });

  test('bpf-to-bpf calls: eight frames at most, r6–r9 restored, stacks separate', () => {
    const ok = [
      'mov %r6, 7\nstdw [%r10-8], 1\ncall local f\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nadd %r0, %r6\nexit',
      'f:\nmov %r6, 100\nstdw [%r10-8], 50\nldxdw %r0, [%r10-8]\nexit',
    ].join('\n');
    const [a, b] = runBoth(ok);
    assert.deepEqual(b, a);
    assert.equal(a.r0, 58n);
    const deep = 'call local f\nexit\nf:\ncall local f\nexit';
    const [c, d] = runBoth(deep);
    assert.ok(c.error instanceof VmError && d.error instanceof VmError);
    assert.equal(d.error.message, c.error.message);
  });

  test('a helper that grows the memory mid-run: r0 and counts still read back right', () => {
    const asm = [
      'mov %r6, %r1',
      'lddw %r1, 0x100000000', // patched below: the map's handle
      'stw [%r10-8], 1',
      'mov %r2, %r10',
      'add %r2, -8',
      'mov %r3, %r6',
      'mov %r4, 0',
      'call 2',
      'mov %r7, %r0',
      'ldxb %r0, [%r6+100]',
      'add %r0, %r7',
      'exit',
    ].join('\n');
    const results = engines.map((engine) => {
      const vm = new Vm({ engine });
      // Not preallocated: the update maps the elements' memory during the helper call.
      const map = vm.maps.create({
        name: 'big',
        type: 'HASH',
        keySize: 4,
        valueSize: 1 << 20,
        maxEntries: 4,
        flags: 1,
      });
      const insns = assembleConformance(asm).map((insn) =>
        insn.kind === 'lddw' ? { ...insn, form: { ...insn.form, pseudo: 5 }, src: 5, imm: 0 } : insn,
      );
      const mem = new Uint8Array(1 << 20).fill(7);
      vm.run(vm.load(assembleConformance('mov %r0, 0\nexit')), { mem }); // maps the input region first
      const before = vm.memory.memory.buffer.byteLength;
      const result = vm.run(vm.load(insns as typeof insns, { fdArray: [map] }), { mem });
      assert.ok(vm.memory.memory.buffer.byteLength > before, 'the memory grew during the run');
      return { r0: result.r0, insns: result.insnsExecuted };
    });
    assert.deepEqual(results[1], results[0]);
    assert.equal(results[0].r0, 7n);
  });

  test('verifier facts: proven accesses compile without checks', () => {
    // Reads 8 bytes past the end of the input memory: a fault, unless the "verifier" vouches for it.
    const asm = 'ldxdw %r0, [%r1+32]\nexit';
    const vm = new Vm({ engine: 'jit' });
    const checked = vm.load(assembleConformance(asm));
    assert.throws(() => vm.run(checked, { mem: new Uint8Array(32) }), MemoryAccessError);
    const trusted = vm.load(assembleConformance(asm));
    const facts: VerifierFacts = {
      dead: new Set(),
      safeAccess: new Set([0]),
      constants: new Map(),
      stackDepth: new Map(),
    };
    useVerifierFacts(trusted, facts);
    assert.equal(typeof vm.run(trusted, { mem: new Uint8Array(32) }).r0, 'bigint');
    assert.equal(jitFor(trusted, vm.memory)?.facts, facts);
  });

  test('a verified function zeroes its stack depth at entry, and no more', () => {
    // Reads the slot the last run wrote (root may read uninitialised stack): 0 every run.
    const asm = 'ldxdw %r0, [%r10-16]\nmov %r2, 5\nstxdw [%r10-16], %r2\nexit';
    const insns = assembleConformance(asm);
    const verdict = verify({ insns, progType: 'SOCKET_FILTER', maps: [], caps: 'root' });
    assert.ok(verdict.facts, verdict.error?.message);
    // Linux counts the read as well as the write: `stack depth 16` at log level 4 (measured)
    assert.deepEqual([...verdict.facts.stackDepth], [[0, 16]]);
    const vm = new Vm({ engine: 'jit' });
    const runs = (facts: VerifierFacts) => {
      const program = vm.load(insns);
      useVerifierFacts(program, facts);
      return [0, 1].map(() => vm.run(program, { mem: new Uint8Array(8) }).r0);
    };
    assert.deepEqual(runs(verdict.facts), [0n, 0n]);
    // a depth that leaves the slot out (facts no verifier would give) shows the bytes stay
    assert.deepEqual(runs({ ...verdict.facts, stackDepth: new Map([[0, 8]]) })[1], 5n);
  });
});

describe('JIT on the example objects', () => {
  const packets = readCapture(
    readFileSync(new URL('../../testdata/pcap/sample.pcap', import.meta.url)),
  ).packets;
  for (const name of [
    'xdp_count',
    'socket_filter',
    'tc_classifier',
    'loop',
    'subprog',
    'tail_call',
    'lpm_firewall',
  ]) {
    test(`${name}: every program over every sample packet, as the interpreter`, () => {
      const bytes = readFileSync(new URL(`../../examples/${name}.bpf.o`, import.meta.url));
      const results = engines.map((engine) => {
        const vm = new Vm({ engine, now: () => 1n, random: () => 3 });
        const object = vm.loadObject(bytes);
        const out: unknown[] = [];
        for (const [programName, program] of object.programs) {
          for (const packet of packets) {
            try {
              const r = vm.testRun(program, { data: packet.data });
              out.push([programName, r.retval, [...(r.dataOut ?? [])].join(',')]);
            } catch (error) {
              out.push([programName, (error as Error).message]);
            }
          }
        }
        for (const [mapName, map] of object.vmMaps) {
          const entries: string[] = [];
          let key: Uint8Array | undefined;
          for (let n = 0; n <= map.spec.maxEntries && n < 10_000; n++) {
            key = map.nextKey(key);
            if (!key) break;
            entries.push(`${key.join(',')}=${map.lookup(key)?.join(',')}`);
          }
          out.push([mapName, entries]);
        }
        return out;
      });
      assert.deepEqual(results[1], results[0]);
    });
  }
});
