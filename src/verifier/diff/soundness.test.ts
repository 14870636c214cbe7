/**
 * Soundness: a program our verifier accepts never faults in the VM. Random programs from the
 * differential generator (packet parsing with and without checks, map lookups, stack spills,
 * pointer arithmetic, loops, calls, helpers, ring buffers) are verified as root; each accepted
 * one of a type the VM test-runs is run over random packets on the reference interpreter, where
 * every access is checked against the VM's regions, and on the JIT, which turns the accesses the
 * verifier proved into plain loads and stores. A fault on either engine, or engines that disagree,
 * means the verifier accepted something it should not have (or proved an access it did not).
 *
 * Environment: SOUNDNESS_RUNS (programs, default 150), SOUNDNESS_SEED.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Insn } from '../../isa/instruction.js';
import { useVerifierFacts } from '../../jit/runtime.js';
import type { ProgTypeName } from '../../uapi.js';
import { InstructionBudgetError, UnknownHelperError } from '../../vm/errors.js';
import { TestRunError } from '../../vm/test-run.js';
import { Vm } from '../../vm/vm.js';
import { verify } from '../index.js';
import type { VerifierResult } from '../types.js';
import { type GeneratedProgram, programArbitrary } from './generate.js';

const RUNS = Number(process.env.SOUNDNESS_RUNS ?? 150);
const SEED = Number(process.env.SOUNDNESS_SEED ?? 20261204);

/** Program types `Vm.testRun` runs from packet bytes or a context (see src/vm/support.ts). */
const RUNNABLE = new Set<ProgTypeName>(['XDP', 'SCHED_CLS', 'CGROUP_SKB', 'SOCKET_FILTER', 'RAW_TRACEPOINT']);
/** Helpers whose results depend on more than the program's input (time, randomness, the CPU). */
const NONDETERMINISTIC = new Set([5, 7, 8, 125, 160, 118]);

interface Outcome {
  readonly retval?: number;
  readonly dataOut?: string;
  readonly error?: string;
}

/**
 * Load `p` (already verified: `verdict`) into a fresh VM with its maps, a fixed clock and seeded
 * randomness, give the JIT what the verifier proved, and run `inputs`.
 */
function runAll(
  p: GeneratedProgram,
  verdict: VerifierResult,
  engine: 'jit' | 'interpreter',
  inputs: readonly Uint8Array[],
): Outcome[] | undefined {
  let seed = 1;
  const vm = new Vm({
    engine,
    budget: 2_000_000,
    now: () => 1_000_000n,
    random: () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    },
  });
  const maps = p.maps.map((m, i) =>
    vm.maps.create({
      name: `m${i}`,
      type: m.type,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
    }),
  );
  let program: ReturnType<Vm['loadProgram']>;
  try {
    program = vm.loadProgram({ type: p.type, insns: p.insns, fdArray: maps, verify: false });
  } catch (error) {
    // a helper this VM does not provide (bpf_skb_pull_data…): nothing to run
    if (error instanceof UnknownHelperError) return undefined;
    throw error;
  }
  if (verdict.facts) useVerifierFacts(program.compiled, verdict.facts);
  return inputs.map((bytes): Outcome => {
    try {
      const r =
        p.type === 'RAW_TRACEPOINT'
          ? vm.testRun(program, { ctx: bytes.subarray(0, 96) })
          : vm.testRun(program, { data: bytes });
      return { retval: r.retval, dataOut: Buffer.from(r.dataOut).toString('hex') };
    } catch (error) {
      // The kernel refuses such an input too (too short for the type…), or the run was long.
      if (error instanceof TestRunError || error instanceof InstructionBudgetError) return {};
      return { error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  });
}

const callsNondeterministic = (insns: readonly Insn[]) =>
  insns.some((i) => i.kind === 'call' && i.form.target === 'helper' && NONDETERMINISTIC.has(i.imm));

test(`accepted programs never fault in the VM (${RUNS} random programs, seed ${SEED})`, () => {
  let runnable = 0;
  let accepted = 0;
  let runs = 0;
  const packet = fc.uint8Array({ minLength: 14, maxLength: 160 });
  const details = fc.check(
    fc.property(
      // (not `.filter`: fast-check's filter never ends on this `fc.gen()` arbitrary)
      programArbitrary('root'),
      fc.array(packet, { minLength: 3, maxLength: 6 }),
      (p, inputs) => {
        if (!RUNNABLE.has(p.type)) return;
        runnable++;
        // An IPv4 frame among the random ones, so that parsers get past their first checks.
        const ip = new Uint8Array(64);
        ip.set([0x08, 0x00, 0x45], 12);
        const all = [...inputs, ip];
        const verdict = verify({
          insns: p.insns,
          progType: p.type,
          maps: p.maps,
          caps: 'root',
          progFlags: p.flags,
          logLevel: 0,
        });
        if (!verdict.accepted) return;
        const interp = runAll(p, verdict, 'interpreter', all);
        if (!interp) return;
        accepted++;
        runs += all.length;
        const faults = interp.filter((o) => o.error);
        assert.equal(faults.length, 0, `accepted, then faulted:\n${faults[0]?.error}\n${p.asm}`);
        const jit = runAll(p, verdict, 'jit', all) ?? [];
        const jitFaults = jit.filter((o) => o.error);
        assert.equal(
          jitFaults.length,
          0,
          `accepted, then faulted on the JIT:\n${jitFaults[0]?.error}\n${p.asm}`,
        );
        if (!callsNondeterministic(p.insns)) assert.deepEqual(jit, interp, `the engines disagree:\n${p.asm}`);
      },
    ),
    // no shrinking: each step would verify and run again, and the generated assembly says enough
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
  if (details.failed) {
    const [p] = details.counterexample ?? [];
    assert.fail(
      `${(details.errorInstance as Error)?.message}\n(replay: SOUNDNESS_SEED=${SEED}, ${p?.type} program)`,
    );
  }
  console.log(
    `${runnable} of ${RUNS} programs of test-run types, ${accepted} accepted and run over ${runs} inputs without a fault`,
  );
  // The generator makes many programs acceptable; a handful would make this test say little.
  assert.ok(accepted >= runnable / 5, `only ${accepted} of ${runnable} programs were accepted`);
});
