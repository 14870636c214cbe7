// Loading whole objects into the running kernel, checked against bpftool (libbpf) as an oracle.
// Every test skips, with the reason printed, when bpf() is not permitted here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { u32, u64 } from '../../maps/codec.js';
import { BpfMap } from '../../maps/map.js';
import { MapError } from '../../maps/ops.js';
import { loadObjectSpec } from '../../object/object.js';
import { bpfUnavailable } from '../sys/availability.js';
import { VerifierError } from '../sys/errors.js';
import { readKernelConfig } from './kconfig.js';
import type { KernelMapOps } from './map.js';
import { insnsProcessed, kernelMapName, loadObject } from './object.js';
import { openPinnedProgram } from './program.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const unavailable = bpfUnavailable();

const bpftool = spawnSync('bpftool', ['version'], { encoding: 'utf8' }).status === 0;

function kernelTest(name: string, fn: (t: TestContext) => void | Promise<void>): void {
  test(name, (t) => {
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    return fn(t);
  });
}

/** Every object the oracle comparison covers. */
const OBJECTS = [
  ...readdirSync(join(root, 'examples'))
    .filter((f) => f.endsWith('.bpf.o'))
    .map((f) => `examples/${f}`),
  ...readdirSync(join(root, 'testdata/object'))
    .filter((f) => f.endsWith('.bpf.o'))
    .map((f) => `testdata/object/${f}`),
  ...readdirSync(join(root, 'testdata/kernel'))
    .filter((f) => f.endsWith('.bpf.o'))
    .map((f) => `testdata/kernel/${f}`),
];

type Verdict = 'accepted' | 'rejected' | 'unknown';

/**
 * bpftool's verdict per program. `prog loadall` pins every program when all load; when one
 * fails, libbpf names it (`prog 'x': failed to load`) and has loaded the ones before it in
 * object order (the same order as ObjectSpec.programs); the ones after are not tried.
 */
function bpftoolVerdicts(
  file: string,
  programs: readonly string[],
): {
  verdicts: Map<string, Verdict>;
  verifiedInsns: Map<string, number>;
} {
  const pin = `/sys/fs/bpf/tsbpf_oracle_${process.pid}`;
  rmSync(pin, { recursive: true, force: true });
  const run = spawnSync('bpftool', ['prog', 'loadall', join(root, file), pin], { encoding: 'utf8' });
  const verdicts = new Map<string, Verdict>();
  const verifiedInsns = new Map<string, number>();
  try {
    if (run.status === 0) {
      for (const name of programs) {
        verdicts.set(name, 'accepted');
        const program = openPinnedProgram(join(pin, name));
        verifiedInsns.set(name, program.info().verifiedInsns);
        program.close();
      }
    } else {
      const failed = /libbpf: prog '([^']+)': failed to load/.exec(run.stderr)?.[1];
      assert.ok(failed, `bpftool failed without naming a program:\n${run.stderr}`);
      const at = programs.indexOf(failed);
      programs.forEach((name, i) => {
        verdicts.set(name, i < at ? 'accepted' : i === at ? 'rejected' : 'unknown');
      });
    }
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
  return { verdicts, verifiedInsns };
}

for (const file of OBJECTS) {
  kernelTest(`${file}: every program gets bpftool's verdict`, (t) => {
    if (!bpftool) {
      t.skip('bpftool is not installed');
      return;
    }
    const object = loadObject(join(root, file));
    try {
      const names = [...object.programs.keys()];
      const oracle = bpftoolVerdicts(file, names);
      const rows: string[] = [];
      for (const [name, loaded] of object.programs) {
        const ours: Verdict = loaded.program ? 'accepted' : 'rejected';
        const theirs = oracle.verdicts.get(name)!;
        rows.push(`${name}: ours ${ours}, bpftool ${theirs}`);
        if (theirs !== 'unknown') assert.equal(ours, theirs, `${name}: ${loaded.error?.message ?? ''}`);
        // The same instructions reach the same verifier: the same work.
        const verified = oracle.verifiedInsns.get(name);
        if (verified !== undefined) assert.equal(loaded.insnsProcessed, verified, name);
      }
      t.diagnostic(rows.join('; '));
    } finally {
      object.close();
    }
  });
}

