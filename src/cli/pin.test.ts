// `tsbpf load --pin DIR`: programs at DIR/NAME and maps at DIR/maps/NAME, all or nothing; a
// directory that is not on a bpffs is refused before anything loads and nothing is created.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bpffsUnavailable } from '../kernel/sys/availability.js';
import { tsbpf } from './test-harness.js';

test('--pin outside a bpffs is refused up front and creates nothing', async () => {
  const dir = join(tmpdir(), `tsbpf-pin-${process.pid}`, 'sub');
  const r = await tsbpf('load', 'examples/globals.bpf.o', '--pin', dir);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /is not on a bpffs \(mount one: mount -t bpf bpf \/sys\/fs\/bpf\)/);
  assert.ok(!existsSync(join(tmpdir(), `tsbpf-pin-${process.pid}`)));
});

const unavailable = bpffsUnavailable();

test('--pin pins the programs and the maps', { skip: unavailable ?? false }, async (t) => {
  const dir = `/sys/fs/bpf/tsbpf_pin_${process.pid}`;
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await tsbpf('load', 'examples/globals.bpf.o', '--pin', dir);
  if (/not on a bpffs/.test(r.stderr)) {
    t.skip('no bpffs mounted at /sys/fs/bpf');
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(dir).sort(), ['maps', 'xdp_byte_quota']);
  // Data sections as bpffs allows their names (no dots).
  assert.deepEqual(readdirSync(join(dir, 'maps')).sort(), ['bss', 'data', 'data_stats', 'rodata']);
});

test('--pin is all or nothing: one failing pin removes the others', {
  skip: unavailable ?? false,
}, async (t) => {
  const dir = `/sys/fs/bpf/tsbpf_pin_fail_${process.pid}`;
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // A folder where a map's pin must go makes that pin fail (EEXIST) after the program's.
    mkdirSync(join(dir, 'maps', 'rodata'), { recursive: true });
  } catch (error) {
    t.skip(`cannot create folders in /sys/fs/bpf: ${(error as Error).message}`);
    return;
  }
  const r = await tsbpf('load', 'examples/globals.bpf.o', '--pin', dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /pin .*maps\/rodata/);
  assert.deepEqual(readdirSync(dir), ['maps']);
  assert.deepEqual(readdirSync(join(dir, 'maps')), ['rodata']);
});
