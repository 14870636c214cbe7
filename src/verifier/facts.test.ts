/**
 * What the verifier hands the JIT: which loads and stores it proved in bounds, which code is dead,
 * which registers an instruction reads are one constant on every path, each function's stack depth.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble } from '../isa/index.js';
import { verify } from './index.js';

describe('verifier facts', () => {
  it('lists stack, packet and map value accesses as proven, context loads not', () => {
    const insns = assemble(`
      r2 = *(u32 *)(r1 + 4)
      r1 = *(u32 *)(r1 + 0)
      r3 = r1
      r3 += 14
      if r3 > r2 goto +9
      r0 = *(u8 *)(r1 + 12)
      *(u32 *)(r10 - 4) = r0
      r2 = r10
      r2 += -4
      r1 = map[idx:0]
      call 1
      if r0 == 0 goto +1
      r0 = *(u64 *)(r0 + 0)
      r0 = 2
      exit
    `);
    const result = verify({
      insns,
      progType: 'XDP',
      maps: [{ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }],
    });
    assert.equal(result.accepted, true, result.error?.message);
    const text = (k: number) => `${k}`;
    assert.deepEqual([...(result.facts?.safeAccess ?? [])].sort((a, b) => a - b).map(text), ['5', '6', '12']);
    assert.equal(result.facts?.dead.size, 0);
  });

  it('gives no facts for a rejected program', () => {
    const result = verify({
      insns: assemble('r1 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r1 + 0)\nr0 = 0\nexit'),
      progType: 'XDP',
    });
    assert.equal(result.accepted, false);
    assert.equal(result.facts, undefined);
  });

  /** The constants of a root socket filter, as `insn: rN=value …` lines. */
  const constants = (asm: string, progFlags = 0) => {
    const result = verify({ insns: assemble(asm), progType: 'SOCKET_FILTER', caps: 'root', progFlags });
    assert.ok(result.facts, result.error?.message);
    return [...result.facts.constants]
      .sort(([a], [b]) => a - b)
      .map(([k, regs]) => `${k}: ${[...regs].map(([r, v]) => `r${r}=${v}`).join(' ')}`);
  };

  it('names the registers an instruction reads that hold one constant', () => {
    assert.deepEqual(constants('r2 = 5\nr3 = r2\nr3 += 1\nr0 = r3\nexit'), [
      '1: r2=5',
      '2: r3=5',
      '3: r3=6',
      '4: r0=6',
    ]);
  });

  it('keeps a constant two explored paths agree on, drops one they do not', () => {
    // r2 is 1 on both paths to `l`; r0 is unknown (bpf_get_prandom_u32)
    assert.deepEqual(constants('call 7\nr2 = 1\nif r0 > 3 goto l\nr3 = 2\nl:\nr0 = r2\nexit'), [
      '4: r2=1',
      '5: r0=1',
    ]);
    // a loop's counter varies at the loop's test, and is one value after it
    assert.deepEqual(constants('r6 = 0\nl:\nr6 += 1\nif r6 < 3 goto l\nr0 = r6\nexit'), [
      '3: r6=3',
      '4: r0=3',
    ]);
  });

  it('drops what follows a pruned state: its registers were never walked', () => {
    // With BPF_F_TEST_STATE_FREQ every prune point is a checkpoint. The second path reaches `l`
    // with r2 = 1, not precise there, so it is pruned against the first path's state (r2 = 2)
    // without being walked on: `r3 = r2` must not claim r2 = 2.
    const asm = 'call 7\nr2 = 1\nif r0 > 3 goto l\nr2 = 2\nl:\nr3 = r2\nr0 = 0\nexit';
    const verdict = verify({ insns: assemble(asm), progType: 'SOCKET_FILTER', caps: 'root', progFlags: 8 });
    assert.equal(verdict.insnsProcessed, 8, 'the second path was pruned at l');
    assert.deepEqual(constants(asm, 8), []);
    // without the flag both paths are walked (no checkpoint at l yet) and disagree the same way
    assert.deepEqual(constants(asm), ['6: r0=0']);
    // in a callee, and what follows its return in the caller
    const call = `call 7\nr1 = r0\ncall f\nr0 = 0\nexit\nf:\n${asm.replace('r0 > 3', 'r1 > 3').replace('call 7\n', '')}`;
    assert.deepEqual(constants(call, 8), []);
  });

  it('gives each function its stack depth, reads counted as Linux counts them', () => {
    const result = verify({
      insns: assemble(
        'r1 = *(u64 *)(r10 - 16)\ncall f\nr0 = 0\nexit\nf:\n*(u64 *)(r10 - 24) = r1\nr0 = 0\nexit',
      ),
      progType: 'SOCKET_FILTER',
      caps: 'root',
    });
    assert.ok(result.facts, result.error?.message);
    assert.deepEqual(
      [...result.facts.stackDepth],
      [
        [0, 16],
        [4, 24],
      ],
    );
  });
});
