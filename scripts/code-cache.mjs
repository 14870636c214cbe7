// Makes the code cache of the bundled CLI (dist/bundle/code-cache/<node>/) for the Node that runs
// it; scripts/bundle-cli.mjs runs it in a child process after bundling. It runs the common short
// commands once in-process, so that the cache holds the functions they compiled (a cache taken
// before running holds only the top level; a function missing from it is compiled from source on
// its first call), then compiles the chunks no command loaded.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { BundleLoader, compileChunk, NODE_KEY } = require('../bin/tsbpf.js');

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'dist/bundle/');
const EXAMPLE_OBJECT = 'examples/xdp_count.bpf.o';
const EXAMPLE_CAPTURE = 'testdata/pcap/sample.pcap';
const loader = new BundleLoader(dir);
const { main } = loader.load('main.js');

const work = mkdtempSync(join(tmpdir(), 'tsbpf-code-cache-'));
try {
  const source = join(work, 'sum.s');
  writeFileSync(
    source,
    'r0 = 0\nr3 = 0\nloop:\nif r3 >= r2 goto done\nr4 = r1\nr4 += r3\nr5 = *(u8 *)(r4 + 0)\nr0 += r5\nr3 += 1\ngoto loop\ndone:\nexit\n',
  );
  const program = join(work, 'sum.bin');
  const sink = { write: () => true };
  const io = { stdout: sink, stderr: sink };
  for (const argv of [
    ['--version'],
    ['asm', source, '-o', program],
    ['disasm', program],
    ['run', source, '--mem', '0102'],
    ['--help'],
    // `npm start`: an object file's program verified, JIT-compiled and run over a capture (ELF,
    // BTF, the verifier, the JIT and its record loop, map output), when the checkout has them
    ...(existsSync(join(root, EXAMPLE_OBJECT)) && existsSync(join(root, EXAMPLE_CAPTURE))
      ? [['run', join(root, EXAMPLE_OBJECT), '--pcap', join(root, EXAMPLE_CAPTURE)]]
      : []),
  ]) {
    const status = await main(argv, io);
    if (status !== 0) throw new Error(`code cache: tsbpf ${argv.join(' ')} exited with ${status}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
for (const name of readdirSync(dir)) {
  if (!name.endsWith('.js') || loader.modules.has(name)) continue;
  const file = join(dir, name);
  loader.scripts.push({ name, script: compileChunk(file, readFileSync(file, 'utf8')), cached: false });
}
if (!loader.saveCodeCache(join(dir, 'code-cache', NODE_KEY), true))
  throw new Error('code cache: cannot write dist/bundle/code-cache/');
