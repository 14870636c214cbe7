// The kernel commands of the CLI, run in-process as a user would type them. Each test skips, with
// the reason, where bpf() (or bpffs, for pinning) is unavailable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type TestContext, test } from 'node:test';
import { attachCgroup, cgroup2Root } from '../kernel/attach/attach.js';
import type { KernelMapOps } from '../kernel/load/map.js';
import { loadObject } from '../kernel/load/object.js';
import { bpffsUnavailable, bpfUnavailable } from '../kernel/sys/availability.js';
import { repoRoot, tsbpf } from './test-harness.js';

function kernelTest(
  name: string,
  fn: (t: TestContext) => Promise<void>,
  unavailable: () => string | undefined = bpfUnavailable,
): void {
  test(name, async (t) => {
    const reason = unavailable();
    if (reason) {
      t.skip(reason);
      return;
    }
    await fn(t);
  });
}

kernelTest('load --json: exactly the documented fields', async () => {
  const result = await tsbpf('load', 'examples/xdp_count.bpf.o', '--json');
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), [
    {
      program: 'xdp_count_protocols',
      section: 'xdp',
      type: 'xdp',
      accepted: true,
      error: null,
      insns_processed: 144,
    },
  ]);
});

kernelTest('load: a rejected program says where and why, and the status is 1', async () => {
  const result = await tsbpf('load', 'testdata/kernel/broken.bpf.o');
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^xdp_ok \(xdp, xdp\): accepted \(13 insns processed\)$/m);
  assert.match(
    result.stdout,
    /^xdp_unchecked \(xdp, xdp\): rejected \(2 insns processed\): R1 offset is outside of the packet$/m,
  );
  assert.match(result.stdout, /at instruction 1: \(61\) r1 = \*\(u32 \*\)\(r1 \+0\)/);
  assert.match(result.stdout, /broken\.bpf\.c:27:16\n.*27 \|.*FAULT/);
  const json = JSON.parse((await tsbpf('load', 'testdata/kernel/broken.bpf.o', '--json')).stdout) as Array<{
    accepted: boolean;
    error: string | null;
  }>;
  assert.deepEqual(
    json.map((p) => p.accepted),
    [true, false],
  );
  assert.match(json[1]!.error!, /instruction 1: .*R1 offset is outside of the packet/);
});

kernelTest(
  'load --pin, then prog show / dump xlated / map dump on what was pinned',
  async (t) => {
    const dir = `/sys/fs/bpf/tsbpf_cli_${process.pid}`;
    t.after(() => spawnSync('rm', ['-rf', dir]));
    const loaded = await tsbpf('load', 'examples/globals.bpf.o', '--pin', dir, '--rodata', 'sample_every=4');
    assert.equal(loaded.status, 0, loaded.stderr);
    const show = spawnSync('bpftool', ['-j', 'prog', 'show', 'pinned', `${dir}/xdp_byte_quota`], {
      encoding: 'utf8',
    });
    if (show.status !== 0) {
      t.skip('bpftool is not installed');
      return;
    }
    const theirs = JSON.parse(show.stdout) as Record<string, unknown>;
    const ours = JSON.parse((await tsbpf('prog', 'show', String(theirs.id), '--json')).stdout) as Record<
      string,
      unknown
    >;
    for (const key of Object.keys(theirs)) assert.deepEqual(ours[key], theirs[key], key);
    const text = (await tsbpf('prog', 'show', String(theirs.id))).stdout;
    const bpftoolText = spawnSync('bpftool', ['prog', 'show', 'id', String(theirs.id)], {
      encoding: 'utf8',
    }).stdout;
    // Same lines, ours with verified_insns added to the last.
    assert.equal(text.replace(/ {2}verified_insns \d+/, ''), bpftoolText);
    const xlated = (await tsbpf('prog', 'dump', 'xlated', String(theirs.id))).stdout;
    const theirXlated = spawnSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(theirs.id)], {
      encoding: 'utf8',
    }).stdout;
    const insnLines = (s: string) => s.split('\n').filter((l) => /^ *\d+: \(/.test(l));
    assert.deepEqual(insnLines(xlated), insnLines(theirXlated));
    const jited = await tsbpf('prog', 'dump', 'jited', String(theirs.id), '--json');
    assert.equal((JSON.parse(jited.stdout) as { bytes: string[] }).bytes.length, theirs.bytes_jited);
    // The rodata map holds the value set on the command line.
    const maps = theirs.map_ids as number[];
    const dumps: string[] = [];
    for (const id of maps) dumps.push((await tsbpf('map', 'dump', String(id))).stdout);
    assert.ok(
      dumps.some((d) => /"sample_every": 4\b/.test(d)),
      dumps.join('\n'),
    );
    for (const id of maps) {
      const bpftoolDump = spawnSync('bpftool', ['-j', 'map', 'dump', 'id', String(id)], {
        encoding: 'utf8',
      }).stdout;
      // Keys, values and their BTF decoding (`formatted`), as bpftool prints them.
      assert.deepEqual(
        JSON.parse((await tsbpf('map', 'dump', String(id), '--json')).stdout),
        JSON.parse(bpftoolDump),
      );
      const theirsShow = JSON.parse(
        spawnSync('bpftool', ['-j', 'map', 'show', 'id', String(id)], { encoding: 'utf8' }).stdout,
      ) as Record<string, unknown>;
      const oursShow = JSON.parse((await tsbpf('map', 'show', String(id), '--json')).stdout) as Record<
        string,
        unknown
      >;
      for (const key of Object.keys(theirsShow))
        assert.deepEqual(oursShow[key], theirsShow[key], `map ${id} ${key}`);
    }
  },
  bpffsUnavailable,
);

