/**
 * What the verifier hands the JIT: which loads and stores it proved in bounds, which code is dead.
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
});
