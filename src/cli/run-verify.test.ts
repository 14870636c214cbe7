/**
 * `tsbpf run` and `tsbpf test` verify typed programs before they run: a program Linux refuses
 * (testdata/kernel/broken.bpf.c: a packet read without a data_end check) is refused with the
 * verifier's explanation and exit status 1; `--no-verify` runs it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot, tsbpf } from './test-harness.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-run-verify-'));
after(() => rmSync(work, { recursive: true, force: true }));

const OBJECT = 'testdata/kernel/broken.bpf.o';
/** Ethernet + IPv4 header: 34 bytes, enough for the program's 4-byte read. */
const FRAME = '000000000000000000000000080045000014000000004011000000000000000000000000';

describe('run: the verifier before the VM', () => {
  test('a packet read without a data_end check is refused with the line and the hint', async () => {
    const result = await tsbpf('run', `${OBJECT}:xdp_unchecked`, '--data', FRAME);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stdout, '');
    const lines = result.stderr.split('\n');
    assert.equal(
      lines[0],
      "error: program 'xdp_unchecked' rejected by the verifier: R1 offset is outside of the packet",
    );
    assert.equal(lines[1], '  at instruction 1: (61) r1 = *(u32 *)(r1 +0)');
    assert.equal(lines[2], '  ./broken.bpf.c:27:16');
    assert.match(lines[3], /^ {2}27 \| __u32 first = \*\(__u32 \*\)data;/);
    assert.match(result.stderr, /hint: check `data \+ N > data_end` before reading N bytes of the packet/);
    assert.match(result.stderr, /--no-verify runs it anyway/);
  });

  test('--json carries the error, instruction, source line and hint', async () => {
    const result = await tsbpf('run', `${OBJECT}:xdp_unchecked`, '--data', FRAME, '--json');
    assert.equal(result.status, 1);
    const line = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(line.retval, null);
    assert.match(String(line.error), /R1 offset is outside of the packet/);
    assert.equal(line.insn, 1);
    assert.equal(line.line, './broken.bpf.c:27');
    assert.match(String(line.hint), /data_end/);
  });

  test('--no-verify runs it anyway', async () => {
    const result = await tsbpf('run', `${OBJECT}:xdp_unchecked`, '--data', FRAME, '--no-verify', '--json');
    assert.equal(result.status, 0, result.stderr);
    const line = JSON.parse(result.stdout) as { retval: number; error: null };
    assert.equal(line.error, null);
    // The frame's first four bytes are zero: the program drops it (XDP_DROP).
    assert.equal(line.retval, 1);
  });

  test('the checked program of the same object runs', async () => {
    const result = await tsbpf('run', `${OBJECT}:xdp_ok`, '--data', FRAME, '--json');
    assert.equal(result.status, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { error: null }).error, null);
  });

  test('raw programs without a type are not verified (bpf_conformance tests the instruction set)', async () => {
    // r0 = *(u64 *)(r1 + 0) with r1 = the input: no verifier would accept an untyped pointer.
    const source = join(work, 'raw.s');
    writeFileSync(source, 'r0 = *(u8 *)(r1 + 0)\nexit\n');
    const result = await tsbpf('run', source, '--mem', '2a');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '0x2a\n');
  });
});

describe('test: vectors are verified too', () => {
  const vectors = join(work, 'vectors.jsonl');
  writeFileSync(
    vectors,
    `${JSON.stringify({ name: 'unchecked read', program: join(repoRoot, `${OBJECT}:xdp_unchecked`), data: FRAME, expect: { retval: 1 } })}\n`,
  );

  test('a case whose program the verifier refuses fails with the reason', async () => {
    const result = await tsbpf('test', vectors);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /FAIL unchecked read: .*R1 offset is outside of the packet/);
  });

  test('--no-verify runs it', async () => {
    const result = await tsbpf('test', vectors, '--no-verify');
    assert.equal(result.status, 0, result.stdout);
    assert.match(result.stdout, /PASS unchecked read/);
  });
});