kernelTest('prog list, map list, link list, btf list print JSON arrays', async () => {
  for (const command of [
    ['prog', 'list'],
    ['map', 'list'],
    ['link', 'list'],
    ['btf', 'list'],
  ]) {
    const result = await tsbpf(...command, '--json');
    assert.equal(result.status, 0, `${command.join(' ')}: ${result.stderr}`);
    assert.ok(Array.isArray(JSON.parse(result.stdout)), command.join(' '));
  }
  const btf = JSON.parse((await tsbpf('btf', 'list', '--json')).stdout) as Array<{
    id: number;
    name?: string;
    kernel: boolean;
  }>;
  assert.ok(btf.some((b) => b.name === 'vmlinux' && b.kernel));
});

kernelTest('feature: XDP and hash maps are there; agrees with bpftool where bpftool can tell', async () => {
  const result = await tsbpf('feature', '--json');
  assert.equal(result.status, 0, result.stderr);
  const ours = JSON.parse(result.stdout) as Record<string, Record<string, boolean | null>>;
  assert.equal(ours.program_types!.have_xdp_prog_type, true);
  assert.equal(ours.map_types!.have_hash_map_type, true);
  assert.equal(ours.attach_types!.have_xdp_attach_type, true);
  const probe = spawnSync('bpftool', ['feature', 'probe', '-j'], { encoding: 'utf8' });
  if (probe.status !== 0) return;
  const theirs = JSON.parse(probe.stdout) as Record<string, Record<string, boolean>>;
  for (const section of ['program_types', 'map_types']) {
    for (const [key, value] of Object.entries(theirs[section]!)) {
      // null: we could not tell (EPERM under lockdown), where bpftool says "no".
      if (ours[section]![key] !== null) assert.equal(ours[section]![key], value, key);
    }
  }
});

test('bad input exits 2 with a message', async () => {
  const result = await tsbpf('load', 'no/such/file.o');
  assert.equal(result.status, 2);
  assert.match(result.stderr, /cannot read/);
});

/** Run bpftool (installed on the test machines; a test skips its comparisons where it is not). */
function bpftool(...args: string[]): string | undefined {
  const result = spawnSync('bpftool', args, { encoding: 'utf8' });
  return result.status === 0 ? result.stdout : undefined;
}

/** xdp_count loaded through the kernel backend, with a known value written into proto_stats. */
function loadXdpCount(t: TestContext) {
  const object = loadObject(readFileSync(`${repoRoot}/examples/xdp_count.bpf.o`), { name: 'xdp_count' });
  t.after(() => object.close());
  const program = object.programs.get('xdp_count_protocols')!.program!;
  const map = object.maps.get('proto_stats')!.ops as KernelMapOps;
  // Key 6 (TCP): CPU c counted 100 + c packets of 1000 * (c + 1) bytes in all.
  const value = new Uint8Array(map.possibleCpus * 16);
  const view = new DataView(value.buffer);
  const expected = Array.from({ length: map.possibleCpus }, (_, cpu) => {
    view.setBigUint64(cpu * 16, BigInt(100 + cpu), true);
    view.setBigUint64(cpu * 16 + 8, BigInt(1000 * (cpu + 1)), true);
    return { cpu, value: { packets: 100 + cpu, bytes: 1000 * (cpu + 1) } };
  });
  map.update(new Uint8Array([6, 0, 0, 0]), value, 0);
  return { object, program, map, progId: program.info().id, mapInfo: map.info(), expected };
}

