import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decode } from '../isa/instruction.js';
import { loadObjectSpec } from '../object/object.js';
import { decodeCase, parseCorpus } from './diff/corpus.js';
import { verify } from './index.js';
import { regText } from './log.js';
import { verifierInputOf } from './object.js';
import { newReg } from './scalar.js';
import { tnumConst } from './tnum.js';

const root = join(import.meta.dirname, '../..');
const goldenDir = join(root, 'testdata/verifier/logs');
const cases = parseCorpus(readFileSync(join(root, 'testdata/verifier/kernel-style.jsonl'), 'utf8'));

/** As recorded: kernel addresses of map loads masked, precision lines dropped. */
const normalize = (log: string): string =>
  `${log
    .replace(/0x[0-9a-f]{16}\b/g, '<addr>')
    .replace(/map\[idx:\d+\]/g, '<addr>')
    .replace(/<addr> +;/g, '<addr> ;')
    .split('\n')
    .filter((l) => !l.startsWith('mark_precise:'))
    .join('\n')
    .trimEnd()}\n`;

const ours = (name: string, level: 1 | 2): string => {
  const c = cases.find((x) => x.name === name);
  assert.ok(c, `no case '${name}' in kernel-style.jsonl`);
  const d = decodeCase(c);
  const maps = d.maps.map((m, i) => ({ ...m, name: m.name ?? `m${i}` }));
  return verify({
    insns: decode(d.insns),
    progType: d.progType,
    maps,
    caps: 'root',
    progFlags: d.flags,
    logLevel: level,
  }).log;
};

describe('verifier log: the kernel 6.18 logs recorded in testdata/verifier/logs', () => {
  for (const file of readdirSync(goldenDir).filter((f) => f.endsWith('.txt'))) {
    it(file, () => {
      const text = readFileSync(join(goldenDir, file), 'utf8');
      const [header, ...rest] = text.split('\n');
      const name = header.replace(/^# kernel-style\.jsonl: /, '');
      const level = file.endsWith('.level2.txt') ? 2 : 1;
      assert.equal(normalize(ours(name, level)), rest.join('\n'));
    });
  }
});

describe('verifier log: the kernel 6.18 logs of our objects in testdata/verifier/logs/btf', () => {
  const dir = join(goldenDir, 'btf');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt'))) {
    it(file, () => {
      const text = readFileSync(join(dir, file), 'utf8');
      const [header, ...rest] = text.split('\n');
      const [object, prog] = header.replace(/^# /, '').split(': ');
      const spec = loadObjectSpec(new Uint8Array(readFileSync(join(dir, object))));
      const program = spec.programs.find((p) => p.name === prog);
      assert.ok(program, `no program ${prog} in ${object}`);
      const level = file.endsWith('.level2.txt') ? 2 : 1;
      const input = verifierInputOf(spec, program, { logLevel: level });
      assert.ok(input);
      assert.equal(normalize(verify(input).log), rest.join('\n'));
    });
  }
});

describe('verifier log: register printing', () => {
  it('prints constants in decimal within 16 bits and in hex beyond', () => {
    const r = newReg('scalar');
    r.varOff = tnumConst(5n);
    assert.equal(regText(r, []), '5');
    r.varOff = tnumConst(0x12345n);
    assert.equal(regText(r, []), '0x12345');
    r.varOff = tnumConst(BigInt.asUintN(64, -1n));
    assert.equal(regText(r, []), '-1');
  });
});

describe('verifier log: trace', () => {
  it('records each processed instruction with the branch a conditional jump took', () => {
    const c = cases.find((x) => x.name === 'pkt: xdp checked read');
    assert.ok(c);
    const d = decodeCase(c);
    const result = verify({ insns: decode(d.insns), progType: d.progType, maps: d.maps, logLevel: 1 });
    const trace = result.trace ?? [];
    assert.equal(trace.length, result.insnsProcessed);
    const jumps = trace.filter((t) => t.insn === 4);
    assert.deepEqual(
      jumps.map((t) => t.branch),
      ['fallthrough'],
    );
    const resumed = trace.find((t) => t.from === 4);
    assert.equal(resumed?.insn, 6);
    assert.equal(trace[0].regs[1], 'ctx()');
    assert.equal(trace[0].regs[2], 'pkt(r=0)');
  });
  it('is absent without a log level', () => {
    const c = cases[0];
    const d = decodeCase(c);
    assert.equal(verify({ insns: decode(d.insns), progType: d.progType, maps: d.maps }).trace, undefined);
  });
});
