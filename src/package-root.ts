/**
 * The package's root folder (where its package.json is), found from a module's own URL: the
 * same answer from src/ under tsx, from dist/ and from the bundled CLI in dist/bundle/, whose
 * chunks sit at another depth than the modules they were made from. Node only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The package root: the nearest folder above this module whose package.json names `tsbpf`. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tsbpf'
    ) {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`tsbpf: no package.json of tsbpf above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
