// Every README snippet runs: the `$ tsbpf …` command lines (in-process, output checked line by
// line against what the README shows) and the TypeScript examples (with `tsbpf` mapped to src/
// and `// value` comments checked). Kernel snippets run only where bpf() is available; live
// sessions (`tools`, `run --kernel`) run in their own process until Ctrl-C, checked for their
// header and a clean exit. A chain of lines shares kernel state (a program pinned under
// /sys/fs/bpf/xdp, here a folder of this run's own, removed after); the kernel's ids and load time
// the README shows are that day's, checked as the ones of the pinned program. Files the text
// around a snippet describes (`fault.s`, `bad.yaml`) are made in a temporary folder.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { repoRoot, tsbpf } from './cli/test-harness.js';
import { tsbpfProcessArgs } from './dist.fixture.js';
import { DEFAULT_EXPORT_LISTEN } from './kernel/export/defaults.js';
import { formatLocalTime, showProgram } from './kernel/inspect/info.js';
import { resolveOne } from './kernel/inspect/refs.js';
import { bpffsUnavailable, bpfUnavailable, tracefsUnavailable } from './kernel/sys/availability.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-readme-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const noKernel = bpfUnavailable();
const noTracefs = noKernel ?? tracefsUnavailable();
const noBpffs = bpffsUnavailable();
const noClang = spawnSync('clang-19', ['--version']).status === 0 ? undefined : 'clang-19 is not installed';

/** The README's pin folder, and this run's own in its place (runs on one machine must not collide). */
const README_PIN = '/sys/fs/bpf/xdp';
const pinDir = `/sys/fs/bpf/tsbpf-readme-${process.pid}`;
after(() => {
  if (!noBpffs) rmSync(pinDir, { recursive: true, force: true });
});

/** Files the text around a snippet describes, made for it in the temporary folder. */
const MADE: Readonly<Record<string, () => string>> = {
  // `tsbpf run fault.s --json      # r0 = *(u64 *)(r1 + 0) with no input memory`
  'fault.s': () => 'r0 = *(u64 *)(r1 + 0)\nexit\n',
  // "bad.yaml is examples/export.yaml with the label's field misspelt", its object named from here
  'bad.yaml': () => {
    const good = readFileSync(join(repoRoot, 'examples/export.yaml'), 'utf8');
    const bad = good
      .replace(/^object: export\.bpf\.o/m, `object: ${join(repoRoot, 'examples/export.bpf.o')}`)
      .replace(/field: comm\b/, 'field: com');
    assert.equal(bad.split('\n').length, good.split('\n').length);
    assert.notEqual(bad.replace(/^object: .*$/m, ''), good.replace(/^object: .*$/m, ''));
    return bad;
  },
};
for (const [name, make] of Object.entries(MADE)) writeFileSync(join(tmp, name), make());

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

/** The command word, after the global options (`tsbpf -j map dump …`). */
const commandOf = (args: readonly string[]) => args.find((a) => !a.startsWith('-')) ?? '';

/** Commands that read the objects the `load --pin` line leaves in the kernel. */
const readsPinned = (args: readonly string[]) => ['prog', 'map', 'link'].includes(commandOf(args));