kernelTest('a rejected program carries the failing instruction, its source line and the log', () => {
  const object = loadObject(join(root, 'testdata/kernel/broken.bpf.o'));
  try {
    assert.ok(object.programs.get('xdp_ok')?.program, 'the good program still loads');
    const error = object.programs.get('xdp_unchecked')?.error;
    assert.ok(error instanceof VerifierError, String(error));
    // The instruction that loads through the unchecked pointer: the first whose source line is
    // the FAULT line and that is a load.
    const spec = loadObjectSpec(readFileSync(join(root, 'testdata/kernel/broken.bpf.o')));
    const program = spec.programs.find((p) => p.name === 'xdp_unchecked')!;
    const faultIndex = program.insns.findIndex(
      (insn, i) => program.lines[i]?.text.includes('FAULT') && insn.kind === 'ldx',
    );
    assert.equal(error.insnIndex, program.insns[faultIndex]!.slot);
    assert.match(error.insnText ?? '', /r1 = \*\(u32 \*\)\(r1 \+0\)/);
    assert.equal(error.source?.line, 27);
    assert.match(error.source?.file ?? '', /broken\.bpf\.c$/);
    assert.match(error.summary, /outside of the packet/);
    assert.match(error.log, /invalid access to packet/);
    assert.match(error.message, /instruction 1: .*broken\.bpf\.c:27:16/);
    assert.equal(object.programs.get('xdp_unchecked')?.insnsProcessed, insnsProcessed(error.log));
  } finally {
    object.close();
  }
});

kernelTest('globals: data maps hold their initial values; .rodata is frozen', () => {
  const object = loadObject(join(root, 'examples/globals.bpf.o'));
  try {
    const rodata = object.map('.rodata');
    const expected = new Uint8Array(22);
    new DataView(expected.buffer).setUint32(0, 16, true);
    new DataView(expected.buffer).setUint32(4, 1, true);
    expected.set(new TextEncoder().encode('tsbpf-globals'), 8);
    assert.deepEqual(rodata.get(new Uint8Array(4)), expected);
    assert.throws(
      () => rodata.set(new Uint8Array(4), expected),
      (e: unknown) => e instanceof MapError && e.is('EPERM'),
    );
    assert.equal((rodata.ops as KernelMapOps).info().name, 'globals.rodata');
    const data = new BpfMap(object.map('.data').ops, { key: u32, value: u64 });
    assert.equal(data.get(0), 1n << 30n);
    data.set(0, 5n); // .data stays writable
    assert.deepEqual(object.map('.bss').get(new Uint8Array(4)), new Uint8Array(16));
    assert.deepEqual(object.map('.data.stats').get(new Uint8Array(4)), new Uint8Array(24));
    assert.equal((object.map('.data.stats').ops as KernelMapOps).info().name, '.data.stats');
  } finally {
    object.close();
  }
});

kernelTest('.rodata values set before load change what the program does', () => {
  const packet = new Uint8Array(64);
  const run = (rodata?: Record<string, number | boolean>) => {
    const object = loadObject(join(root, 'examples/globals.bpf.o'), {
      data: { byte_quota: 10n },
      ...(rodata ? { rodata } : {}),
    });
    try {
      const result = object.program('xdp_byte_quota').testRun({ data: packet }).retval;
      const enforce = object.map('.rodata').get(new Uint8Array(4))![4];
      return { result, enforce };
    } finally {
      object.close();
    }
  };
  // 64 bytes > a quota of 10: dropped (XDP_DROP = 1) while enforcing…
  assert.deepEqual(run(), { result: 1, enforce: 1 });
  // …passed (XDP_PASS = 2) once `enforce` is false; the verifier pruned the drop path.
  assert.deepEqual(run({ enforce: false }), { result: 2, enforce: 0 });
  assert.throws(
    () => loadObject(join(root, 'examples/globals.bpf.o'), { rodata: { nope: 1 } }),
    /no variable 'nope'.*enforce/,
  );
});

kernelTest('tail_call: the program array is filled with the object’s programs', () => {
  const object = loadObject(join(root, 'examples/tail_call.bpf.o'));
  try {
    const handlers = new BpfMap(object.map('handlers').ops, { key: u32, value: u32 });
    // Every index of an array exists; only filled slots have a program id.
    const filled = [...handlers.keys()].filter((key) => handlers.get(key) !== undefined);
    assert.deepEqual(filled, [1, 6, 17, 256]);
    for (const key of filled) {
      const id = handlers.get(key)!;
      assert.ok(
        [...object.programs.values()].some((p) => p.program?.id === id),
        `slot ${key} → prog id ${id}`,
      );
    }
  } finally {
    object.close();
  }
});

