// The public API runs in a browser: bundled for one by esbuild, it needs no Node built-in
// (`node:` imports fail to resolve for platform 'browser') and names neither `process` nor `Buffer`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));

test('src/index.ts bundles for the browser without Node built-ins', async () => {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/index.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  const imports = Object.entries(result.metafile.inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => i.external || i.path.startsWith('node:')).map((i) => `${file} → ${i.path}`),
  );
  assert.deepEqual(imports, [], 'imports left for the runtime to resolve');
  const text = result.outputFiles[0]!.text;
  // esbuild writes module specifiers in double quotes; generated-code templates (the skeleton
  // writer's `import('node:fs/promises')`) are strings, not imports.
  assert.doesNotMatch(text, /\bimport\("node:|\bfrom "node:/);
  assert.doesNotMatch(text, /\brequire\(/);
  assert.doesNotMatch(text, /\bprocess\.|\bBuffer\./);
  // Every top-level folder of the API is in the bundle.
  for (const folder of ['isa', 'object', 'maps', 'vm', 'pcap', 'jit', 'verifier'])
    assert.ok(
      Object.keys(result.metafile.inputs).some((f) => f.startsWith(`src/${folder}/`)),
      `${folder} is bundled`,
    );
});
