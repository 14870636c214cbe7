// The package as users get it: `npm pack`, installed into an empty project with no network
// (its dependencies come from this checkout's node_modules), then the `tsbpf` bin, `import` of
// 'tsbpf' and 'tsbpf/kernel' from plain Node ESM, the types from TypeScript, and a browser bundle
// of 'tsbpf' through its `browser` export condition.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { distIsFresh } from './dist.fixture.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tsbpf-package-'));
const project = join(work, 'project');
after(() => rmSync(work, { recursive: true, force: true }));

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

before(() => {
  // `npm pack` runs `prepare` (the build); skip that when dist/ is newer than every source, as
  // after `npm ci`, and build only when a source changed since.
  if (!distIsFresh()) run('npm', ['run', '--silent', 'build'], root);
  const packed = JSON.parse(
    run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root),
  ) as Array<{
    filename: string;
  }>;
  const tarball = join(work, packed[0]!.filename);
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'project', private: true, type: 'module' }),
  );
  // The runtime dependencies (and theirs), as this checkout has them: the install needs no registry.
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const dependencies = Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev && existsSync(join(root, path)))
    .map(([path]) => join(root, path));
  // Installed from folders, dependencies would run their `prepare` scripts (prom-client's runs
  // husky, a dev tool it does not ship): they are built already, so run no scripts.
  run(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--no-save',
      '--ignore-scripts',
      tarball,
      ...dependencies,
    ],
    project,
  );
});

test('the tarball holds the build, the bin, the headers and the licence, not the sources or tests', () => {
  const files = JSON.parse(
    run('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], root),
  )[0].files.map((f: { path: string }) => f.path) as string[];
  for (const path of [
    'LICENSE',
    'README.md',
    'bin/tsbpf.js',
    'bin/package.json',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/kernel/index.js',
    'dist/cli/main.js',
    'dist/bundle/main.js',
    'dist/bundle/package.json',
    `dist/bundle/code-cache/${process.version}-${process.arch}/main.js`,
    'include/tsbpf/bpf_helpers.h',
    'tools/execsnoop.bpf.o',
  ])
    assert.ok(files.includes(path), path);
  assert.deepEqual(
    files.filter(
      (f) =>
        f.startsWith('src/') || f.endsWith('.test.js') || f.includes('test-harness') || f.includes('fixture'),
    ),
    [],
  );
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string };
  assert.equal(pkg.license, 'MIT');
  assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /^MIT License/);
});

test('the tsbpf bin runs from the installed package', () => {
  const bin = join(project, 'node_modules/.bin/tsbpf');
  assert.equal(run(bin, ['--version'], project).trim(), '0.1.0');
  writeFileSync(join(project, 'add.s'), 'r0 = r1\nr0 += 41\nexit\n');
  assert.match(run(bin, ['asm', 'add.s', '-o', 'add.bin'], project), /add\.bin: 3 instructions, 24 bytes/);
  assert.match(run(bin, ['disasm', 'add.bin'], project), /^ {3}1: r0 \+= 0x29$/m);
  // No devDependency is there to lean on.
  assert.ok(!existsSync(join(project, 'node_modules/tsx')));
  assert.ok(!existsSync(join(project, 'node_modules/typescript')));
});

test('the bin makes its own code cache for another Node, and runs where it cannot write one', () => {
  const bin = join(project, 'node_modules/.bin/tsbpf');
  writeFileSync(join(project, 'one.s'), 'r0 = 1\nexit\n');
  const asm = (cacheHome: string) =>
    execFileSync(bin, ['asm', 'one.s', '-o', 'one.bin'], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, XDG_CACHE_HOME: cacheHome },
    });
  // as if built by another Node: the package's cache is not for this one
  rmSync(join(project, 'node_modules/tsbpf/dist/bundle/code-cache'), { recursive: true, force: true });
  // a folder under a file cannot be made, even by root
  assert.match(asm(join(project, 'package.json', 'cache')), /one\.bin: 2 instructions/);
  const cacheHome = join(work, 'cache');
  assert.match(asm(cacheHome), /one\.bin: 2 instructions/);
  const [made] = readdirSync(join(cacheHome, 'tsbpf/code-cache'));
  assert.match(made!, new RegExp(`^[0-9a-f]{16}-${process.version}-${process.arch}$`));
  const files = readdirSync(join(cacheHome, 'tsbpf/code-cache', made!));
  assert.ok(files.includes('main.js') && files.some((f) => f.startsWith('isa-commands-')), files.join(' '));
  assert.match(asm(cacheHome), /one\.bin: 2 instructions/);
  assert.deepEqual(readdirSync(join(cacheHome, 'tsbpf/code-cache', made!)).sort(), files.sort());
});

test("'tsbpf' and 'tsbpf/kernel' import from plain Node ESM", () => {
  writeFileSync(
    join(project, 'main.js'),
    [
      "import { assemble, encode, Vm } from 'tsbpf';",
      "import { bpfUnavailable, loadObject } from 'tsbpf/kernel';",
      'const vm = new Vm();',
      "const result = vm.run(vm.load(encode(assemble('r0 = *(u8 *)(r1 + 1)\\nr0 += 1\\nexit'))), { mem: new Uint8Array([5, 41]) });",
      'console.log(result.r0, typeof loadObject, typeof bpfUnavailable);',
    ].join('\n'),
  );
  assert.equal(run(process.execPath, ['main.js'], project).trim(), '42n function function');
});

test('TypeScript finds the types of both entries', () => {
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['check.ts'],
    }),
  );
  writeFileSync(
    join(project, 'check.ts'),
    [
      "import { type Insn, assemble, Vm } from 'tsbpf';",
      "import { type KernelObject, loadObject } from 'tsbpf/kernel';",
      "const insns: Insn[] = assemble('r0 = 1\\nexit');",
      'const r0: bigint = new Vm().run(new Vm().load(insns)).r0;',
      'export const load: (path: string) => KernelObject = (path) => loadObject(path);',
      '// @ts-expect-error: assemble takes source text (fails to compile only if the types are real)',
      'assemble(42);',
      'export { r0 };',
    ].join('\n'),
  );
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  try {
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
  } catch (error) {
    assert.fail(`tsc: ${(error as { stdout?: string }).stdout ?? error}`);
  }
});

test("'tsbpf' bundles for the browser through its browser condition", async () => {
  writeFileSync(join(project, 'web.js'), "import { assemble, Vm } from 'tsbpf';\nexport { assemble, Vm };\n");
  const result = await build({
    absWorkingDir: project,
    entryPoints: ['web.js'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  assert.doesNotMatch(result.outputFiles[0]!.text, /\bnode:|\brequire\(/);
});
