// Every command's --help ends with an example; a usage error is one line and a --help hint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tsbpf } from './test-harness.js';

/** The subcommands a help text lists (`Commands:` section), without `help`. */
function subcommands(help: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? '';
  return section
    .split('\n')
    .map((line) => /^ {2}([a-z][\w-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
}

test("every command's --help has an example", async () => {
  const missing: string[] = [];
  let leaves = 0;
  const visit = async (path: string[]): Promise<void> => {
    const r = await tsbpf(...path, '--help');
    assert.equal(r.status, 0, `${path.join(' ')} --help: ${r.stderr}`);
    const subs = subcommands(r.stdout);
    if (subs.length === 0) {
      leaves++;
      if (!/\nExamples?:\n {2}(\$ )?(sudo )?tsbpf /.test(r.stdout)) missing.push(path.join(' '));
    }
    for (const sub of subs) await visit([...path, sub]);
  };
  await visit([]);
  assert.ok(leaves >= 25, `only ${leaves} commands found`);
  assert.deepEqual(missing, []);
});

test('a bad option prints one line and the command’s --help hint, exit 2', async () => {
  const r = await tsbpf('run', '--bogus', 'x.s');
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "error: unknown option '--bogus'\n(see 'tsbpf run --help')\n");
  const value = await tsbpf('map', 'dump', '--format', 'nope');
  assert.equal(value.status, 2);
  assert.doesNotMatch(value.stderr, /Usage:|Options:/);
  assert.match(value.stderr, /\(see 'tsbpf map dump --help'\)\n$/);
  const missing = await tsbpf('asm');
  assert.equal(missing.stderr, "error: missing required argument 'file'\n(see 'tsbpf asm --help')\n");
});
