import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { findClang } from '../build/clang.js';
import { objectBaseName, skeletonFor } from '../cli/gen.js';
import { distIsFresh } from '../dist.fixture.js';
import { bpfUnavailable, tracefsUnavailable } from '../kernel/sys/availability.js';
import { loadObjectSpec } from '../object/object.js';
import { generateSkeleton } from './generate.js';
import type { Skeleton } from './runtime.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const examples = join(root, 'examples');
const objects = readdirSync(examples)
  .filter((f) => f.endsWith('.bpf.o'))
  .sort();
const goldenDir = join(root, 'testdata/skeleton');
const update = process.env.UPDATE_GOLDEN === '1';

/** A frame: Ethernet + IPv4 header with protocol `proto` (TCP = 6). */
function frame(proto: number): Uint8Array {
  const bytes = new Uint8Array(60);
  bytes[12] = 0x08;
  bytes[14] = 0x45;
  bytes[23] = proto;
  return bytes;
}

// Skeletons generated into a scratch folder inside the repo, importing our sources, so that tsc and
// tsx resolve them as a user's project resolves `tsbpf`.
let scratch = '';
before(() => {
  scratch = mkdtempSync(join(root, '.skel-test-'));
  for (const file of objects) {
    const text = skeletonFor(join(examples, file), { module: '../src/index.js' });
    writeFileSync(join(scratch, `${objectBaseName(file)}.skel.ts`), text);
  }
});
after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function importSkeleton(name: string): Promise<Record<string, unknown>> {
  // through tsx's loader: a skeleton is TypeScript, and the suite may run compiled
  return tsImport(pathToFileURL(join(scratch, `${name}.skel.ts`)).href, import.meta.url);
}

type Ctor<T> = { open(): T };

