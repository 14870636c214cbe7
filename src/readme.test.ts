// Every README snippet runs: the `$ tsbpf …` command lines (in-process, output checked line by
// line against what the README shows) and the TypeScript examples (with `tsbpf` mapped to src/
// and `// value` comments checked). Kernel snippets run only where bpf() is available; the ones
// that need another step's state (a pinned program, a live session) say so when skipped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot, tsbpf } from './cli/test-harness.js';
import { bpfUnavailable } from './kernel/sys/availability.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-readme-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const noKernel = bpfUnavailable();
const noClang = spawnSync('clang-19', ['--version']).status === 0 ? undefined : 'clang-19 is not installed';

interface Block {
  readonly lang: string;
  readonly line: number;
  readonly text: string;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] ?? '');
    out.push({ lang: open[1] ?? '', line: start + 1, text: body.join('\n') });
  }
  return out;
}

/** Split a command line as a POSIX shell would for the simple forms the README uses. */
function words(command: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** Expand a `*` in the last path component. */
function glob(word: string): string[] {
  if (!word.includes('*')) return [word];
  const dir = dirname(word);
  const pattern = new RegExp(`^${basename(word).replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
  const base = isAbsolute(dir) ? dir : join(repoRoot, dir);
  return readdirSync(base)
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => join(dir, name));
}

const KERNEL_COMMANDS = new Set(['load', 'prog', 'map', 'link', 'feature', 'tools']);

/** Why a command line is not run here, or undefined. */
function whySkip(line: string, args: readonly string[]): string | undefined {
  const command = args[0] ?? '';
  if (/(^|\s)>\s*\S/.test(line)) return 'writes a file into the working tree';
  if (args.includes('build') || args.includes('gen')) {
    if (args.some((a) => a.startsWith('examples/')) && !args.includes('-o'))
      return 'rewrites a committed example object';
    if (noClang && args.includes('build')) return noClang;
  }
  const kernel =
    line.startsWith('sudo') ||
    args.includes('--kernel') ||
    KERNEL_COMMANDS.has(command) ||
    (command === 'export' && !args.includes('--check')) ||
    args.some((a) => a.startsWith('/sys/'));
  if (kernel && noKernel) return `needs the kernel: ${noKernel}`;
  if (command === 'tools' || (command === 'run' && args.includes('--kernel')))
    return 'a live session: runs until stopped, printing what the system does';
  if (['prog', 'map', 'link'].includes(command) || (command === 'export' && !args.includes('--check')))
    return 'needs a program loaded and pinned by another step';
  for (const arg of args) {
    if (/^\.\.\/shared\//.test(arg) && !existsSync(join(repoRoot, arg.replace(/\*.*$/, ''))))
      return '../shared is not here';
    if (
      /\.(s|yaml|o|data|jsonl|pcap)$/.test(arg) &&
      !arg.includes('*') &&
      !isAbsolute(arg) &&
      !existsSync(join(repoRoot, arg.split(':')[0] ?? arg))
    )
      return `${arg} is made in the text around the snippet`;
  }
  return undefined;
}

/** Run one `tsbpf …` line (pipes to head/tail emulated); stdout and stderr as one text. */
async function runLine(line: string): Promise<{ status: number; output: string }> {
  const [main, ...pipes] = line.replace(/\s+#\s.*$/, '').split(' | ');
  let args = words(main ?? '');
  if (args[0] === 'sudo') args = args.slice(1);
  args = args.slice(1).flatMap(glob);
  // Output files go to a temporary folder, not the working tree.
  args = args.map((arg, i) =>
    i > 0 && ['-o', '--write'].includes(args[i - 1] ?? '') && !isAbsolute(arg)
      ? join(tmp, basename(arg))
      : arg,
  );
  const r = await tsbpf(...args);
  let out = r.stdout;
  for (const pipe of pipes) {
    const [tool, flag, n] = words(pipe);
    if (tool === 'head' && flag === '-c') out = out.slice(0, Number(n));
    else if (tool === 'head')
      out = out
        .split('\n')
        .slice(0, Number(flag?.slice(1)))
        .join('\n');
    else if (tool === 'tail')
      out = out
        .trimEnd()
        .split('\n')
        .slice(-Number(flag?.slice(1)))
        .join('\n');
  }
  return { status: r.status, output: `${out}\n${r.stderr}`.replaceAll(`${tmp}/`, '') };
}

describe('README command lines', () => {
  for (const block of blocks(readme).filter(
    (b) => b.lang === '' || b.lang === 'sh' || b.lang === 'console',
  )) {
    const lines = block.text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (!line.startsWith('$ ')) continue;
      const expected: string[] = [];
      for (let j = i + 1; j < lines.length && !(lines[j] ?? '').startsWith('$ '); j++)
        expected.push(lines[j] ?? '');
      const text = line.slice(2);
      for (const part of text.split(' && ')) {
        const args = words(part.replace(/^sudo /, ''));
        if (args[0] !== 'tsbpf') continue;
        const skip = whySkip(part, args.slice(1));
        test(`README.md:${block.line + 1 + i}: ${part}`, { skip: skip ?? false }, async () => {
          const { output } = await runLine(part);
          const flat = output.replace(/\s+/g, ' ');
          // Every line the README shows is printed (lines with an ellipsis are abbreviated).
          for (const want of expected.map((l) => l.trim()).filter((l) => l && !/…|\.\.\./.test(l)))
            assert.ok(flat.includes(want.replace(/\s+/g, ' ')), `missing: ${want}\n--- got:\n${output}`);
        });
      }
    }
  }
});

/** A TypeScript snippet as a module: `tsbpf` imports point at src/, `// 42n` comments become checks. */
function runnable(text: string, dir: string): string {
  const src = (path: string) => pathToFileURL(join(repoRoot, 'src', path)).href;
  let body = text
    .replace(/from 'tsbpf\/kernel'/g, `from '${src('kernel/index.ts')}'`)
    .replace(/from 'tsbpf'/g, `from '${src('index.ts')}'`)
    .replace(
      /readFileSync\('(examples\/[^']+)'\)/g,
      (_m, p: string) => `readFileSync(${JSON.stringify(join(repoRoot, p))})`,
    )
    .replace(
      /loadObject\('(examples\/[^']+)'\)/g,
      (_m, p: string) => `loadObject(${JSON.stringify(join(repoRoot, p))})`,
    )
    .replace(
      /from '\.\/([^']+)\.js'/g,
      (_m, p: string) => `from '${pathToFileURL(join(dir, `${p}.mts`)).href}'`,
    );
  body = body
    .split('\n')
    .map((line) => {
      const m = /^(\s*)([^/]+?);\s*\/\/\s*(-?\d+n?|\[[^\]]*\])(:|\s|$)/.exec(line);
      return m && !/^(const|let|var|await|return)\b/.test(m[2] ?? '')
        ? `${m[1]}__check(${m[2]}, ${m[3]}, ${JSON.stringify(line.trim())});`
        : line;
    })
    .join('\n');
  const imports = body.split('\n').filter((l) => l.startsWith('import '));
  const rest = body.split('\n').filter((l) => !l.startsWith('import '));
  return [
    "import { deepStrictEqual as __equal } from 'node:assert';",
    ...imports,
    'const frame = new Uint8Array(64); frame[12] = 8; frame[14] = 0x45; frame[23] = 6;',
    'function __check(actual: unknown, expected: unknown, line: string) { __equal(actual, expected, line); }',
    ...rest,
    'export {};',
  ].join('\n');
}

describe('README TypeScript snippets', () => {
  blocks(readme)
    .filter((b) => b.lang === 'ts')
    .forEach((block, n) => {
      const kernel =
        /loadObject\('examples|backend: 'kernel'/.test(block.text) && /tsbpf\/kernel/.test(block.text);
      test(`README.md:${block.line}: TypeScript snippet ${n + 1}`, {
        skip: kernel && noKernel ? `needs the kernel: ${noKernel}` : false,
      }, async () => {
        const dir = mkdtempSync(join(tmp, 'ts-'));
        const skeleton = /from '\.\/(\w+)\.skel\.js'/.exec(block.text)?.[1];
        if (skeleton) {
          const out = join(dir, `${skeleton}.skel.mts`);
          const r = await tsbpf('gen', 'skeleton', `examples/${skeleton}.bpf.o`, '-o', out);
          assert.equal(r.status, 0, r.stderr);
          writeFileSync(
            out,
            runnable(readFileSync(out, 'utf8'), dir).replace(/^const frame.*\n|^function __check.*\n/gm, ''),
          );
        }
        const file = join(dir, 'snippet.mts');
        writeFileSync(file, runnable(block.text, dir));
        await import(pathToFileURL(file).href);
      });
    });
});
