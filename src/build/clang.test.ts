import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encode } from '../isa/instruction.js';
import { loadObjectSpec } from '../object/object.js';
import { BuildError, buildObject } from './clang.js';

const root = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'tsbpf-build-'));
after(() => rmSync(work, { recursive: true, force: true }));
const clang = spawnSync('clang-19', ['--version']).error ? 'clang-19 not installed' : false;
const vmlinux = existsSync('/sys/kernel/btf/vmlinux') ? false : '/sys/kernel/btf/vmlinux not readable';

test('builds the examples with our vmlinux.h to the same programs as the committed objects', {
  skip: clang || vmlinux,
}, () => {
  for (const name of ['execsnoop', 'hello', 'xdp_count', 'subprog']) {
    const output = join(work, `${name}.bpf.o`);
    const result = buildObject(join(root, `examples/${name}.bpf.c`), {
      output,
      cpu: 'v4',
      cacheDir: join(work, 'cache'),
    });
    const built = loadObjectSpec(new Uint8Array(readFileSync(result.output)));
    const committed = loadObjectSpec(new Uint8Array(readFileSync(join(root, `examples/${name}.bpf.o`))));
    assert.deepEqual(
      built.programs.map((p) => [p.name, p.section, encode(p.insns)]),
      committed.programs.map((p) => [p.name, p.section, encode(p.insns)]),
      name,
    );
    assert.deepEqual(
      built.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]),
      committed.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]),
    );
    if (name === 'execsnoop') assert.ok(result.vmlinuxHeader?.endsWith('vmlinux.h'));
  }
});

test('a compile error is a BuildError carrying clang diagnostics', { skip: clang }, () => {
  const source = join(work, 'broken.bpf.c');
  writeFileSync(
    source,
    '#include <linux/types.h>\n#include <tsbpf/bpf_helpers.h>\nSEC("xdp") int f(void *ctx) { return undefined_thing; }\n',
  );
  assert.throws(
    () => buildObject(source, { output: join(work, 'broken.o') }),
    (e: unknown) =>
      e instanceof BuildError && /undefined_thing/.test(e.diagnostics) && /broken\.bpf\.c/.test(e.message),
  );
});

test('a missing clang is a clear BuildError', () => {
  const source = join(work, 'x.bpf.c');
  writeFileSync(source, 'int x;\n');
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.throws(() => buildObject(source, { clang: 'no-such-clang' }), /no clang found/);
  } finally {
    process.env.PATH = saved;
  }
});
