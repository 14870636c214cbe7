// The program-definition, iterator and formatting macros of include/tsbpf/, built with clang-19
// (skipped without it) under -Wall -Wextra -Werror: definitions run on the VM with the arguments
// they unpack; iterators run in the kernel where bpf() is available.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tsbpf } from '../cli/test-harness.js';
import { loadObjectSpec } from '../object/object.js';
import { buildObject } from './clang.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const clang = spawnSync('clang-19', ['--version']).status === 0 ? undefined : 'clang-19 is not installed';
const dir = mkdtempSync(join(tmpdir(), 'tsbpf-macros-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Build a test source with warnings as errors; the object's path. */
function build(name: string): string {
  const output = join(dir, `${name}.bpf.o`);
  buildObject(join(root, 'testdata/build', `${name}.bpf.c`), {
    clang: 'clang-19',
    output,
    extraArgs: ['-Wextra', '-Werror'],
  });
  return output;
}

/** A context file of little-endian u64 words. */
function words(name: string, values: readonly bigint[]): string {
  const bytes = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => {
    bytes.writeBigUInt64LE(BigInt.asUintN(64, value), i * 8);
  });
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('BPF_PROG, BPF_KPROBE, BPF_KRETPROBE, BPF_UPROBE, BPF_URETPROBE, BPF_KSYSCALL', {
  skip: clang,
}, () => {
  let object = '';
  test('build with -Wall -Wextra -Werror', () => {
    object = build('macros');
    const spec = loadObjectSpec(new Uint8Array(readFileSync(object)));
    const sections = Object.fromEntries(spec.programs.map((p) => [p.name, p.section]));
    assert.deepEqual(sections, {
      prog_sum: 'fentry/do_nothing',
      prog_noargs: 'tp_btf/sched_process_exit',
      kprobe_args: 'kprobe/do_unlinkat',
      kretprobe_rc: 'kretprobe/do_unlinkat',
      uprobe_args: 'uprobe//bin/true:main',
      uretprobe_rc: 'uretprobe//bin/true:main',
      ksyscall_args: 'ksyscall/openat',
    });
  });

  // struct pt_regs as the test source declares it: di, si, dx, cx, r8, r10, ax, …
  const regs = (values: Partial<Record<'di' | 'si' | 'ax', bigint>>) =>
    [values.di ?? 0n, values.si ?? 0n, 0n, 0n, 0n, 0n, values.ax ?? 0n, 0n, 0n, 0n] as const;
  const cases: Array<[string, string, readonly bigint[], number, string[]]> = [
    // The verifier needs the attach target's BTF for fentry arguments: checked without it.
    ['BPF_PROG unpacks the u64 argument array', 'prog_sum', [3n, 4n], 43, ['--no-verify']],
    ['BPF_PROG without arguments', 'prog_noargs', [0n], 7, []],
    ['BPF_KPROBE reads PARM1, PARM2', 'kprobe_args', regs({ di: 3n, si: 9n }), 4, []],
    ['BPF_KRETPROBE reads the return value', 'kretprobe_rc', regs({ ax: -5n }), 1, []],
    ['BPF_UPROBE reads PARM1', 'uprobe_args', regs({ di: 2n }), 2, []],
    ['BPF_URETPROBE reads the return value', 'uretprobe_rc', regs({ ax: 11n }), 11, []],
  ];
  for (const [title, program, context, retval, flags] of cases) {
    test(title, async () => {
      const ctx = words(`${program}.ctx`, context);
      const r = await tsbpf('run', `${object}:${program}`, '--ctx', ctx, '--json', ...flags);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(JSON.parse(r.stdout).retval, retval);
    });
  }
});

describe('bpf_for, bpf_for_each, bpf_repeat, BPF_SNPRINTF, BPF_SEQ_PRINTF, bpf_ksym_exists', {
  skip: clang,
}, () => {
  test('build, with the iterator kfuncs as weak ksyms', () => {
    const spec = loadObjectSpec(new Uint8Array(readFileSync(build('iter'))));
    assert.deepEqual(
      spec.programs.map((p) => p.name),
      ['iter_sum', 'snprintf_len', 'seq_out'],
    );
  });

  test('a non-weak symbol given to bpf_ksym_exists fails the build', () => {
    const source = join(dir, 'strong.bpf.c');
    writeFileSync(
      source,
      [
        '#include <linux/types.h>',
        '#include <tsbpf/bpf_helpers.h>',
        'extern int bpf_strong_kfunc(int x) __ksym;',
        'SEC("syscall") int f(void *ctx) { (void)ctx; return bpf_ksym_exists(bpf_strong_kfunc); }',
      ].join('\n'),
    );
    assert.throws(
      () => buildObject(source, { clang: 'clang-19', output: join(dir, 'strong.o') }),
      /must be declared __weak/,
    );
  });
});

test('tsbpf build takes -I, -D and clang flags after --', { skip: clang }, async () => {
  const include = join(dir, 'inc');
  mkdirSync(include);
  writeFileSync(join(include, 'answer.h'), '#define ANSWER (BASE + 2)\n');
  const source = join(dir, 'flags.bpf.c');
  writeFileSync(
    source,
    '#include <linux/types.h>\n#include <tsbpf/bpf_helpers.h>\n#include "answer.h"\nSEC("xdp") int answer(void *ctx) { return ANSWER; }\n',
  );
  const output = join(dir, 'flags.bpf.o');
  const build = (...cflags: string[]) =>
    tsbpf('build', source, '-o', output, '-I', include, '-D', 'BASE=40', '--', ...cflags);
  const r = await build('-Wno-unused-parameter');
  assert.equal(r.status, 0, r.stderr);
  const run = await tsbpf('run', output, '--data', '00'.repeat(64), '--json');
  assert.equal(JSON.parse(run.stdout).retval, 42);
  const strict = await build('-Wextra', '-Werror');
  assert.equal(strict.status, 2);
  assert.match(strict.stderr, /unused parameter 'ctx'/);
});
