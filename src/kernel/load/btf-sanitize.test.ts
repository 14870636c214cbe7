// The BTF sanitiser: each row of the feature table rewrites only what it must, keeps type ids,
// and (where bpf() is permitted) the kernel accepts the result.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Btf, parseBtf, writeBtf } from '../../object/btf.js';
import { loadObjectSpec } from '../../object/object.js';
import { bpfUnavailable } from '../sys/availability.js';
import { loadBtf } from './btf.js';
import {
  ALL_BTF_FEATURES,
  BTF_FEATURES,
  type BtfFeatures,
  fixupExterns,
  probeBtfFeatures,
  rawBtf,
  sanitizeBtf,
} from './btf-sanitize.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const specOf = (file: string) => loadObjectSpec(new Uint8Array(readFileSync(`${root}${file}`)));

const unavailable = bpfUnavailable();

const kinds = (btf: Btf) => new Set(btf.types.map((t) => t.kind));

test('every probe blob parses as valid BTF', () => {
  for (const row of BTF_FEATURES) parseBtf(rawBtf(row.probe.types, row.probe.strings));
});

test('nothing changes on a kernel with every feature', () => {
  const btf = specOf('examples/execsnoop.bpf.o').btf!;
  const result = sanitizeBtf(btf, ALL_BTF_FEATURES);
  assert.equal(result.btf, btf);
  assert.deepEqual(result.changes, []);
});

test('without DATASEC/FLOAT/TYPE_TAG/ENUM64 those kinds are gone and ids are kept', () => {
  const btf = specOf('examples/execsnoop.bpf.o').btf!;
  const features: BtfFeatures = {
    ...ALL_BTF_FEATURES,
    datasec: false,
    float: false,
    typeTag: false,
    enum64: false,
    declTag: false,
  };
  const { btf: out, changes } = sanitizeBtf(btf, features);
  const left = kinds(parseBtf(writeBtf(out)));
  for (const kind of ['var', 'datasec', 'float', 'type_tag', 'enum64', 'decl_tag'] as const)
    assert.ok(!left.has(kind), kind);
  assert.ok(out.types.length >= btf.types.length);
  btf.types.forEach((t, i) => {
    assert.equal(out.types[i]!.id, t.id);
  });
  assert.ok(
    changes.some((c) => c.startsWith('datasec (since 5.2)')),
    changes.join('; '),
  );
});

test('extern fix-ups: .kconfig and .ksyms DATASECs get sizes, VARs and no extern linkage', () => {
  const spec = specOf('testdata/kernel/ksyms.bpf.o');
  const kconfig = new Map(
    spec.externs
      .filter((e) => e.kind === 'kconfig')
      .map((e) => [e.name, { offset: e.offset!, size: e.size! }]),
  );
  const fixed = fixupExterns(spec.btf!, { kconfig, kconfigSize: 8 });
  for (const t of fixed.types) {
    if (t.kind === 'var' || t.kind === 'func') assert.notEqual(t.linkage, 'extern', t.name);
    if (t.kind === 'datasec' && (t.name === '.ksyms' || t.name === '.kconfig')) {
      assert.ok(t.size > 0, t.name);
      for (const v of t.vars) assert.equal(fixed.typeById(v.typeId).kind, 'var');
    }
  }
});

test('this kernel: probes and the sanitised BTF of every example loads', (t) => {
  if (unavailable) {
    t.skip(unavailable);
    return;
  }
  const features = probeBtfFeatures();
  assert.equal(features.btf, true);
  const old: BtfFeatures = {
    ...ALL_BTF_FEATURES,
    datasec: false,
    qmarkDatasec: false,
    float: false,
    declTag: false,
    typeTag: false,
    enum64: false,
    tagKindFlag: false,
    globalFunc: false,
  };
  for (const file of ['examples/execsnoop.bpf.o', 'examples/loop.bpf.o', 'examples/subprog.bpf.o']) {
    const spec = specOf(file);
    const fixed = fixupExterns(spec.btf!, { kconfig: new Map(), kconfigSize: 0 });
    loadBtf(writeBtf(sanitizeBtf(fixed, old).btf)).close();
  }
});
