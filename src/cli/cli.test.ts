import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot as root, tsbpf } from './test-harness.js';

const conformance = join(root, '../shared/conformance/tests');
const work = mkdtempSync(join(tmpdir(), 'tsbpf-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('tsbpf', () => {
  test('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const result = await tsbpf('--version');
    assert.equal(result.status, 0);
    assert.equal(result.stdout, `${version}\n`);
  });

  test('an unknown option is bad usage (exit 2) and names the option', async () => {
    const result = await tsbpf('asm', '--bogus', 'x.s');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown option '--bogus'/);
  });

  test('--help lists the VM and the kernel commands', async () => {
    const result = await tsbpf('--help');
    assert.equal(result.status, 0);
    for (const command of [
      'asm',
      'disasm',
      'objdump',
      'btf',
      'run',
      'test',
      'load',
      'prog',
      'map',
      'feature',
    ])
      assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'), command);
  });
});

describe('tsbpf asm / disasm', () => {
  test('assembles LLVM syntax and disassembles it back in both flavours', async () => {
    const out = join(work, 'sum.bin');
    const asm = await tsbpf('asm', 'testdata/asm/sum.s', '-o', out);
    assert.equal(asm.status, 0, asm.stderr);
    assert.match(asm.stdout, /10 instructions, 80 bytes/);
    assert.equal(readFileSync(out).length, 80);
    const objdump = await tsbpf('disasm', out);
    assert.equal(objdump.status, 0);
    assert.match(objdump.stdout, /^ {3}2: if r3 >= r2 goto \+0x6$/m);
    assert.match(objdump.stdout, /^ {3}5: r5 = \*\(u8 \*\)\(r4 \+ 0x0\)$/m);
    const verifier = await tsbpf('disasm', out, '--flavor', 'verifier');
    assert.match(verifier.stdout, /^ {3}8: goto pc-7$/m);
    // What disasm prints assembles to the same bytes.
    const text = objdump.stdout.replace(/^ *\d+: /gm, '');
    writeFileSync(join(work, 'again.s'), text);
    assert.equal((await tsbpf('asm', join(work, 'again.s'), '-o', join(work, 'again.bin'))).status, 0);
    assert.deepEqual(readFileSync(join(work, 'again.bin')), readFileSync(out));
  });

  test('an assembly error names file, line and column and exits 2', async () => {
    const result = await tsbpf('asm', 'testdata/asm/bad.s', '-o', join(work, 'bad.bin'));
    assert.equal(result.status, 2);
    assert.match(result.stderr, /testdata\/asm\/bad\.s:2:15: error: invalid register 'r11'/);
    assert.match(result.stderr, /\^/);
  });

  test('an invalid encoding names the instruction and exits 2', async () => {
    const file = join(work, 'bad.bin');
    writeFileSync(file, Buffer.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x87, 0x10, 0, 0, 0, 0, 0, 0]));
    const result = await tsbpf('disasm', file);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /instruction 1 \(byte offset 8\): neg uses reserved field src/);
  });
});

describe('tsbpf run', () => {
  test('runs assembly with --mem and prints r0', async () => {
    const result = await tsbpf('run', 'testdata/asm/sum.s', '--mem', '01 02 03 04');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '0xa\n');
  });

  test('--json prints exactly one line per program', async () => {
    const result = await tsbpf('run', 'testdata/asm/sum.s', 'testdata/asm/sum.s', '--mem', '0102', '--json');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(lines[0], {
      file: 'testdata/asm/sum.s',
      result: '0x3',
      error: null,
      insns_executed: 18,
    });
    assert.equal(lines.length, 2);
  });

  test('a fault exits 1 with the instruction and address', async () => {
    const file = join(work, 'fault.s');
    writeFileSync(file, 'r0 = *(u64 *)(r1 + 0)\nexit\n');
    const result = await tsbpf('run', file, '--json');
    assert.equal(result.status, 1);
    const line = JSON.parse(result.stdout);
    assert.equal(line.result, null);
    assert.match(line.error, /instruction 0: invalid read of 8 bytes at 0x0: null pointer dereference/);
  });

  test('a runaway loop stops at --budget', async () => {
    const file = join(work, 'loop.s');
    writeFileSync(file, 'l: goto l\nexit\n');
    const result = await tsbpf('run', file, '--budget', '500', '--json');
    assert.equal(result.status, 1);
    assert.match(JSON.parse(result.stdout).error, /budget of 500/);
  });

  test('bad --mem is bad input (exit 2)', async () => {
    assert.equal((await tsbpf('run', 'testdata/asm/sum.s', '--mem', 'xyz')).status, 2);
  });

  test('runs the whole conformance suite in one process', {
    skip: existsSync(conformance) ? false : `${conformance} not found`,
  }, async () => {
    const files = ['add.data', 'lddw.data', 'mem-len.data', 'call_local.data'].map((name) =>
      join(conformance, name),
    );
    const result = await tsbpf('run', ...files);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /mem-len\.data: 0x8 ok/);
    assert.match(result.stdout, /^4 passed, 0 failed$/m);
  });
});

describe('the tsbpf process', () => {
  const vmlinux = '/sys/kernel/btf/vmlinux';
  test('output into a closed pipe ends quietly with status 0 (tsbpf btf dump … | head)', (t) => {
    if (!existsSync(vmlinux)) return t.skip(`${vmlinux} is absent: no output large enough to fill a pipe`);
    // Far more than a pipe holds, so the write after `head` exits meets EPIPE.
    const result = spawnSync(
      'bash',
      ['-c', `node bin/tsbpf.js btf dump ${vmlinux} --format c | head -1; echo "status \${PIPESTATUS[0]}"`],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(result.stdout, '#ifndef __VMLINUX_H__\nstatus 0\n');
    assert.equal(result.stderr, '');
  });
});
