/**
 * `npm run conformance [-- DIR] [--engine jit|interpreter]`: runs every bpf_conformance test vector (`DIR/*.data`, default
 * ../shared/conformance/tests) on the userspace VM and ends with `N passed, N failed`; the exit
 * status is non-zero when one fails. The vectors are the bpf_conformance project's
 * (https://github.com/Alan-Jowett/bpf_conformance, folder `tests/`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';

const args = process.argv.slice(2);
const at = args.indexOf('--engine');
const engine = at >= 0 ? args.splice(at, 2) : [];
const dir = args[0] ?? fileURLToPath(new URL('../../shared/conformance/tests/', import.meta.url));
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((name) => name.endsWith('.data'))
      .sort()
      .map((name) => join(dir, name))
  : [];
if (files.length === 0) {
  console.error(
    `conformance: no .data test vectors in ${dir}.\n` +
      'They come from the bpf_conformance project: git clone https://github.com/Alan-Jowett/bpf_conformance\n' +
      'then: npm run conformance -- bpf_conformance/tests',
  );
  process.exit(2);
}
process.exitCode = await main(['run', ...engine, ...files]);
