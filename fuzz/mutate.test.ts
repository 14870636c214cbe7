import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputSeed, Rng } from './mutate.js';
import { TARGETS } from './targets.js';

// The parent rebuilds the input a child hung or died on from (seed, index) alone: generation must
// be a pure function of them.
test('every target generates the same input from the same seed and index', () => {
  for (const target of TARGETS) {
    const seeds = target.seeds();
    assert.ok(seeds.length > 0, `${target.name}: no seeds`);
    for (const index of [0, 1, 77, 12345]) {
      const a = target.generate(seeds, new Rng(inputSeed(9, index)));
      const b = target.generate(seeds, new Rng(inputSeed(9, index)));
      assert.deepEqual(a, b, `${target.name} input ${index}`);
    }
    const distinct = new Set(
      Array.from({ length: 50 }, (_, i) =>
        Buffer.from(target.generate(seeds, new Rng(inputSeed(9, i)))).toString('hex'),
      ),
    );
    assert.ok(distinct.size > 25, `${target.name}: only ${distinct.size} distinct inputs of 50`);
  }
});