describe('gen skeleton', () => {
  it('matches the golden skeleton of every example (--path, UPDATE_GOLDEN=1 rewrites)', () => {
    for (const file of objects) {
      const name = objectBaseName(file);
      const text = generateSkeleton(loadObjectSpec(readFileSync(join(examples, file))), {
        name,
        source: { path: `../../examples/${file}` },
      });
      const golden = join(goldenDir, `${name}.skel.ts`);
      if (update) writeFileSync(golden, text);
      assert.equal(text, readFileSync(golden, 'utf8'), `${golden} differs (UPDATE_GOLDEN=1 to accept)`);
    }
  });

  it('every example skeleton and a program using them compile under tsc --strict', (t) => {
    // Against dist/'s declarations when the build is current, as a user's project sees `tsbpf`
    // (a fraction of the time of type-checking src/ again); else against the sources.
    let dir = scratch;
    if (distIsFresh()) {
      dir = join(scratch, 'typed');
      mkdirSync(dir);
      for (const file of objects) {
        const text = skeletonFor(join(examples, file), { module: '../../dist/index.js' });
        writeFileSync(join(dir, `${objectBaseName(file)}.skel.ts`), text);
      }
    } else t.diagnostic('dist/ is older than src/: checking against the sources (npm run build is faster)');
    writeFileSync(
      join(dir, 'use.ts'),
      [
        "import { XdpCount } from './xdp_count.skel.js';",
        "import { Globals } from './globals.skel.js';",
        "import { ExecveMap } from './execve_map.skel.js';",
        'export async function use(): Promise<bigint> {',
        '  const skel = XdpCount.open();',
        '  await skel.load();',
        '  const stats = skel.maps.proto_stats.get(6);',
        '  const packets: bigint = stats ? stats[0].packets : 0n;',
        '  const g = Globals.open();',
        '  g.rodata.sample_every = 2;',
        '  const name: string = g.rodata.program_name;',
        '  const quota: bigint = g.data.byte_quota;',
        '  const e = ExecveMap.open();',
        '  const comm: string | undefined = e.loaded ? e.maps.execs.get(1)?.comm : name;',
        '  return packets + quota + BigInt(comm?.length ?? 0);',
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        compilerOptions: { noEmit: true },
        include: ['*.ts'],
      }),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
  });

  it('an XDP skeleton runs on the VM: typed per-CPU map values after test runs', async () => {
    const { XdpCount } = (await importSkeleton('xdp_count')) as { XdpCount: Ctor<Skeleton> };
    const skel = XdpCount.open() as Skeleton & {
      maps: { proto_stats: { get(key: number): Array<{ packets: bigint; bytes: bigint }> | undefined } };
      progs: { xdp_count_protocols: { testRun(o: { data: Uint8Array }): { retval: number } } };
    };
    assert.throws(() => skel.maps, /not loaded yet/);
    await (skel as unknown as { load(): Promise<unknown> }).load();
    for (let i = 0; i < 3; i++)
      assert.equal(skel.progs.xdp_count_protocols.testRun({ data: frame(6) }).retval, 2);
    const perCpu = skel.maps.proto_stats.get(6);
    assert.ok(perCpu);
    assert.equal(
      perCpu.reduce((sum, v) => sum + v.packets, 0n),
      3n,
    );
    assert.equal(typeof perCpu[0].bytes, 'bigint');
    skel.destroy();
    assert.throws(() => skel.maps, /destroyed/);
  });

  it('globals: .rodata set before load takes effect, is read-only after; .bss reads live', async () => {
    const { Globals } = (await importSkeleton('globals')) as { Globals: Ctor<Skeleton> };
    const skel = Globals.open() as Skeleton & {
      rodata: { sample_every: number; enforce: number; program_name: string };
      data: { byte_quota: bigint };
      bss: { packets_seen: bigint; bytes_seen: bigint };
      data_stats: { stats: { sampled_packets: bigint } };
      progs: { xdp_byte_quota: { testRun(o: { data: Uint8Array }): { retval: number } } };
      load(): Promise<unknown>;
    };
    assert.equal(skel.rodata.sample_every, 16);
    assert.equal(skel.rodata.program_name, 'tsbpf-globals');
    skel.rodata.sample_every = 2;
    skel.data.byte_quota = 100n;
    await skel.load();
    assert.throws(() => {
      skel.rodata.sample_every = 3;
    }, /read-only after load/);
    const results = [0, 1, 2].map(() => skel.progs.xdp_byte_quota.testRun({ data: frame(6) }).retval);
    // 60-byte frames against a 100-byte quota: the second packet goes over (XDP_DROP = 1).
    assert.deepEqual(results, [2, 1, 1]);
    assert.equal(skel.bss.packets_seen, 3n);
    assert.equal(skel.bss.bytes_seen, 180n);
    assert.equal(skel.data_stats.stats.sampled_packets, 2n); // packets 0 and 2 with sample_every = 2
    skel.data.byte_quota = 1000n; // live write after load
    assert.equal(skel.progs.xdp_byte_quota.testRun({ data: frame(6) }).retval, 2);
    skel.destroy();
  });

  it('attach on the VM says how to run programs instead', async () => {
    const { XdpCount } = (await importSkeleton('xdp_count')) as { XdpCount: Ctor<Skeleton> };
    const skel = XdpCount.open() as Skeleton & { load(): Promise<unknown> };
    await skel.load();
    assert.throws(() => skel.attach(), /testRun/);
    skel.destroy();
  });

  it('editing a struct in the C source changes the generated interface', (t) => {
    let clang: string;
    try {
      clang = findClang();
    } catch {
      t.skip('clang-19 not found: cannot rebuild the example');
      return;
    }
    const dir = mkdtempSync('/tmp/tsbpf-skel-');
    try {
      const source = readFileSync(join(examples, 'execve_map.bpf.c'), 'utf8');
      const edited = source.replace(/struct event \{/, 'struct event {\n\t__u64 started_ns;');
      assert.notEqual(edited, source, 'execve_map.bpf.c has no struct event');
      const file = join(dir, 'execve_map.bpf.c');
      writeFileSync(file, edited);
      execFileSync(
        process.execPath,
        [join(root, 'bin/tsbpf.js'), 'build', file, '-o', join(dir, 'execve_map.bpf.o')],
        {
          env: { ...process.env, CLANG: clang },
          stdio: 'pipe',
        },
      );
      const before = skeletonFor(join(examples, 'execve_map.bpf.o'), {});
      const afterEdit = skeletonFor(join(dir, 'execve_map.bpf.o'), {});
      assert.doesNotMatch(before, /started_ns/);
      assert.match(afterEdit, /export interface Event \{\n {2}started_ns: bigint;/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kernel backend: load, attach, see typed map values, destroy (root)', async (t) => {
    const why = bpfUnavailable() ?? tracefsUnavailable(); // it attaches a tracepoint
    if (why) {
      t.skip(why);
      return;
    }
    const { ExecveMap } = (await importSkeleton('execve_map')) as { ExecveMap: Ctor<Skeleton> };
    const skel = ExecveMap.open() as Skeleton & {
      load(target: { backend: 'kernel' }): Promise<unknown>;
      maps: { execs: { entries(): Iterable<[number, { pid: number; comm: string }]> } };
    };
    try {
      await skel.load({ backend: 'kernel' });
      skel.attach();
      execFileSync('/bin/true');
      const seen = [...skel.maps.execs.entries()];
      assert.ok(seen.length > 0, 'no execve recorded');
      for (const [pid, value] of seen) {
        assert.equal(typeof pid, 'number');
        assert.equal(value.pid, pid);
        assert.equal(typeof value.comm, 'string');
      }
    } finally {
      skel.destroy();
    }
  });

  it('--path skeletons read the object beside them at run time', async () => {
    const file = join(examples, 'xdp_count.bpf.o');
    const text = skeletonFor(file, {
      path: true,
      module: '../src/index.js',
      output: join(scratch, 'p.skel.ts'),
    });
    assert.match(text, /new URL\("\.\.\/examples\/xdp_count\.bpf\.o", import\.meta\.url\)/);
    writeFileSync(join(scratch, 'p.skel.ts'), text);
    const { XdpCount } = (await tsImport(
      pathToFileURL(join(scratch, 'p.skel.ts')).href,
      import.meta.url,
    )) as {
      XdpCount: { open(): Promise<Skeleton & { load(): Promise<unknown> }> };
    };
    const skel = await XdpCount.open();
    await skel.load();
    assert.equal(basename(file), 'xdp_count.bpf.o');
    skel.destroy();
  });
});