kernelTest('map dump name NAME decodes through the map BTF, as bpftool -j does', async (t) => {
  const { mapInfo, expected } = loadXdpCount(t);
  const shown = await tsbpf('map', 'show', 'name', 'proto_stats', '--json');
  assert.equal(shown.status, 0, shown.stderr);
  // Another xdp_count may be loaded at the same time: a name then names all of them.
  const shownJson = JSON.parse(shown.stdout) as { id: number } | Array<{ id: number }>;
  const ids = (Array.isArray(shownJson) ? shownJson : [shownJson]).map((m) => m.id);
  assert.ok(ids.includes(mapInfo.id), `${mapInfo.id} in ${ids}`);
  let dump = await tsbpf('map', 'dump', 'name', 'proto_stats', '--json');
  if (ids.length > 1) {
    assert.equal(dump.status, 2);
    assert.match(dump.stdout, new RegExp(`matches ${ids.length} maps \\(ids ${ids.join(', ')}\\)`));
    dump = await tsbpf('map', 'dump', 'id', String(mapInfo.id), '--json');
  }
  assert.equal(dump.status, 0, dump.stderr);
  const rows = JSON.parse(dump.stdout) as Array<{
    key: string[];
    values: Array<{ cpu: number; value: string[] }>;
    formatted: { key: number; values: unknown[] };
  }>;
  assert.equal(rows.length, 256);
  const tcp = rows[6]!;
  assert.deepEqual(tcp.key, ['0x06', '0x00', '0x00', '0x00']);
  assert.deepEqual(tcp.formatted, { key: 6, values: expected });
  assert.deepEqual(rows[7]!.formatted.values[0], { cpu: 0, value: { packets: 0, bytes: 0 } });
  // bpftool decodes the same map to the same bytes (plain, -j and -jp).
  const id = String(mapInfo.id);
  const theirs = bpftool('-j', 'map', 'dump', 'id', id);
  if (theirs === undefined) return t.diagnostic('bpftool not installed: no comparison');
  assert.equal(dump.stdout, theirs);
  assert.equal((await tsbpf('-jp', 'map', 'dump', 'id', id)).stdout, bpftool('-jp', 'map', 'dump', 'id', id));
  assert.equal((await tsbpf('map', 'dump', id)).stdout, bpftool('map', 'dump', 'id', id));
  assert.equal((await tsbpf('map', 'show', id, '-p')).stdout, bpftool('-jp', 'map', 'show', 'id', id));
});

kernelTest('prog show name / tag, prog dump by name, btf dump id on the object BTF', async (t) => {
  const { progId, mapInfo } = loadXdpCount(t);
  // The kernel keeps 15 bytes of the name; the full one (from BTF) is what show prints and matches.
  const byName = await tsbpf('-j', 'prog', 'show', 'name', 'xdp_count_protocols');
  assert.equal(byName.status, 0, byName.stderr);
  const json = JSON.parse(byName.stdout) as { id: number; name: string; tag: string } | Array<{ id: number }>;
  const list = Array.isArray(json) ? json : [json];
  assert.ok(list.some((p) => p.id === progId));
  const one = JSON.parse((await tsbpf('prog', 'show', 'id', String(progId), '--json')).stdout) as {
    name: string;
    tag: string;
  };
  assert.equal(one.name, 'xdp_count_protocols');
  const byTag = JSON.parse((await tsbpf('prog', 'show', 'tag', one.tag, '--json')).stdout) as
    | { id: number }
    | Array<{ id: number }>;
  assert.ok((Array.isArray(byTag) ? byTag : [byTag]).some((p) => p.id === progId));
  const xlated = await tsbpf('prog', 'dump', 'xlated', 'id', String(progId));
  assert.equal(xlated.status, 0, xlated.stderr);
  assert.match(xlated.stdout, /^ {3}0: \(/);
  if (list.length === 1)
    assert.equal(
      (await tsbpf('prog', 'dump', 'xlated', 'name', 'xdp_count_protocols')).stdout,
      xlated.stdout,
    );
  const theirs = bpftool('prog', 'show', 'id', String(progId));
  if (theirs !== undefined)
    assert.equal(
      (await tsbpf('prog', 'show', String(progId))).stdout.replace(/ {2}verified_insns \d+/, ''),
      theirs,
    );

  const btfShown = JSON.parse((await tsbpf('btf', 'show', 'id', String(mapInfo.btfId), '-j')).stdout) as {
    map_ids: number[];
  };
  assert.ok(btfShown.map_ids.includes(mapInfo.id));
  const btf = await tsbpf('btf', 'dump', 'id', String(mapInfo.btfId));
  assert.equal(btf.status, 0, btf.stderr);
  assert.match(btf.stdout, /STRUCT 'proto_stat' size=16 vlen=2/);
  const theirBtf = bpftool('btf', 'dump', 'id', String(mapInfo.btfId));
  if (theirBtf !== undefined) assert.equal(btf.stdout, theirBtf);
  // Without `id`, the word is still a file name.
  assert.match(
    (await tsbpf('btf', 'dump', 'file', 'examples/xdp_count.bpf.o')).stdout,
    /STRUCT 'proto_stat'/,
  );
});

kernelTest(
  'pinned PATH: prog show, map dump and link show of pinned objects; the wrong kind is an error',
  async (t) => {
    const { program, map, progId, mapInfo, expected } = loadXdpCount(t);
    const dir = mkdtempSync('/sys/fs/bpf/tsbpf_refs_');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    program.pin(`${dir}/prog`);
    map.pin(`${dir}/map`);
    const shown = JSON.parse((await tsbpf('prog', 'show', 'pinned', `${dir}/prog`, '--json')).stdout) as {
      id: number;
    };
    assert.equal(shown.id, progId);
    const dump = JSON.parse((await tsbpf('map', 'dump', 'pinned', `${dir}/map`, '--json')).stdout) as Array<{
      formatted: { values: unknown };
    }>;
    assert.deepEqual(dump[6]!.formatted.values, expected);
    assert.equal(mapInfo.name, 'proto_stats');
    const wrong = await tsbpf('map', 'dump', 'pinned', `${dir}/prog`);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /a program, not a map/);
    const none = await tsbpf('link', 'show', 'pinned', `${dir}/nothing`);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /nothing is pinned there/);
  },
  () => bpffsUnavailable(),
);

