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
import ts from 'typescript';

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
 * `keepNames` has each named function and class set its name with `__name(f, "f")` (a
 * defineProperty, and a map of its own for the function), in case bundling renamed it. Where the
 * name is the one JavaScript gives it anyway, the call changes nothing but costs (1,400 of the
 * 1,460 in the bundle; those inside functions ran at every call), so it is dropped:
 * - `__name(f, "f");` after `function f` or `class f`, and `static { __name(this, "C") }` in
 *   `class C` or `var C = class` (V8 names the class before its static blocks run);
 * - `__name(() => …, "x")` as the value of `var x =`, `x =` or `{ x: … }`, where the arrow
 *   would be named `x`.
 * Those that restore a renamed symbol's name (`__name(parse2, "parse")`) stay.
 */
function dropRedundantNames(code) {
  const file = ts.createSourceFile('chunk.js', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  // Text TypeScript's parser does not read as esbuild meant it stays as it is.
  if (file.parseDiagnostics.length > 0) return code;
  /** @type {Array<[start: number, end: number]>} ranges to delete */
  const edits = [];
  const nameOf = (node) =>
    node && (ts.isIdentifier(node) || ts.isStringLiteral(node)) ? node.text : undefined;
  const isNameCall = (node) => {
    if (!ts.isCallExpression(node) || node.arguments.length !== 2) return false;
    if (!ts.isStringLiteral(node.arguments[1])) return false;
    // `__name(…)` or esbuild's `(0, import_chunk.__name)(…)`
    let callee = node.expression;
    if (ts.isParenthesizedExpression(callee)) callee = callee.expression;
    if (ts.isBinaryExpression(callee) && callee.operatorToken.kind === ts.SyntaxKind.CommaToken)
      callee = callee.right;
    const last = ts.isPropertyAccessExpression(callee) ? callee.name : callee;
    return ts.isIdentifier(last) && last.text === '__name';
  };
  const hasStaticName = (cls) =>
    cls.members.some(
      (m) => nameOf(m.name) === 'name' && m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword),
    );
  const visit = (node) => {
    if (isNameCall(node)) {
      const [target, name] = node.arguments;
      const parent = node.parent;
      if (ts.isExpressionStatement(parent)) {
        const declared =
          ts.isIdentifier(target) &&
          target.text === name.text &&
          parent.parent.statements?.some(
            (s) => (ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)) && s.name?.text === name.text,
          );
        // `class C { static { … } }`, or `var C = class { static { … } }` (named C as it is made)
        const cls = parent.parent.parent?.parent;
        const className =
          cls && (ts.isClassDeclaration(cls) || ts.isClassExpression(cls))
            ? (cls.name?.text ??
              (ts.isVariableDeclaration(cls.parent) && cls.parent.initializer === cls
                ? nameOf(cls.parent.name)
                : undefined))
            : undefined;
        const own =
          target.kind === ts.SyntaxKind.ThisKeyword &&
          ts.isClassStaticBlockDeclaration(parent.parent.parent) &&
          className === name.text &&
          !hasStaticName(cls);
        if (declared || own) edits.push([parent.getStart(file), parent.end]);
      } else if (ts.isArrowFunction(target)) {
        const named =
          (ts.isVariableDeclaration(parent) && parent.initializer === node && nameOf(parent.name)) ||
          (ts.isPropertyAssignment(parent) && parent.initializer === node && nameOf(parent.name)) ||
          (ts.isBinaryExpression(parent) &&
            parent.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
            parent.right === node &&
            ts.isIdentifier(parent.left) &&
            parent.left.text);
        // the call around the arrow goes: `(0, m.__name)(` before it, `, "x")` after it
        if (named === name.text)
          edits.push([node.getStart(file), target.getStart(file)], [target.end, node.end]);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  // Every edit deletes a range, and no two overlap (an arrow's own body, which may hold more of
  // them, stays): deleted from the last back.
  let out = code;
  for (const [start, end] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + out.slice(end);
  return out;
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
