// The tsbpf command's own build: dist/cli/main.js (tsc's output) bundled by esbuild into
// dist/bundle/, one chunk per command group (the groups main.ts imports lazily stay lazy), then
// each chunk turned into a CommonJS module function, the chunks the common commands load together
// written into one file, and V8's compiled code for the files saved beside them.
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
 * Node built-ins that a bundled module imports for a path no short command takes, given to it as
 * a module that loads the built-in on first use:
 * - commander requires node:child_process as it loads, for subcommands that are executables,
 *   which tsbpf has none of; loading it (with net, dgram and the stream modules) cost a few
 *   percent of `node -e 0`;
 * - src/cli/commonjs.ts imports node:module's `createRequire` for the unbundled ES modules (tests,
 *   dist/cli/), which have no `require`; the chunks have one, and loading node:module cost ~1 ms.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:(child_process|module)$/ }, ({ path, importer }) => {
      if (path === 'node:child_process' && importer.includes('/node_modules/commander/'))
        return { path: 'child_process', namespace: 'lazy' };
      if (path === 'node:module' && importer.endsWith('/dist/cli/commonjs.js'))
        return { path: 'module', namespace: 'lazy' };
      return undefined;
    });
    build.onLoad({ filter: /^child_process$/, namespace: 'lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
      loader: 'js',
    }));
    build.onLoad({ filter: /^module$/, namespace: 'lazy' }, () => ({
      contents: "export const createRequire = (url) => require('node:module').createRequire(url);",
      loader: 'js',
    }));
  },
};

/**
 * `keepNames` has each named function and class set its name with `__name(f, "f")`, in case
 * bundling renamed it. Where the name is the one JavaScript gives it anyway, the call changes
 * nothing but costs (a call, and an arrow's name defined: an arrow passed to a call has no name
 * yet, so `__name`'s own check below cannot skip it), so it is dropped from the text (1,400 of
 * the 1,460 calls in the bundle; those inside functions ran at every call):
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
  plugins: [lazyBuiltins],
  write: false,
  logLevel: 'warning',
});

mkdirSync(outdir, { recursive: true });
/**
 * esbuild's `__name` (keepNames) defines `name` on every function and class it names, which gives
 * each one a property store of its own (~400 bytes of garbage each at start); a function whose
 * name is already the one kept (every one esbuild did not rename) is left as it is.
 */
const NAME_HELPER = '__name=(target,value)=>__defProp(target,"name",{value,configurable:!0})';
const NAME_IF_RENAMED =
  '__name=(target,value)=>target.name===value?target:__defProp(target,"name",{value,configurable:!0})';
if (outputFiles.filter((file) => file.text.includes(NAME_HELPER)).length !== 1)
  throw new Error("bundle: esbuild's __name helper is not where it was: see NAME_HELPER");
const CJS_EXPORTS = 'module.exports=__toCommonJS(stdin_exports);';
const OWN_EXPORTS = 'module.exports=__defProp(stdin_exports,"__esModule",{value:true});';
let ownExports = 0;
/** @type {Array<{ name: string, script: string }>} */
const chunks = [];
for (const file of outputFiles) {
  const { code: transformed } = await transform(file.text.replace(NAME_HELPER, NAME_IF_RENAMED), {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    charset: 'ascii',
    minifyWhitespace: true,
    // `import('./chunk.js')` becomes `require`: the loader resolves chunks itself
    supported: { 'dynamic-import': false },
    // a chunk's URL is made when asked for (few commands do): pathToFileURL cost ~1 ms at load
    define: { 'import.meta.url': '__moduleMeta.url' },
    logLevel: 'warning',
  });
  let code = dropRedundantNames(transformed);
  // esbuild's CommonJS exports are a copy of the chunk's exports object, each property a getter
  // calling the original's getter (a closure and two descriptors per export at load, and two
  // calls per use); the chunk's own exports object, marked as an ES module, serves the same.
  if (code.includes(CJS_EXPORTS)) {
    code = code.replace(CJS_EXPORTS, OWN_EXPORTS);
    ownExports++;
  }
  const moduleUrl = code.includes('__moduleMeta')
    ? "var __moduleMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };\n"
    : '';
  // A CommonJS module function, as Node wraps one, written so: V8 compiles the file's text as it
  // is read (a wrapper added at run time would be a copy of it)
  const script = `(function (exports, require, module, __filename, __dirname) {${moduleUrl}${code}\n})`;
  chunks.push({ name: basename(file.path), script });
}
if (ownExports === 0) throw new Error(`bundle: no chunk has esbuild's ${CJS_EXPORTS}`);
const scripts = new Map(chunks.map(({ name, script }) => [name, script]));
for (const { name, script } of chunks) writeFileSync(join(outdir, name), script);
writeFileSync(join(outdir, 'package.json'), '{ "type": "commonjs" }\n');

// Files: the chunks that the common commands load together (the same commands load each of
// them) are written into one file, named after the first of them to load, so that a command reads
// and compiles a few files rather than a score (each cost ~0.1 ms and ~12 KB of garbage).
const profile = JSON.parse(
  execFileSync(process.execPath, [join(root, 'scripts/code-cache.mjs'), '--profile'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
/** @type {Map<string, string[]>} the commands that load a chunk (as a key) → its chunks, in load order */
const groups = new Map();
const commandsOf = (name) =>
  Object.keys(profile)
    .filter((command) => profile[command].includes(name))
    .join(' ');
for (const name of new Set(Object.values(profile).flat())) {
  const key = commandsOf(name);
  groups.set(key, [...(groups.get(key) ?? []), name]);
}
/** @type {Record<string, string>} chunk → the file that holds it, for the chunks in another's file */
const fileOf = {};
/** @type {Map<string, string>} file → its text */
const files = new Map(chunks.map(({ name, script }) => [name, script]));
for (const members of groups.values()) {
  const [first] = members;
  if (members.includes('main.js') && first !== 'main.js') throw new Error('bundle: main.js must load first');
  for (const name of members.slice(1)) {
    fileOf[name] = first;
    files.delete(name);
  }
  // A group is `[[name, module function], …]`; main.js's starts with the index of the groups.
  const entries = members.map((name) => `[${JSON.stringify(name)},${scripts.get(name)}]`);
  if (first === 'main.js') entries.unshift('["(files)",FILES]');
  files.set(first, `[${entries.join(',\n')}]`);
}
const index = JSON.stringify(fileOf);
files.set('main.js', files.get('main.js').replace('["(files)",FILES]', `["(files)",${index}]`));
// The build's identity, first in main.js: the loader keeps the code caches it makes itself
// (for another Node than this one) under it.
const hash = createHash('sha256');
for (const [name, text] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(name).update(text);
const id = hash.digest('hex').slice(0, 16);
for (const name of scripts.keys()) if (!files.has(name)) rmSync(join(outdir, name));
for (const [name, text] of files)
  writeFileSync(join(outdir, name), name === 'main.js' ? `// tsbpf-bundle ${id}\n${text}` : text);

// The code cache for this Node, made by running the common commands once in a child process
// (a cache taken after running holds the functions compiled on the way, not just the top level).
execFileSync(process.execPath, [join(root, 'scripts/code-cache.mjs')], { cwd: root, stdio: 'inherit' });
