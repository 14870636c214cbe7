// The tsbpf command's own build: dist/cli/main.js (tsc's output) bundled by esbuild into
// dist/bundle/, one chunk per command group (the groups main.ts imports lazily stay lazy), then
// each chunk turned into a CommonJS script, and V8's compiled code for them saved beside them.
// `bin/tsbpf.js` loads the chunks itself with `vm.Script` and that code cache: Node 20's ESM
// loader (resolution, async reads, compiling every module from source) cost more than the rest
// of `tsbpf asm`. commander and picocolors are bundled in, so their code is cached with ours;
// the other packages (koffi, yaml…) load from node_modules with `require` when a command needs
// them. The API (`import … from 'tsbpf'`) stays tsc's unbundled output. Run by `npm run build`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist/bundle');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BUNDLED = ['commander', 'picocolors'];

/**
 * commander requires node:child_process when it loads, for subcommands that are executables,
 * which tsbpf has none of; loading it (with net, dgram and the stream modules) cost a few percent
 * of `node -e 0`. commander gets an object that loads it on first use instead.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^node:child_process$/ }, ({ importer }) =>
      importer.includes('/node_modules/commander/')
        ? { path: 'child_process', namespace: 'lazy' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
      loader: 'js',
    }));
  },
};

/**
 * `keepNames` follows each named function and class with `__name(f, "f")` (a defineProperty);
 * where the name is the one it was declared with, that call changes nothing but costs: some 900
 * of them ran as `tsbpf run` loaded (about 2% of its instructions). They are dropped; those that
 * restore a renamed symbol's name (`__name(parse2, "parse")`) or name an expression stay.
 */
function dropRedundantNames(code) {
  // a statement of its own (after `;`, `{`, `}` or a line break), the same name as identifier and string
  return code.replace(/(?<=[;{}\n])(?:\(0,[\w$]+\.__name\)|__name)\(([\w$]+),"\1"\);/g, '');
}

rmSync(outdir, { recursive: true, force: true });
const { outputFiles } = await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli/main.js'],
  outdir,
  bundle: true,
  // esbuild splits only ES modules: the chunks become CommonJS below
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name)),
  // esbuild renames a class that another module's name collides with (commander's
  // `InvalidArgumentError` became `InvalidArgumentError2`); errors are told apart by class name
  keepNames: true,
  charset: 'ascii',
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [lazyChildProcess],
  write: false,
  logLevel: 'warning',
});

mkdirSync(outdir, { recursive: true });
const hash = createHash('sha256');
const chunks = [];
for (const file of outputFiles) {
  const { code: transformed } = await transform(file.text, {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    charset: 'ascii',
    minifyWhitespace: true,
    // `import('./chunk.js')` becomes `require`: the loader resolves chunks itself
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': '__moduleUrl' },
    logLevel: 'warning',
  });
  const code = dropRedundantNames(transformed);
  const moduleUrl = code.includes('__moduleUrl')
    ? "var __moduleUrl = require('node:url').pathToFileURL(__filename).href;\n"
    : '';
  // A CommonJS module function, as Node wraps one, written so: V8 compiles the file's text as it
  // is read (a wrapper added at run time would be a copy of it)
  const script = `(function (exports, require, module, __filename, __dirname) {${moduleUrl}${code}\n})`;
  hash.update(basename(file.path)).update(script);
  chunks.push({ path: file.path, script });
}
// The build's identity, first in main.js: the loader keeps the code caches it makes itself
// (for another Node than this one) under it.
const id = hash.digest('hex').slice(0, 16);
for (const { path, script } of chunks)
  writeFileSync(path, basename(path) === 'main.js' ? `// tsbpf-bundle ${id}\n${script}` : script);
writeFileSync(join(outdir, 'package.json'), '{ "type": "commonjs" }\n');

// The code cache for this Node, made by running the common commands once in a child process
// (a cache taken after running holds the functions compiled on the way, not just the top level).
execFileSync(process.execPath, [join(root, 'scripts/code-cache.mjs')], { cwd: root, stdio: 'inherit' });
