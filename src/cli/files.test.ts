import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { INPUT_LIMITS, InputError, readInputFile, readObjectFile } from './files.js';
import { tsbpf } from './test-harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tsbpf-files-'));
after(() => rmSync(work, { recursive: true, force: true }));

const fifo = join(work, 'fifo');
execFileSync('mkfifo', [fifo]);
const big = join(work, 'big.bin');
writeFileSync(big, '');
truncateSync(big, 1 << 30); // sparse: 1 GB that takes no disk
const empty = join(work, 'empty.s');
writeFileSync(empty, '');
const jpeg = join(work, 'photo.jpg');
writeFileSync(jpeg, Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'));
const cSource = join(work, 'prog.c');
writeFileSync(cSource, '#include <linux/bpf.h>\nint x;\n');
const dir = join(work, 'dir');
mkdirSync(dir);

const throwsInput = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof InputError && message.test(e.message));

describe('readInputFile', () => {
  const opts = { maxBytes: 1 << 20, what: 'assembly source' };

  test('reads a file within the limit', () => {
    assert.equal(readInputFile(join(root, 'testdata/asm/sum.s'), opts).length > 0, true);
  });

  test('refuses a file over the limit before reading it', () => {
    throwsInput(
      () => readInputFile(big, opts),
      /big\.bin: 1024 MiB is larger than the 1 MiB limit for an assembly source/,
    );
  });

  test('stops reading an endless device one byte past the limit', () => {
    throwsInput(() => readInputFile('/dev/zero', opts), /\/dev\/zero: larger than the 1 MiB limit/);
    throwsInput(() => readInputFile('/dev/urandom', opts), /\/dev\/urandom: larger than the 1 MiB limit/);
  });

  test('refuses a named FIFO instead of blocking on it', () => {
    throwsInput(() => readInputFile(fifo, opts), /fifo: is a FIFO, not a regular file/);
  });

  test('says an empty file or /dev/null is empty', () => {
    throwsInput(() => readInputFile(empty, opts), /empty\.s: is empty \(expected an assembly source\)/);
    throwsInput(() => readInputFile('/dev/null', opts), /\/dev\/null: is empty/);
    assert.equal(readInputFile('/dev/null', { ...opts, allowEmpty: true }).length, 0);
  });

  test('names a missing file and a directory', () => {
    throwsInput(
      () => readInputFile(join(work, 'nope'), opts),
      /nope: cannot read an assembly source: ENOENT/,
    );
    throwsInput(() => readInputFile(dir, opts), /dir: is a directory/);
  });

  test('reads a pipe the shell hands over (/dev/stdin)', () => {
    const script = `import('${join(root, 'src/cli/files.ts')}').then((m) => process.stdout.write(String(m.readInputFile('/dev/stdin', { maxBytes: 100, what: 'x' }).length)))`;
    const out = execFileSync(
      'sh',
      ['-c', `printf hello | "${process.execPath}" --import tsx -e "${script}"`],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(out, '5');
  });
});

describe('readObjectFile', () => {
  test('a C source, an empty file or a JPEG is "not an ELF object" naming the file', () => {
    throwsInput(
      () => readObjectFile(cSource),
      /prog\.c: not an ELF object \(it starts with text: '#include <linux\/bpf\.h>'/,
    );
    throwsInput(() => readObjectFile(empty), /empty\.s: not an ELF object \(the file is empty\)/);
    throwsInput(() => readObjectFile(jpeg), /photo\.jpg: not an ELF object \(it is a JPEG image\)/);
  });

  test('reads an object', () => {
    assert.equal(readObjectFile(join(root, 'examples/hello.bpf.o'))[1], 0x45);
    assert.ok(INPUT_LIMITS.object >= 16 << 20, 'vmlinux BTF (~6 MB) fits');
  });
});

describe('commands that read files fail clearly with exit status 2', () => {
  const cases: ReadonlyArray<readonly [string[], RegExp]> = [
    [['asm', '/dev/null'], /\/dev\/null: is empty \(expected an assembly source\)/],
    [['disasm', empty], /empty\.s: is empty/],
    [['test', '/dev/null'], /\/dev\/null: is empty \(expected a test vectors file\)/],
    [['objdump', jpeg], /photo\.jpg: not an ELF object/],
    [['btf', 'dump', '/dev/zero'], /\/dev\/zero: larger than the \d+ MiB limit/],
    [['run', 'examples/xdp_count.bpf.o', '--pcap', fifo], /fifo: is a FIFO/],
    [['load', cSource], /prog\.c: not an ELF object/],
  ];
  for (const [args, message] of cases) {
    test(`tsbpf ${args.join(' ').replace(work, '…')}`, async () => {
      const result = await tsbpf(...args);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }
});
