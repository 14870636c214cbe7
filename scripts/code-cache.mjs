// Makes the code cache of the bundled CLI (dist/bundle/code-cache/<node>/) for the Node that runs
// it; scripts/bundle-cli.mjs runs it in a child process after bundling. It runs the common short
// commands once in-process, so that the cache holds the functions they compiled (a cache taken
// before running holds only the top level; a function missing from it is compiled from source on
// its first call), then compiles the files no command read.
//
// With `--profile` it writes no cache: it runs each grouped command with a loader of its own and
// prints, as JSON, the chunks each one loaded, in order (bundle-cli.mjs groups them by it).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { BundleLoader, compileChunk, NODE_KEY } = require('../bin/tsbpf.js');

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'dist/bundle/');
const EXAMPLE_OBJECT = join(root, 'examples/xdp_count.bpf.o');
const EXAMPLE_CAPTURE = join(root, 'testdata/pcap/sample.pcap');
const profile = process.argv.includes('--profile');

const work = mkdtempSync(join(tmpdir(), 'tsbpf-code-cache-'));
const source = join(work, 'sum.s');
const program = join(work, 'sum.bin');
/**
 * The commands run; `group`: the chunks the grouped commands load are grouped by the commands
 * that load them (`--help` loads every command group, so it groups nothing); `name`: the
 * command's key in the profile when its first word is another's.
 */
const COMMANDS = [
  { argv: ['--version'], group: true },
  { argv: ['asm', source, '-o', program], group: true },
  { argv: ['disasm', program], group: true },
  { argv: ['run', source, '--mem', '0102'], group: true },
  // `npm start`: an object file's program verified, JIT-compiled and run over a capture (ELF,
  // BTF, the verifier, the JIT and its record loop, map output), when the checkout has them
  ...(existsSync(EXAMPLE_OBJECT) && existsSync(EXAMPLE_CAPTURE)
    ? [{ name: 'run --pcap', argv: ['run', EXAMPLE_OBJECT, '--pcap', EXAMPLE_CAPTURE], group: true }]
    : []),
  { argv: ['--help'], group: false },
];

let loader = new BundleLoader(dir);
/** @type {Record<string, string[]>} command line → the chunks it loaded, in order */
const loaded = {};
try {
  writeFileSync(
    source,
    'r0 = 0\nr3 = 0\nloop:\nif r3 >= r2 goto done\nr4 = r1\nr4 += r3\nr5 = *(u8 *)(r4 + 0)\nr0 += r5\nr3 += 1\ngoto loop\ndone:\nexit\n',
  );
  const sink = { write: () => true };
  const io = { stdout: sink, stderr: sink };
  for (const { name, argv, group } of COMMANDS) {
    if (profile && !group) continue;
    if (profile) loader = new BundleLoader(dir);
    const status = await loader.load('main.js').main(argv, io);
    if (status !== 0) throw new Error(`code cache: tsbpf ${argv.join(' ')} exited with ${status}`);
    loaded[name ?? argv[0]] = [...loader.modules.keys()];
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (profile) {
  process.stdout.write(JSON.stringify(loaded));
} else {
  const read = new Set(loader.scripts.map((s) => s.name));
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.js') || read.has(name)) continue;
    const file = join(dir, name);
    loader.scripts.push({ name, script: compileChunk(file, readFileSync(file, 'utf8')), cached: false });
  }
  if (!loader.saveCodeCache(join(dir, 'code-cache', NODE_KEY), true))
    throw new Error('code cache: cannot write dist/bundle/code-cache/');
}