/** Why a command line is not run here, or undefined. */
function whySkip(line: string, args: readonly string[], live: boolean): string | undefined {
  const command = commandOf(args);
  if (noClang && command === 'build') return noClang;
  const kernel =
    line.startsWith('sudo') ||
    args.includes('--kernel') ||
    KERNEL_COMMANDS.has(command) ||
    (command === 'export' && !args.includes('--check')) ||
    args.some((a) => a.startsWith('/sys/'));
  if (kernel && noKernel) return `needs the kernel: ${noKernel}`;
  if (live && noTracefs) return `a live session needs tracefs: ${noTracefs}`;
  if ((readsPinned(args) || args.includes('--pin')) && noBpffs)
    return `the README's chain of lines over what it pins under ${README_PIN}: ${noBpffs}`;
  for (const arg of args) {
    if (/^\.\.\/shared\//.test(arg) && !existsSync(join(repoRoot, arg.replace(/\*.*$/, ''))))
      return '../shared is not here';
    if (
      /\.(s|yaml|o|data|jsonl|pcap)$/.test(arg) &&
      !arg.includes('*') &&
      !isAbsolute(arg) &&
      !(arg in MADE) &&
      !existsSync(join(repoRoot, arg.split(':')[0] ?? arg))
    )
      return `${arg} is made in the text around the snippet`;
  }
  return undefined;
}

/** A command that runs until stopped, printing what the system does. */
const isLive = (args: readonly string[]) =>
  args[0] === 'tools' ||
  (args[0] === 'run' && args.includes('--kernel')) ||
  (args[0] === 'export' && !args.includes('--check'));

/** The arguments a README line's words stand for here: made files, this run's pin folder. */
const localArgs = (args: readonly string[]) =>
  args.map((arg) =>
    arg in MADE ? join(tmp, arg) : arg.startsWith(README_PIN) ? pinDir + arg.slice(README_PIN.length) : arg,
  );

/** Output as the README would show it: temporary and pin folders by the names the README uses. */
const asReadme = (text: string) => text.replaceAll(`${tmp}/`, '').replaceAll(pinDir, README_PIN);

/**
 * Run a live session as the user would: its own process, stopped with Ctrl-C (SIGINT) once it
 * has printed something (it is set up) and run `ms` more, unless it has a count to end by.
 */
async function runLive(
  args: readonly string[],
  ms: number,
  during?: (output: string) => Promise<void>,
): Promise<{ status: number | null; signal: NodeJS.Signals | null; output: string }> {
  const child = spawn(process.execPath, tsbpfProcessArgs(args), {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // `runqlat 1 1`: an interval and a count (positional, not option values), so it stops by itself
  const endsItself = args.filter((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('-')).length >= 2;
  // A session that never prints is stopped all the same (and fails on what it did not print).
  const silent = setTimeout(() => child.kill('SIGINT'), 30_000);
  const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
  let output = '';
  let checked: Promise<unknown> | undefined;
  const collect = (d: Buffer) => {
    output += d.toString();
    clearTimeout(silent);
    if (endsItself || checked) return;
    // Set up: what `during` checks of the running session, `ms` at least, then Ctrl-C.
    checked = Promise.all([during?.(output), new Promise((resolve) => setTimeout(resolve, ms))]);
    const stop = () => child.kill('SIGINT');
    checked.then(stop, stop);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (code, signal) => resolve([code, signal])),
  );
  const [status, signal] = await exited;
  clearTimeout(silent);
  clearTimeout(kill);
  await checked;
  return { status, signal, output };
}

/** Run one `tsbpf …` line (pipes to head/tail emulated); stdout and stderr as one text. */
async function runLine(line: string): Promise<{ status: number; output: string }> {
  const [command, ...pipes] = line.replace(/\s+#\s.*$/, '').split(' | ');
  // `> FILE`: stdout into a file (in the temporary folder), not onto the screen.
  const [main, redirect] = (command ?? '').split(/\s+>\s*/);
  let args = words(main ?? '');
  if (args[0] === 'sudo') args = args.slice(1);
  args = localArgs(args.slice(1).flatMap(glob));
  // Output files go to a temporary folder, not the working tree, and so does a build's object.
  args = args.map((arg, i) =>
    i > 0 && ['-o', '--write'].includes(args[i - 1] ?? '') && !isAbsolute(arg)
      ? join(tmp, basename(arg))
      : arg,
  );
  if (commandOf(args) === 'build' && !args.includes('-o') && !args.includes('--output')) {
    const source = args.find((a) => a.endsWith('.c')) ?? 'out.c';
    args.push('-o', join(tmp, basename(source).replace(/\.c$/, '.o')));
  }
  const r = await tsbpf(...args);
  let out = r.stdout;
  if (redirect) {
    writeFileSync(join(tmp, basename(redirect.trim())), out);
    out = '';
  }
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
  return { status: r.status, output: asReadme(`${out}\n${r.stderr}`) };
}

/** Whether `flat` (whitespace runs as one space) shows `want`: an ellipsis stands for anything. */
function shows(flat: string, want: string): boolean {
  let at = 0;
  for (const piece of want.split(/…|\.\.\./)) {
    const text = piece.replace(/\s+/g, ' ').trim();
    if (!text) continue;
    const found = flat.indexOf(text, at);
    if (found < 0) return false;
    at = found + text.length;
  }
  return true;
}

/**
 * The README's ids and load time of the programs pinned by the `load --pin` line (in their
 * `prog show` block) paired with this run's, once that line has run.
 */
let pinnedValues: Array<readonly [string, string]> = [];

function readPinned(): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const name of readdirSync(pinDir).filter((n) => n !== 'maps')) {
    const shown = new RegExp(
      `^(\\d+): \\w+ +name ${name} .*\\n\\s*loaded_at (\\S+) .*\\n.*map_ids ([\\d,]+)\\n\\s*btf_id (\\d+)`,
      'm',
    ).exec(readme);
    if (!shown) continue;
    const { info, loadedAt } = showProgram(resolveOne('prog', { by: 'pinned', path: join(pinDir, name) }));
    const today = [info.id, formatLocalTime(loadedAt), info.mapIds.join(','), info.btfId].map(String);
    out.push(...today.map((value, n) => [shown[n + 1] ?? '', value] as const));
  }
  return out;
}

/** A README line of `prog`/`map`/`link` output with this run's ids and load time. */
const withPinned = (line: string) =>
  pinnedValues.reduce(
    (text, [readmeValue, value]) =>
      text.replace(
        new RegExp(`(?<![\\w.+-])${readmeValue.replace(/[+.]/g, '\\$&')}(?![\\w.+-])`, 'g'),
        value,
      ),
    line,
  );

/** The error `dump` gives for a name several objects share. */
const AMBIGUOUS = /matches \d+ \w+s \(ids [\d, ]+\)/;

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
        // `tsbpf export` with a configuration the README shows refused is not a session.
        const session = isLive(args.slice(1)) && !expected.some((l) => l.startsWith('error:'));
        const skip = whySkip(part, args.slice(1), session);
        if (session) {
          // What a live session prints depends on the system; its first line (the column
          // header) and the programs it attached do not. It must end cleanly on Ctrl-C.
          const stable = expected.filter((l, n) => l.trim() && (n === 0 || l.includes('"kind":"attached"')));
          // `tsbpf export` serves on a free port here; the README's `curl` of it is made meanwhile.
          const serves = args[1] === 'export';
          const next = lines.findIndex((l, n) => n > i && l.startsWith('$ '));
          const curl = serves ? /^\$ curl -s \S+?(\/\S*)$/.exec(lines[next] ?? '') : null;
          const scraped = curl
            ? lines.slice(next + 1, lines.findIndex((l, n) => n > next && l.startsWith('$ ')) >>> 0)
            : [];
          const during = curl
            ? async (output: string) => {
                const url = /serving metrics on (http:\/\/\S+?)\//.exec(output)?.[1];
                assert.ok(url, `no address in: ${output}`);
                const text = await (await fetch(`${url}${curl[1]}`)).text();
                for (const want of scraped.map((l) => l.trim()).filter((l) => l && l !== '…')) {
                  // Comments are fixed; samples count this machine's events: their series are.
                  const series = want.startsWith('#')
                    ? want
                    : want.replace(/\{(?!le=).*|(\}) .*| [^ ]*$/, '$1');
                  assert.ok(text.includes(series), `${curl[0]}: missing ${series}\n--- got:\n${text}`);
                }
              }
            : undefined;
          live.push(() =>
            test(`README.md:${block.line + 1 + i}: ${part} (then Ctrl-C${curl ? `, ${curl[0].slice(2)}` : ''})`, {
              skip: skip ?? false,
            }, async () => {
              const argv = localArgs(words(part.replace(/^sudo /, '')).slice(1));
              if (serves) argv.push('--listen', '127.0.0.1:0');
              const run = await runLive(argv, 1000, during);
              const status = run.status ?? run.signal;
              const output = serves
                ? run.output.replace(/http:\/\/127\.0\.0\.1:\d+\//, `http://${DEFAULT_EXPORT_LISTEN}/`)
                : run.output;
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
        test(`README.md:${block.line + 1 + i}: ${part}`, { skip: skip ?? false }, async (t) => {
          let { status, output } = await runLine(part);
          // A test elsewhere that loads the same example for a moment makes a name ambiguous.
          for (let tries = 0; tries < 20 && AMBIGUOUS.test(output); tries++) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            ({ status, output } = await runLine(part));
          }
          if (AMBIGUOUS.test(output)) {
            t.skip(
              `another object of that name stays loaded on this machine: ${AMBIGUOUS.exec(output)?.[0]}`,
            );
            return;
          }
          if (part.includes('--pin')) pinnedValues = readPinned();
          const shown = expected
            .map((l) => l.trim())
            .filter(Boolean)
            .map((l) => (readsPinned(args.slice(1)) ? withPinned(l) : l));
          // An error or a rejection the README shows is a failure status; anything else succeeds.
          if (shown.some((l) => /\berror:|"error":"|\brejected\b/.test(l)))
            assert.notEqual(status, 0, `exit status 0\n--- got:\n${output}`);
          else assert.equal(status, 0, `exit status ${status}\n--- got:\n${output}`);
          // Every line the README shows is printed (an ellipsis stands for what it leaves out).
          const flat = output.replace(/\s+/g, ' ');
          for (const want of shown) assert.ok(shows(flat, want), `missing: ${want}\n--- got:\n${output}`);
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
        // through tsx's loader: the snippet is TypeScript, and the suite may run compiled
        await tsImport(pathToFileURL(file).href, import.meta.url);
      });
    });
});
