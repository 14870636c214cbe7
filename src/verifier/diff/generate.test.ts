import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode } from '../../isa/instruction.js';
import { decodeCase } from './corpus.js';
import { GENERATED_TYPES, generateCases } from './generate.js';

describe('generateCases', () => {
  it('is reproducible from its seed', () => {
    const a = generateCases({ caps: 'root', count: 50, seed: 42 });
    const b = generateCases({ caps: 'root', count: 50, seed: 42 });
    const c = generateCases({ caps: 'root', count: 50, seed: 43 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('writes decodable programs that end in exit, with their maps, for every mode', () => {
    for (const caps of ['root', 'bpf', 'unpriv'] as const) {
      for (const c of generateCases({ caps, count: 100, seed: 7 })) {
        const decoded = decodeCase(c);
        const insns = decode(decoded.insns);
        assert.ok(
          insns.some((insn) => insn.kind === 'exit'),
          c.name,
        );
        assert.equal(c.caps, caps);
        // Every map an lddw names exists.
        for (const insn of insns) {
          if (insn.kind === 'lddw' && insn.src === 5) assert.ok(insn.imm < decoded.maps.length, c.name);
        }
      }
    }
  });

  it('covers every program type and a spread of categories', () => {
    const cases = generateCases({ caps: 'root', count: 400, seed: 1 });
    const types = new Set(cases.map((c) => c.type.toUpperCase()));
    for (const type of GENERATED_TYPES) assert.ok(types.has(type), `no ${type}`);
    const categories = new Set(cases.flatMap((c) => c.category!.split('+')));
    for (const cat of [
      'packet',
      'map',
      'stack',
      'bounds',
      'ptr',
      'ctx',
      'loop',
      'call',
      'helper',
      'ringbuf',
    ]) {
      assert.ok(categories.has(cat), `no ${cat}`);
    }
  });
});
