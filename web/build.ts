/**
 * `npm run build:web`: bundles the playground with esbuild into `web/dist/` — `index.html`,
 * `style.css`, `app.js`, the example objects (`examples/*.bpf.o` and the verifier's broken
 * example) and the sample capture — and prints the sizes. The directory is deployable as is.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
export const distDir = join(root, 'web/dist');

/** Example objects shipped with the page. */
function exampleFiles(): string[] {
  const files = readdirSync(join(root, 'examples'))
    .filter((f) => f.endsWith('.bpf.o'))
    .map((f) => join(root, 'examples', f));
  return [...files, join(root, 'testdata/kernel/broken.bpf.o')].sort((a, b) =>
    basename(a).localeCompare(basename(b)),
  );
}

export interface WebBuild {
  readonly dir: string;
  /** `app.js` bytes, raw and gzipped. */
  readonly appBytes: number;
  readonly appGzipBytes: number;
}

/** Build the page into `web/dist/` (or `dir`). */
export async function buildWeb(dir = distDir): Promise<WebBuild> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'examples'), { recursive: true });
  const examples = exampleFiles();
  await build({
    absWorkingDir: root,
    entryPoints: ['web/src/main.ts'],
    outfile: join(dir, 'app.js'),
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    define: { TSBPF_EXAMPLES: JSON.stringify(examples.map((f) => basename(f))) },
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'web/index.html'), join(dir, 'index.html'));
  copyFileSync(join(root, 'web/style.css'), join(dir, 'style.css'));
  copyFileSync(join(root, 'testdata/pcap/sample.pcap'), join(dir, 'sample.pcap'));
  for (const file of examples) copyFileSync(file, join(dir, 'examples', basename(file)));
  const app = readFileSync(join(dir, 'app.js'));
  return { dir, appBytes: app.length, appGzipBytes: gzipSync(app, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await buildWeb();
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const total = readdirSync(result.dir, { recursive: true })
    .map((f) => join(result.dir, String(f)))
    .filter((f) => statSync(f).isFile())
    .reduce((sum, f) => sum + statSync(f).size, 0);
  console.log(
    `web/dist: app.js ${kib(result.appBytes)} (${kib(result.appGzipBytes)} gzipped), all files ${kib(total)}`,
  );
}
