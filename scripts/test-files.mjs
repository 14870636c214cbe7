// The test files `npm test` runs (src, fuzz, web), longest first: node --test starts them in this
// order on its workers, so a long file started last cannot leave one worker running alone at the
// end (in path order web/web.test.ts, the longest, came last). The order is a measurement (each
// test file's process, start to exit, in one `npm test` on the 2-core machine); a file not listed
// runs after the listed ones, in path order.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

/** The longest files, longest first (2026-12-04: the slowest 20 of 122). */
const LONGEST = [
  'src/readme.test.ts',
  'src/skeleton/skeleton.test.ts',
  'src/verifier/diff/soundness.test.ts',
  'fuzz/fuzz.test.ts',
  'src/build/clang.test.ts',
  'web/web.test.ts',
  'src/package.test.ts',
  'src/object/btf-c.test.ts',
  'src/kernel/bcc.test.ts',
  'src/verifier/diff/corpus.test.ts',
  'src/object/btf-dump.test.ts',
  'src/kernel/attach/attach.test.ts',
  'src/object/objdump.test.ts',
  'src/imports.test.ts',
  'src/build/macros.test.ts',
  'src/kernel/tools/execsnoop.test.ts',
  'src/vm/test-run.test.ts',
  'src/kernel/sys/cleanup.test.ts',
  'src/cli/cli.test.ts',
  'src/object/object.test.ts',
];

/** The test files, relative to the project, longest first. */
export function testFiles() {
  return ['src', 'fuzz', 'web']
    .flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
        .map((entry) => relative(root, join(entry.parentPath, entry.name))),
    )
    .sort()
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

const rank = (file) => {
  const at = LONGEST.indexOf(file);
  return at < 0 ? LONGEST.length : at;
};

// `node scripts/test-files.mjs` prints them.
if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(testFiles().join('\n'));