kernelTest('bad references exit 2 with a message', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['map', 'dump', 'id', '4294967295'], /no map with id 4294967295/],
    [['prog', 'show', 'name', 'no_such_prog_x'], /no program with name no_such_prog_x/],
    [['prog', 'show', 'tag', 'xyz'], /tag: expected 16 hex digits/],
    [['prog', 'show', 'label', 'x'], /'label' does not name a program: expected id N \| name NAME/],
    [['map', 'dump', 'tag', '0011223344556677'], /'tag' does not name a map/],
    [['btf', 'dump', 'id', '4294967295'], /no BTF object with id 4294967295/],
    [['link', 'show', 'id', '0'], /link id: expected a positive integer, got '0'/],
    [['btf', 'show', 'name', 'vmlinux'], /'name' does not name a BTF object: expected id N$/m],
  ];
  for (const [args, message] of cases) {
    const result = await tsbpf(...args);
    assert.equal(result.status, 2, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
  }
  const json = await tsbpf('-j', 'map', 'dump', 'id', '4294967295');
  assert.equal(json.status, 2);
  assert.deepEqual(JSON.parse(json.stdout), { error: 'no map with id 4294967295' });
});

kernelTest(
  'link show id N and pinned PATH: a cgroup link, as bpftool shows it',
  async (t) => {
    const object = loadObject(readFileSync(`${repoRoot}/examples/cgroup_skb_count.bpf.o`), {
      name: 'cgroup_skb',
    });
    t.after(() => object.close());
    const program = [...object.programs.values()][0]!.program!;
    const cgroup = mkdtempSync(`${cgroup2Root()}/tsbpf_link_`);
    t.after(() => rmSync(cgroup, { recursive: true, force: true }));
    const link = attachCgroup(program, 'CGROUP_INET_EGRESS', { cgroup });
    t.after(() => link.close());
    const dir = mkdtempSync('/sys/fs/bpf/tsbpf_link_');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    link.pin(`${dir}/link`);
    const pinned = await tsbpf('link', 'show', 'pinned', `${dir}/link`, '--json');
    assert.equal(pinned.status, 0, pinned.stderr);
    const shown = JSON.parse(pinned.stdout) as {
      id: number;
      type: string;
      prog_id: number;
      attach_type: string;
    };
    assert.equal(shown.type, 'cgroup');
    assert.equal(shown.prog_id, program.info().id);
    const byId = await tsbpf('link', 'show', 'id', String(shown.id), '--json');
    assert.deepEqual(JSON.parse(byId.stdout), shown);
    const theirs = bpftool('-j', 'link', 'show', 'id', String(shown.id));
    if (theirs === undefined) return;
    assert.deepEqual(shown, JSON.parse(theirs));
    assert.equal(shown.attach_type, 'cgroup_inet_egress');
    const text = await tsbpf('link', 'show', String(shown.id));
    assert.equal(text.stdout, bpftool('link', 'show', 'id', String(shown.id)));
  },
  () => {
    const reason = bpffsUnavailable();
    if (reason) return reason;
    try {
      cgroup2Root();
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  },
);
