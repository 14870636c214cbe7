import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  BpfCmd,
  bpfCmdName,
  COMMAND_LAYOUTS,
  cString,
  decodeStruct,
  encodeAttr,
  encodeStruct,
  LAYOUTS,
  MAP_CREATE,
  readField,
} from './attr.js';

/** Where the compiler is, or why the header check cannot run. */
function findCompiler(): { cc: string } | { skip: string } {
  for (const cc of ['cc', 'gcc', 'clang']) {
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
      return { cc };
    } catch {
      // try the next one
    }
  }
  return { skip: 'no C compiler (cc, gcc, clang) to check offsets against linux/bpf.h' };
}

/** C that prints `name offset size` per field (`name byte bit` for bitfields). */
function offsetProgram(): string {
  const headers = new Set(Object.values(LAYOUTS).map((l) => l.header));
  const lines = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    '#include <string.h>',
    ...[...headers].map((h) => `#include <${h}>`),
    'int main(void) {',
  ];
  for (const [layoutName, layout] of Object.entries(LAYOUTS)) {
    lines.push(`  printf("${layoutName}.sizeof %zu 0\\n", sizeof(${layout.cType}));`);
    for (const [name, field] of Object.entries(layout.fields)) {
      const path = layout.prefix + name;
      const key = `${layoutName}.${name}`;
      if (field.kind === 'bit') {
        lines.push(
          `  { ${layout.cType} v; memset(&v, 0, sizeof v); v.${path} = 1; const unsigned char *p = (const unsigned char *)&v;`,
          `    for (size_t i = 0; i < sizeof v; i++) if (p[i]) { printf("${key} %zu %d\\n", i, __builtin_ctz(p[i])); break; } }`,
        );
      } else {
        lines.push(
          `  printf("${key} %zu %zu\\n", offsetof(${layout.cType}, ${path}), sizeof(((${layout.cType} *)0)->${path}));`,
        );
      }
    }
  }
  for (const name of Object.keys(BpfCmd)) lines.push(`  printf("cmd.${name} %d 0\\n", (int)BPF_${name});`);
  lines.push('  return 0;', '}');
  return lines.join('\n');
}

test('every layout offset and size matches the kernel header', (t) => {
  const compiler = findCompiler();
  if ('skip' in compiler) {
    t.skip(compiler.skip);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-attr-'));
  try {
    writeFileSync(join(dir, 'offsets.c'), offsetProgram());
    execFileSync(compiler.cc, ['-o', join(dir, 'offsets'), join(dir, 'offsets.c')], { stdio: 'pipe' });
    const output = execFileSync(join(dir, 'offsets'), { encoding: 'utf8' });
    const actual = new Map(
      output
        .trim()
        .split('\n')
        .map((line) => {
          const [key, a, b] = line.split(' ');
          return [key, [Number(a), Number(b)] as const];
        }),
    );
    let checked = 0;
    for (const [layoutName, layout] of Object.entries(LAYOUTS)) {
      const sizeof = actual.get(`${layoutName}.sizeof`)?.[0];
      if (layout.partial) {
        assert.ok(layout.size <= (sizeof ?? 0), `${layoutName}: ${layout.size} bytes exceed ${layout.cType}`);
      } else {
        assert.equal(layout.size, sizeof, `sizeof(${layout.cType})`);
      }
      for (const [name, field] of Object.entries(layout.fields)) {
        const got = actual.get(`${layoutName}.${name}`);
        assert.ok(got, `${layoutName}.${name} missing from the C output`);
        if (field.kind === 'bit') {
          assert.deepEqual([field.offset, field.bit], got, `${layoutName}.${name}: [byte, bit]`);
        } else {
          assert.deepEqual([field.offset, field.size], got, `${layoutName}.${name}: [offset, size]`);
        }
        checked++;
      }
    }
    for (const [name, value] of Object.entries(BpfCmd)) {
      assert.equal(value, actual.get(`cmd.${name}`)?.[0], `BPF_${name}`);
    }
    assert.ok(checked > 150, `checked ${checked} fields`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MAP_CREATE encodes to the exact bytes of union bpf_attr', () => {
  const attr = encodeAttr(
    'MAP_CREATE',
    {
      map_type: 1,
      key_size: 4,
      value_size: 8,
      max_entries: 0x100,
      map_flags: 1,
      map_name: 'counts',
      map_extra: 0x0102030405060708n,
    },
    () => 0n,
  );
  assert.equal(attr.length, 72);
  const expected = new Uint8Array(72);
  expected.set([1, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0], 0);
  expected.set(new TextEncoder().encode('counts'), 28);
  expected.set([8, 7, 6, 5, 4, 3, 2, 1], 64);
  assert.deepEqual(attr, expected);
});

test('names keep their NUL: a 16-byte name is cut to 15', () => {
  const attr = encodeStruct(MAP_CREATE, { map_name: 'abcdefghijklmnopqrstuvwxyz' }, () => 0n);
  assert.equal(readField(MAP_CREATE, attr, 'map_name'), 'abcdefghijklmno');
  assert.equal(attr[28 + 15], 0);
});

test('pointer fields take the address the Sys gives a buffer', () => {
  const key = new Uint8Array(4);
  const attr = encodeAttr('MAP_LOOKUP_ELEM', { map_fd: 7, key, value: 0xdead_beefn, flags: 2 }, (b) =>
    b === key ? 0x1122334455667788n : 0n,
  );
  assert.equal(attr.length, 32);
  const view = new DataView(attr.buffer);
  assert.equal(view.getUint32(0, true), 7);
  assert.equal(view.getBigUint64(8, true), 0x1122334455667788n);
  assert.equal(view.getBigUint64(16, true), 0xdeadbeefn);
  assert.equal(view.getBigUint64(24, true), 2n);
});

test('decodeStruct reads every field back', () => {
  const layout = COMMAND_LAYOUTS.PROG_TEST_RUN;
  const attr = encodeStruct(
    layout,
    { prog_fd: 3, retval: 0xffffffff, repeat: 10, data_in: 0x1000n },
    () => 0n,
  );
  const decoded = decodeStruct(layout, attr);
  assert.equal(decoded.prog_fd, 3);
  assert.equal(decoded.retval, 0xffffffff);
  assert.equal(decoded.repeat, 10);
  assert.equal(decoded.data_in, 0x1000n);
  assert.equal(decoded.cpu, 0);
});

test('bitfields set and clear one bit', () => {
  const layout = LAYOUTS.PERF_EVENT_ATTR;
  const attr = encodeStruct(layout, { disabled: true, freq: true, size: layout.size }, () => 0n);
  assert.equal(attr[40], 1);
  assert.equal(attr[41], 4);
  assert.equal(readField(layout, attr, 'freq'), true);
  assert.equal(readField(layout, attr, 'inherit'), false);
});

test('an unknown field is a TypeError, not a silent zero', () => {
  assert.throws(
    () => encodeStruct(MAP_CREATE, { nope: 1 } as unknown as Parameters<typeof encodeStruct>[1], () => 0n),
    TypeError,
  );
});

test('command names and C strings', () => {
  assert.equal(bpfCmdName(BpfCmd.PROG_LOAD), 'PROG_LOAD');
  assert.equal(bpfCmdName(99), 'cmd 99');
  assert.deepEqual(cString('GPL'), new Uint8Array([71, 80, 76, 0]));
});
