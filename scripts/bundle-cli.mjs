// The tsbpf command's own build: dist/cli/main.js (tsc's output) bundled by esbuild into
// dist/bundle/ (our modules only, not the npm packages), one module per command group (the groups main.ts imports lazily stay lazy, as
// chunks). Node's ESM loader pays per module — resolving, reading, compiling — so a command that
// loads a hundred small modules starts up to a third faster from a few bundled ones. The API
// (`import … from 'tsbpf'`) stays tsc's unbundled output. Run by `npm run build`.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}dist/bundle`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli/main.js'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // our code only: packages (commander, koffi, yaml…) load from node_modules as they did, and
  // CommonJS ones keep their own require()
  packages: 'external',
  logLevel: 'warning',
});