kernelTest('.kconfig externs: LINUX_KERNEL_VERSION and CONFIG_HZ as libbpf fills them', () => {
  const object = loadObject(join(root, 'testdata/kernel/ksyms.bpf.o'));
  try {
    const kconfig = object.map('.kconfig').get(new Uint8Array(4))!;
    const spec = object.spec.externs;
    const at = (name: string) => spec.find((e) => e.name === name)!.offset!;
    const view = new DataView(kconfig.buffer, kconfig.byteOffset);
    const [major, minor, patch] = (
      spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.match(/\d+/g) ?? []
    ).map(Number);
    assert.equal(
      view.getUint32(at('LINUX_KERNEL_VERSION'), true),
      (major! << 16) + (minor! << 8) + Math.min(patch!, 255),
    );
    assert.equal(view.getInt32(at('CONFIG_HZ'), true), Number(readKernelConfig().get('CONFIG_HZ')));
    assert.throws(() => object.map('.kconfig').set(new Uint8Array(4), kconfig), MapError, 'frozen');
    // The kfunc calls were resolved against vmlinux BTF and the weak missing one poisoned.
    assert.ok(object.programs.get('xdp_rcu')?.program, String(object.programs.get('xdp_rcu')?.error));
  } finally {
    object.close();
  }
});

kernelTest('BTF sanitised down to 4.18 kinds still loads, and the programs with it', () => {
  const none = {
    btf: true,
    func: true, // func_info needs FUNC; everything newer is rewritten
    globalFunc: true,
    datasec: false,
    qmarkDatasec: false,
    float: false,
    declTag: false,
    typeTag: false,
    enum64: false,
    tagKindFlag: false,
  };
  for (const file of ['examples/execsnoop.bpf.o', 'examples/globals.bpf.o', 'testdata/kernel/ksyms.bpf.o']) {
    const object = loadObject(join(root, file), { btfFeatures: none });
    try {
      assert.ok(object.btf, `${file}: ${object.warnings.join('; ')}`);
      assert.ok(
        object.warnings.some((w) => /datasec \(since 5\.2\)/.test(w)),
        object.warnings.join('; '),
      );
    } finally {
      object.close();
    }
  }
});

kernelTest('kernel map names follow libbpf', () => {
  const spec = loadObjectSpec(readFileSync(join(root, 'examples/tc_classifier.bpf.o')));
  const names = spec.maps.map((m) => kernelMapName(m, 'tc_classifier'));
  assert.deepEqual(names, ['dropped', 'tc_class.rodata']);
});

kernelTest('no fd leaks: 100 loadObject/close cycles leave /proc/self/fd as it was', () => {
  const count = () => readdirSync('/proc/self/fd').length;
  const bytes = new Uint8Array(readFileSync(join(root, 'examples/xdp_count.bpf.o')));
  loadObject(bytes).close(); // warm caches (vmlinux BTF, BTF feature probes)
  const before = count();
  for (let i = 0; i < 100; i++) loadObject(bytes).close();
  assert.equal(count(), before);
});

kernelTest('a map pinned by name is reused, and an incompatible one refused', (t) => {
  const dir = `/sys/fs/bpf/tsbpf_pin_${process.pid}`;
  const spec = loadObjectSpec(readFileSync(join(root, 'examples/xdp_count.bpf.o')));
  const pinnedSpec = { ...spec, maps: spec.maps.map((m) => ({ ...m, pinning: 'by_name' as const })) };
  rmSync(dir, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', dir]);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = loadObject(pinnedSpec, { pinPath: dir });
  const id = (first.map('proto_stats').ops as KernelMapOps).id;
  first.close();
  const second = loadObject(pinnedSpec, { pinPath: dir });
  assert.equal((second.map('proto_stats').ops as KernelMapOps).id, id);
  second.close();
  const bigger = {
    ...pinnedSpec,
    maps: pinnedSpec.maps.map((m) => ({ ...m, maxEntries: m.maxEntries + 1 })),
  };
  assert.throws(
    () => loadObject(bigger, { pinPath: dir }),
    /cannot reuse the map pinned .*max_entries 256 ≠ 257/,
  );
});
