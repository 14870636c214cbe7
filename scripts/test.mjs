// `npm test`'s test step: esbuild bundles each `*.test.ts` (with what it imports from the project;
// packages stay external) into node_modules/.cache/tsbpf/tests/, then `node --test` runs them as
// plain JavaScript, two files at a time, longest first (scripts/test-files.mjs); arguments go on
// to `node --test` (e.g. `npm test -- --test-name-pattern=pcap`), and test files named there run
// alone (`node scripts/test.mjs src/vm/runner.test.ts`). Under `--import tsx` every test process paid about 0.3 s of CPU to start
// tsx and more to pass each module through its loader thread: over 120 files, a third of the
// suite's CPU time. `import.meta.url`, `dirname` and `filename` are replaced by the source file's
// own, so a test finds its testdata (and the code under test its package) exactly as from source.
// Tests that import generated TypeScript at run time (skeletons, README snippets) use tsx's
// `tsImport`. `npm run test:quick` still runs the sources through tsx.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { testFiles } from './test-files.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'node_modules/.cache/tsbpf/tests');
// Test files named on the command line run alone; other arguments go on to `node --test`.
const args = process.argv.slice(2);
const named = args.filter((a) => a.endsWith('.test.ts')).map((a) => relative(root, resolve(a)));
const files = named.length ? named : testFiles();

/**
 * Each module's `import.meta` location as its source file's, not the bundle's: every module gets
 * its own constants (on its first line, so line numbers stay), which `define` substitutes for
 * `import.meta.url`, `dirname` and `filename` in code (not in strings: code generators write them).
 */
const sourceLocation = {
  name: 'source-location',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?ts$/ }, ({ path }) => {
      const at = [pathToFileURL(path).href, dirname(path), path].map((v) => JSON.stringify(v));
      const head = `const __srcUrl = ${at[0]}, __srcDir = ${at[1]}, __srcFile = ${at[2]};`;
      return { contents: head + readFileSync(path, 'utf8'), loader: 'ts' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: files,
  outdir,
  outbase: root,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'error',
  define: {
    'import.meta.url': '__srcUrl',
    'import.meta.dirname': '__srcDir',
    'import.meta.filename': '__srcFile',
  },
  plugins: [sourceLocation],
});
const compiled = files.map((f) => relative(root, join(outdir, f.replace(/\.ts$/, '.mjs'))));
const run = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    ...args.filter((a) => !a.endsWith('.test.ts')),
    ...compiled,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(run.status ?? 1);
