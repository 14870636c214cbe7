// The kernel commands of the CLI, run in-process as a user would type them. Each test skips, with
// the reason, where bpf() (or bpffs, for pinning) is unavailable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import { bpffsUnavailable, bpfUnavailable } from '../kernel/sys/availability.js';
import { tsbpf } from './test-harness.js';

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
      dumps.some((d) => /^value:\n04 00 00 00 01 00 00 00/m.test(d)),
      dumps.join('\n'),
    );
    for (const id of maps) {
      const bpftoolDump = spawnSync('bpftool', ['-j', 'map', 'dump', 'id', String(id)], {
        encoding: 'utf8',
      }).stdout;
      const theirsDump = (JSON.parse(bpftoolDump) as Array<{ key: string[]; value: string[] }>).map(
        ({ key, value }) => ({ key, value }),
      );
      assert.deepEqual(JSON.parse((await tsbpf('map', 'dump', String(id), '--json')).stdout), theirsDump);
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
