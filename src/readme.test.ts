// Every README snippet runs: the `$ tsbpf …` command lines (in-process, output checked line by
// line against what the README shows) and the TypeScript examples (with `tsbpf` mapped to src/
// and `// value` comments checked). Kernel snippets run only where bpf() is available; live
// sessions (`tools`, `run --kernel`) run in their own process until Ctrl-C, checked for their
// header and a clean exit; the ones that need another step's state (a pinned program) say so.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot, tsbpf } from './cli/test-harness.js';
import { distIsFresh } from './dist.fixture.js';
import { bpfUnavailable, tracefsUnavailable } from './kernel/sys/availability.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-readme-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const noKernel = bpfUnavailable();
const noTracefs = noKernel ?? tracefsUnavailable();
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
  if (isLive(args) && noTracefs) return `a live session needs tracefs: ${noTracefs}`;
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

/** A command that runs until stopped, printing what the system does. */
const isLive = (args: readonly string[]) =>
  args[0] === 'tools' || (args[0] === 'run' && args.includes('--kernel'));

/**
 * Run a live session as the user would: its own process, stopped with Ctrl-C (SIGINT) once it
 * has printed something (it is set up) and run `ms` more, unless it has a count to end by.
 */
async function runLive(
  args: readonly string[],
  ms: number,
): Promise<{ status: number | null; output: string }> {
  const argv = distIsFresh(['dist/bundle/main.js'])
    ? ['bin/tsbpf.js', ...args]
    : [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(${JSON.stringify(args)});`,
      ];
  const child = spawn(process.execPath, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  // `runqlat 1 1`: an interval and a count (positional, not option values), so it stops by itself
  const endsItself = args.filter((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('-')).length >= 2;
  let output = '';
  let stop: NodeJS.Timeout | undefined;
  const collect = (d: Buffer) => {
    output += d.toString();
    if (!endsItself) stop ??= setTimeout(() => child.kill('SIGINT'), ms);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // a session that never prints is stopped all the same (and fails on what it did not print)
  const silent = setTimeout(() => child.kill('SIGINT'), 30_000);
  const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const status = await exited;
  clearTimeout(stop);
  clearTimeout(silent);
  clearTimeout(kill);
  return { status, output };
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

/** The live sessions, registered by the loop below and run side by side after it. */
const live: Array<() => void> = [];

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
        if (isLive(args.slice(1))) {
          // What a live session prints depends on the system; its first line (the column
          // header) and the programs it attached do not. It must end cleanly on Ctrl-C.
          const stable = expected.filter((l, n) => l.trim() && (n === 0 || l.includes('"kind":"attached"')));
          live.push(() =>
            test(`README.md:${block.line + 1 + i}: ${part} (then Ctrl-C)`, {
              skip: skip ?? false,
            }, async () => {
              const { status, output } = await runLive(words(part.replace(/^sudo /, '')).slice(1), 1000);
              assert.equal(status, 0, `exit status ${status}\n--- got:\n${output}`);
              for (const want of stable.map((l) => l.trim())) {
                if (want.startsWith('{') && !want.includes('"kind":"attached"')) {
                  // a JSON event: some line of the output has the same members
                  const keys = (line: string) => Object.keys(JSON.parse(line) as object).join(',');
                  const lines = output.split('\n').filter((l) => l.startsWith('{'));
                  assert.ok(
                    lines.some((l) => keys(l) === keys(want)),
                    `no event like ${want}\n--- got:\n${output}`,
                  );
                } else assert.ok(output.includes(want), `missing: ${want}\n--- got:\n${output}`);
              }
            }),
          );
          continue;
        }
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

describe('README live sessions', { concurrency: true }, () => {
  // Processes start and exit all along, so that the tracing tools have something to show.
  let busy: NodeJS.Timeout | undefined;
  before(() => {
    busy = setInterval(
      () => spawn('/bin/sh', ['-c', 'cat /etc/hostname >/dev/null; exit 3'], { stdio: 'ignore' }),
      100,
    );
  });
  after(() => clearInterval(busy));
  for (const register of live) register();
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
