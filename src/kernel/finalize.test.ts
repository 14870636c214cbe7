// Objects, programs and maps the user forgets to close are released when garbage-collected
// (FdOwner's FinalizationRegistry in objects.ts): loads without close(), a forced GC in a child
// process (node --expose-gc), and the bpf fds are gone. Skips where bpf() is not permitted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMap } from './load/map.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

const unavailable: string | undefined = (() => {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  try {
    createMap({ name: 'probe', type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1 }).close();
    return undefined;
  } catch (error) {
    return `bpf() not permitted: ${error instanceof Error ? error.message : String(error)}`;
  }
})();

// Counts this process's fds of BPF programs and maps, loads the object N times and creates N
// maps without closing any, then drops them, collects garbage until the finalizers have run, and
// counts again.
const script = `
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { loadObject } from './src/kernel/load/object.ts';
import { createMap } from './src/kernel/load/map.ts';
const count = () => {
  const out = { progs: 0, maps: 0 };
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    try { target = readlinkSync('/proc/self/fd/' + fd); } catch { continue; }
    if (target === 'anon_inode:bpf-prog') out.progs++;
    if (target === 'anon_inode:bpf-map') out.maps++;
  }
  return out;
};
const settle = async () => {
  for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
};
const bytes = new Uint8Array(readFileSync('examples/xdp_count.bpf.o'));
await settle();
const before = count();
for (let i = 0; i < 100; i++) {
  loadObject(bytes, { name: 'gc' });
  createMap({ name: 'gc', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4 });
}
const loaded = count();
await settle();
console.log(JSON.stringify({ before, loaded, after: count() }));
`;

test('objects, programs and maps nobody closed are released by garbage collection', {
  skip: unavailable,
}, () => {
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  assert.equal(result.status, 0, result.stderr);
  const { before, loaded, after } = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<
    'before' | 'loaded' | 'after',
    { progs: number; maps: number }
  >;
  // Without close() the loads hold their fds…
  assert.ok(loaded.progs >= before.progs + 100, `programs held while referenced: ${JSON.stringify(loaded)}`);
  assert.ok(loaded.maps >= before.maps + 200, `maps held while referenced: ${JSON.stringify(loaded)}`);
  // …and once they are garbage, the finalizers close every one of them.
  assert.deepEqual(after, before);
});
