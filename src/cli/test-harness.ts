/**
 * For tests: run a `tsbpf` command line in-process, as a user would type it in the repository
 * root, and collect what it writes. Starting the CLI as a process costs a Node start-up each time;
 * this costs a function call. Not part of the package (excluded from the build).
 */
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import type { CliOutput } from './io.js';
import { main } from './main.js';

/** The repository root: command lines in tests name files relative to it. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** What a command wrote and how it ended. */
export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `tsbpf ...args` in-process from the repository root. */
export async function tsbpf(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void): CliOutput => ({
    write: (text: string) => {
      append(text);
      return true;
    },
    isTTY: false,
  });
  const cwd = process.cwd();
  process.chdir(repoRoot);
  try {
    const status = await main(args, {
      stdout: sink((text) => {
        stdout += text;
      }),
      stderr: sink((text) => {
        stderr += text;
      }),
    });
    // Colour is decided once per process (picocolors); tests compare plain text.
    return { status, stdout: stripVTControlCharacters(stdout), stderr: stripVTControlCharacters(stderr) };
  } finally {
    process.chdir(cwd);
  }
}
