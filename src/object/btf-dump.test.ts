import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type Btf, parseBtf } from './btf.js';
import { dumpBtfJson, dumpBtfRaw } from './btf-dump.js';

const TESTDATA = new URL('../../testdata/btf/', import.meta.url);
const VMLINUX = '/sys/kernel/btf/vmlinux';

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, TESTDATA)));
}

/** bpftool's output, or why we cannot have it. */
function bpftool(args: string[]): { out: string } | { skip: string } {
  try {
    return { out: execFileSync('bpftool', args, { encoding: 'utf8', maxBuffer: 1 << 30 }) };
  } catch (e) {
    return { skip: `bpftool ${args.join(' ')} failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/**
 * Parse a bpftool JSON dump keeping every digit of 64-bit values (as strings), so ours and
 * bpftool's compare exactly.
 */
function parseDump(text: string): unknown {
  const safe = text.replace(/(?<=[:,[])(-?\d{16,})(?=[,\]}])/g, '"$1"');
  return JSON.parse(safe, (key, value: unknown) => (key === 'val' ? String(value) : value));
}

/**
 * bpftool (through at least 7.5) prints an unsigned 32-bit ENUM value through a signed int, so
 * 0x80000000 comes out as 2^64 - 2^31. We print the value; this maps bpftool's back to compare.
 */
function undoEnumSignExtension(dump: unknown): unknown {
  const types = (dump as { types: { kind: string; encoding?: string; values?: { val: string }[] }[] }).types;
  for (const t of types) {
    if (t.kind !== 'ENUM' || t.encoding !== 'UNSIGNED') continue;
    for (const v of t.values ?? []) {
      const n = BigInt(v.val);
      if (n > 0xffffffffn) v.val = String(n - 0xffffffff00000000n);
    }
  }
  return dump;
}

function compareLines(ours: string, theirs: string): void {
  const a = ours.split('\n');
  const b = theirs.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) assert.fail(`line ${i + 1} differs:\n  ours:    ${a[i]}\n  bpftool: ${b[i]}`);
  }
}

// --- against the bpftool output kept beside the fixtures (no tools needed) -------------------

for (const stem of ['kinds', 'core']) {
  test(`${stem}: raw dump is bpftool's`, () => {
    const btf = parseBtf(fixture(`${stem}.btf`));
    compareLines(dumpBtfRaw(btf), readFileSync(new URL(`${stem}.bpftool.txt`, TESTDATA), 'utf8'));
  });

  test(`${stem}: JSON dump is bpftool -j's`, () => {
    const btf = parseBtf(fixture(`${stem}.btf`));
    const ours = dumpBtfJson(btf);
    const theirs = readFileSync(new URL(`${stem}.bpftool.json`, TESTDATA), 'utf8');
    assert.deepEqual(parseDump(ours), undoEnumSignExtension(parseDump(theirs)));
  });
}

test('the big-endian fixture dumps as its little-endian twin', () => {
  const btf = parseBtf(fixture('kinds-eb.btf'));
  compareLines(dumpBtfRaw(btf), readFileSync(new URL('kinds.bpftool.txt', TESTDATA), 'utf8'));
});

test('JSON keeps every digit of 64-bit enumerators and the exact ENUM value', () => {
  const json = dumpBtfJson(parseBtf(fixture('kinds.btf')));
  assert.match(json, /\{"name":"BIG_B","val":81985529216486895\}/);
  assert.match(json, /\{"name":"SBIG_A","val":-4294967296\}/);
  assert.match(json, /\{"name":"U_B","val":2147483648\}/);
  assert.match(json, /\{"name":"BLUE","val":-3\}/);
  assert.ok(json.startsWith('{"types":[{"id":1,"kind":"PTR","name":"(anon)","type_id":3},'));
  assert.ok(json.endsWith(']}\n'));
});

// --- against the installed bpftool --------------------------------------------------------

for (const stem of ['kinds', 'core']) {
  const raw = bpftool(['btf', 'dump', 'file', new URL(`${stem}.o`, TESTDATA).pathname]);
  test(`${stem}.o: raw dump is the installed bpftool's`, { skip: 'skip' in raw ? raw.skip : false }, () => {
    if ('out' in raw) compareLines(dumpBtfRaw(parseBtf(fixture(`${stem}.btf`))), raw.out);
  });
}

let vmlinux: Btf | undefined;
/** The running kernel's BTF, parsed once for both comparisons. */
const vmlinuxBtf = (): Btf => (vmlinux ??= parseBtf(new Uint8Array(readFileSync(VMLINUX))));

const vmlinuxRaw = bpftool(['btf', 'dump', 'file', VMLINUX]);
test("vmlinux: raw dump is bpftool's, line for line", {
  skip: 'skip' in vmlinuxRaw ? vmlinuxRaw.skip : false,
}, () => {
  if (!('out' in vmlinuxRaw)) return;
  const btf = vmlinuxBtf();
  compareLines(dumpBtfRaw(btf), vmlinuxRaw.out);
});

const vmlinuxJson = bpftool(['-j', 'btf', 'dump', 'file', VMLINUX]);
test("vmlinux: JSON dump is bpftool -j's", { skip: 'skip' in vmlinuxJson ? vmlinuxJson.skip : false }, () => {
  if (!('out' in vmlinuxJson)) return;
  const btf = vmlinuxBtf();
  assert.deepEqual(parseDump(dumpBtfJson(btf)), undoEnumSignExtension(parseDump(vmlinuxJson.out)));
});
