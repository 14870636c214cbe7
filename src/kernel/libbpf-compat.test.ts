// Loading what libbpf loads (testdata/fidelity/*.bpf.c): hidden subprograms static in the BTF the
// kernel sees, bpf_ksym_exists() of a weak kfunc the kernel has, and `tsbpf load --json` reporting
// every program when a map cannot be created.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { u32 } from '../maps/codec.js';
import { loadObjectSpec } from '../object/object.js';
import { loadObject } from './load/object.js';
import { bpfUnavailable } from './sys/availability.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string) => `${root}testdata/fidelity/${name}.bpf.o`;
const reason = bpfUnavailable();
const skip = reason ? `needs bpf(): ${reason}` : false;

describe('loading what libbpf loads', () => {
  test('a __weak __hidden subprogram is global in the object and verified as static', { skip }, () => {
    const spec = loadObjectSpec(new Uint8Array(readFileSync(fixture('libbpf_compat'))));
    const func = spec.btf!.typesByName('next_of').find((t) => t.kind === 'func');
    assert.equal(func?.kind === 'func' && func.linkage, 'global');
    const kernel = loadObject(spec);
    try {
      const loaded = kernel.programs.get('hidden_subprog')!;
      assert.ok(loaded.program, loaded.error?.message);
      assert.equal(loaded.program.testRun({ data: new Uint8Array(64) }).retval, 2);
    } finally {
      kernel.close();
    }
  });

  test('bpf_ksym_exists() is true for a weak kfunc the kernel has, false for one it lacks', { skip }, () => {
    const kernel = loadObject(fixture('libbpf_compat'));
    try {
      const loaded = kernel.programs.get('weak_kfunc')!;
      assert.ok(loaded.program, loaded.error?.message);
      loaded.program.testRun({ data: new Uint8Array(64) });
      const bss = kernel.maps.get('.bss')!.get(u32.encode(0))!;
      const view = new DataView(bss.buffer, bss.byteOffset);
      assert.deepEqual([view.getInt32(0, true), view.getInt32(4, true)], [1, 0]);
    } finally {
      kernel.close();
    }
  });

  test('load --json reports every program when a map cannot be created', { skip }, () => {
    const result = spawnSync(
      process.execPath,
      [`${root}bin/tsbpf.js`, 'load', fixture('bad_map'), '--json'],
      {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    assert.equal(result.status, 1, result.stderr);
    const rows = JSON.parse(result.stdout) as Array<{ program: string; accepted: boolean; error: string }>;
    assert.deepEqual(
      rows.map((r) => [r.program, r.accepted]),
      [
        ['uses_unsized', false],
        ['plain_pass', false],
      ],
    );
    for (const row of rows) assert.match(row.error, /^not loaded: map 'unsized': create HASH: EINVAL/);
  });
});
