// Test vectors on both backends: per-CPU map values written once for every CPU or slot by slot,
// and program paths (absolute as is, relative from the vectors file).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encode } from '../isa/instruction.js';
import { assemble } from '../isa/llvm.js';
import { possibleCpus } from '../kernel/load/map.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { kernelVectorBackend } from '../kernel/vectors.js';
import { parseVectors, runVector, toHex, type VectorBackend } from '../testvec/vectors.js';
import { vmVectorBackend } from './vectors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tsbpf-vectors-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Returns the u32 at offset 0 plus the u32 at offset 8 of per-CPU map[0] key 0 (this CPU's copy). */
const SUM = toHex(
  encode(
    assemble(`
*(u32 *)(r10 - 4) = 0
ld_pseudo r1, 1, 0
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +4
r1 = *(u32 *)(r0 + 0)
r2 = *(u32 *)(r0 + 8)
r1 += r2
r0 = r1
exit`),
  ),
);

/** A 12-byte value (slot size 16): 5 at offset 0, 10 at offset 8. */
const VALUE = '05000000' + '00000000' + '0a000000';

function perCpuCase(name: string, value: string, expected: string, retval: number): string {
  return JSON.stringify({
    name,
    insns_hex: SUM,
    type: 'xdp',
    data: '00'.repeat(14),
    maps: [
      { type: 'percpu_array', key_size: 4, value_size: 12, max_entries: 1, entries: [['00000000', value]] },
    ],
    expect: { retval, maps: [[0, '00000000', expected]] },
  });
}

function run(backend: VectorBackend, lines: string[]) {
  return parseVectors(lines.join('\n')).map((vector) => runVector(backend, vector, () => new Uint8Array()));
}

function backends(): Array<[VectorBackend, number, string | undefined]> {
  const reason = bpfUnavailable();
  return [
    [vmVectorBackend, 2, undefined],
    [kernelVectorBackend, reason ? 0 : possibleCpus(), reason],
  ];
}

describe('per-CPU map values in vectors', () => {
  for (const [backend, cpus, skip] of backends()) {
    test(`${backend.name}: value_size bytes mean every CPU; ncpus × slot bytes mean each CPU`, (t) => {
      if (skip) {
        t.skip(`needs bpf(): ${skip}`);
        return;
      }
      const slot = `${VALUE}00000000`;
      // CPU i holds 5 + i at offset 0: whichever CPU the program runs on, it sees 5 + i + 10.
      const each = Array.from(
        { length: cpus },
        (_, i) => `${(5 + i).toString(16).padStart(2, '0')}${slot.slice(2)}`,
      );
      const outcomes = run(backend, [
        perCpuCase('every CPU', VALUE, VALUE, 15),
        perCpuCase('every CPU, expected slot by slot', VALUE, slot.repeat(cpus), 15),
        perCpuCase('each CPU', each.join(''), each.join(''), 999),
        perCpuCase('a different value on some CPU does not match "every CPU"', each.join(''), VALUE, 999),
        perCpuCase('a value of another length is an error', `${VALUE}00`, VALUE, 15),
      ]);
      assert.deepEqual(
        outcomes.slice(0, 2).map((o) => [o.name, o.error]),
        [
          ['every CPU', null],
          ['every CPU, expected slot by slot', null],
        ],
      );
      // retval 999 never matches, so these fail on retval; the map part must match or not as said.
      // The program saw its own CPU's copy: 5 + cpu + 10.
      const seen = outcomes[2].retval ?? -1;
      assert.ok(seen >= 15 && seen < 15 + cpus, `retval ${seen}`);
      assert.doesNotMatch(outcomes[2].error ?? '', /map 0/);
      assert.match(outcomes[3].error ?? '', /map 0 key 00000000/);
      assert.match(
        outcomes[4].error ?? '',
        /per-CPU value is 12 bytes \(every CPU\) or \d+ × 16 \(each CPU\), not 13/,
      );
    });
  }
});

describe('program paths', () => {
  test('an absolute program path is used as is, a relative one from the vectors file', () => {
    const object = join(root, 'examples/xdp_count.bpf.o');
    const udp =
      '000000000000000000000000080045000029a04f400040119c727f0000017f000001a16c14e90015fe287564703420646174616772616d';
    const file = join(work, 'paths.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({
          name: 'absolute',
          program: `${object}:xdp_count_protocols`,
          data: udp,
          expect: { retval: 2 },
        }),
        JSON.stringify({ name: 'relative', program: 'missing.bpf.o', data: udp, expect: { retval: 2 } }),
      ].join('\n'),
    );
    const result = spawnSync(process.execPath, [join(root, 'bin/tsbpf.js'), 'test', file, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    const lines = result.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { name: string; pass: boolean; error: string | null });
    assert.equal(lines[0].pass, true, lines[0].error ?? '');
    assert.equal(lines[1].pass, false);
    assert.ok(lines[1].error?.includes(join(work, 'missing.bpf.o')), lines[1].error ?? '');
  });
});
