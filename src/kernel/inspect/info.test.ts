// bpftool's formatted map values (pure: BTF from a committed object, no kernel needed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { btfCodec } from '../../maps/btf-codec.js';
import { loadObjectSpec } from '../../object/object.js';
import { btfFormatter } from './info.js';

const btf = loadObjectSpec(
  new Uint8Array(readFileSync(new URL('../../../testdata/btf/kinds.o', import.meta.url))),
).btf!;
const outer = btf.typesByName('outer').find((t) => t.kind === 'struct')!;

test('btfFormatter: enums by enumerator name (signed, unsigned, 64-bit), numbers when none matches', () => {
  const codec = btfCodec(btf, outer.id);
  const format = btfFormatter(btf, outer.id)!;
  const named = format(
    codec.encode({
      x: 1,
      y: 2,
      z: 3,
      color: -3,
      ucolor: 0x80000000,
      big: 0x123456789abcdefn,
      sbig: -0x100000000n,
    }),
  ) as Record<string, unknown>;
  assert.deepEqual([named.color, named.ucolor, named.big, named.sbig], ['BLUE', 'U_B', 'BIG_B', 'SBIG_A']);
  // Anonymous struct members stay flattened (y, z), as the codec reads them.
  assert.deepEqual([named.x, named.y, named.z], [1, 2, 3]);
  const unnamed = format(codec.encode({ color: 7, big: 3n })) as Record<string, unknown>;
  assert.equal(unnamed.color, 7);
  assert.equal(unnamed.big, 3n);
  assert.equal((format(codec.encode({ color: 5 })) as Record<string, unknown>).color, 'GREEN');
});
