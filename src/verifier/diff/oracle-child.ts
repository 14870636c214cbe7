/**
 * The oracle's child process (started by `runOracle` under `setpriv` with fewer capabilities):
 * reads corpus cases as JSON lines on stdin, writes one verdict per line on stdout, in order.
 */
import { readFileSync } from 'node:fs';
import type { CorpusCase } from './corpus.js';
import { kernelVerdict } from './kernel-oracle.js';

const input = readFileSync(0, 'utf8');
const out: string[] = [];
for (const line of input.split('\n')) {
  if (line.trim() === '') continue;
  out.push(JSON.stringify(kernelVerdict(JSON.parse(line) as CorpusCase)));
}
process.stdout.write(out.join('\n') + '\n');
