/** Static stack liveness (`computeLiveStack`): which slots of the running frame may still be read. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble } from '../isa/index.js';
import { computeLiveStack, toSlots } from './cfg.js';

const liveAt = (asm: string) => {
  const live = computeLiveStack(toSlots(assemble(asm)));
  return (slot: number, spi: number) => ((live[2 * slot + (spi >> 5)] >>> (spi & 31)) & 1) === 1;
};

describe('computeLiveStack', () => {
  it('a slot read later through r10 is live; after its last read it is dead', () => {
    const live = liveAt('*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)\nr0 = 0\nexit');
    assert.equal(live(1, 0), true);
    assert.equal(live(2, 0), false);
    assert.equal(live(1, 1), false);
  });

  it('an aligned 8-byte store overwrites its slot; a narrower one does not', () => {
    assert.equal(liveAt('*(u64 *)(r10 - 16) = r1\nr0 = *(u64 *)(r10 - 16)\nexit')(0, 1), false);
    assert.equal(liveAt('*(u32 *)(r10 - 16) = r1\nr0 = *(u64 *)(r10 - 16)\nexit')(0, 1), true);
  });

  it('every slot is live before a call or an access through another register', () => {
    const call = liveAt('r1 = r10\ncall 5\nr0 = 0\nexit');
    assert.equal(call(0, 63), true);
    assert.equal(call(2, 63), false);
    const via = liveAt('r1 = r10\nr0 = *(u64 *)(r1 - 8)\nexit');
    assert.equal(via(1, 40), true);
  });

  it('the slots of both branches count', () => {
    const live = liveAt('if r1 == 0 goto l\nr0 = *(u64 *)(r10 - 8)\nexit\nl:\nr0 = *(u64 *)(r10 - 24)\nexit');
    assert.equal(live(0, 0), true);
    assert.equal(live(0, 2), true);
    assert.equal(live(0, 1), false);
  });
});
