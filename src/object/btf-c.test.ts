import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Btf, BtfError, type BtfMember, type BtfType, type BtfVoid, parseBtf } from './btf.js';
import { dumpBtfC } from './btf-c.js';

const TESTDATA = new URL('../../testdata/btf/', import.meta.url);
const VMLINUX = '/sys/kernel/btf/vmlinux';
const CLANG = 'clang-19';
const OBJCOPY = 'llvm-objcopy-19';

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, TESTDATA)));
}

function have(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveClang = have(CLANG) && have(OBJCOPY);
const NO_CLANG = `${CLANG} or ${OBJCOPY} not installed`;

let vmlinux: Btf | null | undefined;
/** The running kernel's BTF, parsed once for the tests that use it; undefined when unreadable. */
function vmlinuxBtf(): Btf | undefined {
  if (vmlinux === undefined) {
    try {
      vmlinux = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    } catch (error) {
      if (!(error as NodeJS.ErrnoException).code) throw error;
      vmlinux = null;
    }
  }
  return vmlinux ?? undefined;
}

/** A scratch directory for one test, removed afterwards. */
function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-btf-c-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compile `source` (in `dir`, next to its headers) for BPF; clang's diagnostics on failure. */
function compileBpf(dir: string, name: string, source: string): string {
  const src = join(dir, `${name}.c`);
  const obj = join(dir, `${name}.o`);
  writeFileSync(src, source);
  try {
    execFileSync(CLANG, ['-target', 'bpf', '-O2', '-g', '-c', src, '-o', obj], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 28,
    });
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? e);
    assert.fail(`clang failed on ${name}.c:\n${stderr.split('\n').slice(0, 40).join('\n')}`);
  }
  return obj;
}

/** The .BTF of an object file, parsed. */
function objectBtf(obj: string): Btf {
  const out = `${obj}.btf`;
  execFileSync(OBJCOPY, [`--dump-section=.BTF=${out}`, obj, '/dev/null']);
  return parseBtf(new Uint8Array(readFileSync(out)));
}

function isComposite(t: BtfType | BtfVoid): t is Extract<BtfType, { kind: 'struct' | 'union' }> {
  return t.kind === 'struct' || t.kind === 'union';
}

/** Names that one struct, union or enum definition alone uses as a tag (the dump keeps them as is). */
function uniqueTags(btf: Btf): Map<string, BtfType> {
  const seen = new Map<string, BtfType | null>();
  for (const t of btf.types) {
    const tagged = isComposite(t) || ((t.kind === 'enum' || t.kind === 'enum64') && t.values.length > 0);
    if (!tagged || t.name === '') continue;
    seen.set(t.name, seen.has(t.name) ? null : t);
  }
  const unique = new Map<string, BtfType>();
  for (const [name, t] of seen) if (t !== null) unique.set(name, t);
  return unique;
}

/**
 * Every member C can take `offsetof` of, with its byte offset: named non-bitfield members,
 * including those of anonymous structs and unions, which C reaches as if they were the parent's.
 */
function offsets(btf: Btf, members: readonly BtfMember[], base: number, out: [string, number][]): void {
  for (const m of members) {
    const bits = base + m.bitsOffset;
    if (m.name === '') {
      const inner = btf.resolve(m.typeId);
      if (inner.kind === 'struct' || inner.kind === 'union') offsets(btf, inner.members, bits, out);
    } else if (m.bitfieldSize === 0 && bits % 8 === 0) {
      out.push([m.name, bits / 8]);
    }
  }
}

/** `_Static_assert`s of the size of each struct/union in `types`, and of its members' offsets. */
function staticAsserts(btf: Btf, types: Iterable<BtfType>, withOffsets: (t: BtfType) => boolean) {
  const lines: string[] = [];
  let sizes = 0;
  let offs = 0;
  for (const t of types) {
    if (!isComposite(t)) continue;
    const tag = `${t.kind} ${t.name}`;
    lines.push(`_Static_assert(sizeof(${tag}) == ${t.size}, "sizeof ${t.name}");`);
    sizes++;
    if (!withOffsets(t)) continue;
    const list: [string, number][] = [];
    offsets(btf, t.members, 0, list);
    for (const [name, off] of list) {
      lines.push(`_Static_assert(__builtin_offsetof(${tag}, ${name}) == ${off}, "${t.name}.${name}");`);
      offs++;
    }
  }
  return { text: lines.join('\n'), sizes, offsets: offs };
}

/**
 * A struct's layout as a string to compare across two BTFs: size, and each member's name, bit
 * offset and bitfield size, anonymous composite members expanded in place.
 */
function shape(btf: Btf, t: BtfType): string {
  if (t.kind === 'enum' || t.kind === 'enum64') {
    // A 1- or 2-byte enum is written with a GCC mode, which makes clang call it signed.
    const signed = t.size === 1 || t.size === 2 ? '' : ` ${t.signed}`;
    // Enumerators renamed to avoid a collision (`Opt_name___2`) are the same enumerators.
    return `${t.kind} ${t.size}${signed} ${t.values.map((v) => `${v.name.replace(/___\d+$/, '')}=${v.value}`).join(',')}`;
  }
  if (!isComposite(t)) return t.kind;
  const members = t.members.map((m) => {
    const inner = btf.resolve(m.typeId);
    const nested = isComposite(inner) && inner.name === '' ? ` ${shape(btf, inner)}` : '';
    return `${m.name}@${m.bitsOffset}:${m.bitfieldSize}${nested}`;
  });
  return `${t.kind} ${t.size} {${members.join(' ')}}`;
}

/**
 * Dump `original` to C, compile the header with a file that uses every named type, and check
 * that clang's BTF of the result describes every struct, union and enum as the original does.
 */
function roundTrip(dir: string, original: Btf, select: (t: BtfType) => boolean = () => true): number {
  writeFileSync(join(dir, 'types.h'), dumpBtfC(original));
  const tags = new Map([...uniqueTags(original)].filter(([, t]) => select(t)));
  const uses: string[] = ['#include "types.h"'];
  let i = 0;
  for (const t of tags.values()) {
    const keyword = isComposite(t) ? t.kind : 'enum';
    uses.push(`${keyword} ${t.name} use_${i++};`);
  }
  uses.push(staticAsserts(original, tags.values(), () => true).text);
  const again = objectBtf(compileBpf(dir, 'use', `${uses.join('\n')}\n`));
  const againTags = uniqueTags(again);
  for (const [name, t] of tags) {
    const u = againTags.get(name);
    assert.ok(u, `${name} missing from the recompiled BTF`);
    assert.equal(shape(again, u), shape(original, t), `layout of ${name}`);
  }
  return tags.size;
}

// ---- without clang: the text itself ----

test('kinds.btf dumps as bpftool 7.1 dumps kinds.o', () => {
  const want = `#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int u32;

typedef unsigned long long u64;

typedef unsigned char u8;

struct bits {
\tu32 a: 3;
\tu32 b: 5;
\tint c: 7;
\tu64 d: 40;
\tu8 e;
};

struct fwd_struct;

union fwd_union;

enum color {
\tRED = 0,
\tGREEN = 5,
\tBLUE = -3,
};

enum ucolor {
\tU_A = 1,
\tU_B = 2147483648,
};

enum big {
\tBIG_A = 1ULL,
\tBIG_B = 81985529216486895ULL,
};

enum sbig {
\tSBIG_A = -4294967296LL,
\tSBIG_B = 2LL,
};

typedef u32 u32_alias;

typedef u32_alias u32_alias2;

typedef _Bool bool;

struct outer {
\tint x;
\tstruct {
\t\tshort y;
\t\tchar z;
\t};
\tunion {
\t\tu32 u;
\t\tfloat f;
\t};
\tdouble dbl;
\tstruct bits bits;
\tvolatile const int cv;
\tint * restrict rp;
\tint __attribute__((btf_type_tag("user"))) *up;
\tstruct fwd_struct *fs;
\tunion fwd_union *fu;
\tenum color color;
\tenum ucolor ucolor;
\tenum big big;
\tenum sbig sbig;
\tu32_alias2 chain;
\tbool flag;
\tchar name[16];
\tint matrix[2][3];
\tint (*callback)(int, struct outer *, const char *);
\tvoid (*nothing)(void);
\tlong double ld;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
`;
  assert.equal(dumpBtfC(parseBtf(fixture('kinds.btf'))), want);
});

test('options: guard, and no preserve_access_index pragma', () => {
  const h = dumpBtfC(parseBtf(fixture('core.btf')), { guard: 'CORE_H', preserveAccessIndex: false });
  assert.ok(h.startsWith('#ifndef CORE_H\n#define CORE_H\n\n'));
  assert.ok(h.endsWith('#endif /* CORE_H */\n'));
  assert.ok(!h.includes('preserve_access_index'));
});

/** A BTF built by hand: types in id order, names given directly. */
function handBtf(types: readonly BtfType[]): Btf {
  return new Btf({ strings: new Uint8Array([0]), types });
}
const INT = {
  kind: 'int',
  id: 1,
  name: 'int',
  nameOff: 1,
  size: 4,
  encoding: 1,
  bitsOffset: 0,
  nrBits: 32,
} as const;
function member(name: string, typeId: number, bitsOffset: number, bitfieldSize = 0): BtfMember {
  return { name, nameOff: name === '' ? 0 : 1, typeId, bitsOffset, bitfieldSize };
}

test('a cycle through a pointer gets a forward declaration', () => {
  const btf = handBtf([
    INT,
    { kind: 'struct', id: 2, name: 'a', nameOff: 1, size: 8, kindFlag: false, members: [member('b', 3, 0)] },
    { kind: 'ptr', id: 3, name: '', nameOff: 0, typeId: 4 },
    { kind: 'struct', id: 4, name: 'b', nameOff: 1, size: 8, kindFlag: false, members: [member('a', 2, 0)] },
  ]);
  const h = dumpBtfC(btf, { preserveAccessIndex: false });
  assert.ok(
    h.includes('struct b;\n\nstruct a {\n\tstruct b *b;\n};\n\nstruct b {\n\tstruct a a;\n};\n\n'),
    h,
  );
});

test('a struct embedding itself by value is a typed error', () => {
  const btf = handBtf([
    INT,
    {
      kind: 'struct',
      id: 2,
      name: 'a',
      nameOff: 1,
      size: 8,
      kindFlag: false,
      members: [member('self', 2, 0)],
    },
  ]);
  assert.throws(() => dumpBtfC(btf), /dump BTF as C: type \[2\] contains itself by value/);
});

test('colliding names get ___N in the order they are written', () => {
  const btf = handBtf([
    INT,
    {
      kind: 'struct',
      id: 2,
      name: 'dup',
      nameOff: 1,
      size: 4,
      kindFlag: false,
      members: [member('x', 1, 0)],
    },
    { kind: 'union', id: 3, name: 'dup', nameOff: 1, size: 4, kindFlag: false, members: [member('y', 1, 0)] },
    { kind: 'typedef', id: 4, name: 'X', nameOff: 1, typeId: 1 },
    {
      kind: 'enum',
      id: 5,
      name: 'e',
      nameOff: 1,
      size: 4,
      signed: false,
      values: [{ name: 'X', nameOff: 1, value: 1 }],
    },
  ]);
  const h = dumpBtfC(btf, { preserveAccessIndex: false });
  assert.ok(h.includes('struct dup {\n\tint x;\n};'), h);
  assert.ok(h.includes('union dup___2 {\n\tint y;\n};'), h);
  assert.ok(h.includes('typedef int X;'), h);
  assert.ok(h.includes('enum e {\n\tX___2 = 1,\n};'), h);
});

test('declarators: arrays of function pointers, functions returning them, const pointers', () => {
  const btf = handBtf([
    INT, // 1
    {
      kind: 'func_proto',
      id: 2,
      name: '',
      nameOff: 0,
      returnTypeId: 1,
      params: [{ name: '', nameOff: 0, typeId: 1 }],
    },
    { kind: 'ptr', id: 3, name: '', nameOff: 0, typeId: 2 }, // int (*)(int)
    { kind: 'array', id: 4, name: '', nameOff: 0, typeId: 3, indexTypeId: 1, nelems: 4 },
    { kind: 'func_proto', id: 5, name: '', nameOff: 0, returnTypeId: 3, params: [] }, // int (*f(void))(int)
    { kind: 'ptr', id: 6, name: '', nameOff: 0, typeId: 5 },
    { kind: 'const', id: 7, name: '', nameOff: 0, typeId: 1 },
    { kind: 'ptr', id: 8, name: '', nameOff: 0, typeId: 7 },
    { kind: 'const', id: 9, name: '', nameOff: 0, typeId: 8 }, // const int * const
    { kind: 'array', id: 10, name: '', nameOff: 0, typeId: 1, indexTypeId: 1, nelems: 3 },
    { kind: 'ptr', id: 11, name: '', nameOff: 0, typeId: 10 }, // int (*)[3]
    {
      kind: 'struct',
      id: 12,
      name: 's',
      nameOff: 1,
      size: 64,
      kindFlag: false,
      members: [member('arr', 4, 0), member('ret', 6, 256), member('cp', 9, 320), member('pa', 11, 384)],
    },
    { kind: 'typedef', id: 13, name: 'fn_t', nameOff: 1, typeId: 2 },
    {
      kind: 'func_proto',
      id: 14,
      name: '',
      nameOff: 0,
      returnTypeId: 0,
      params: [
        { name: 'fmt', nameOff: 1, typeId: 8 },
        { name: '', nameOff: 0, typeId: 0 },
      ],
    },
    { kind: 'ptr', id: 15, name: '', nameOff: 0, typeId: 14 },
    { kind: 'typedef', id: 16, name: 'printf_t', nameOff: 1, typeId: 15 },
  ]);
  const h = dumpBtfC(btf, { preserveAccessIndex: false });
  assert.ok(h.includes('\tint (*arr[4])(int);\n'), h);
  assert.ok(h.includes('\tint (* (*ret)(void))(int);\n'), h);
  assert.ok(h.includes('\tconst int * const cp;\n'), h);
  assert.ok(h.includes('\tint (*pa)[3];\n'), h);
  assert.ok(h.includes('typedef int fn_t(int);'), h);
  assert.ok(h.includes('typedef void (*printf_t)(const int *, ...);'), h);
});

test('enums whose BTF size is not what C would pick get a mode attribute', () => {
  const value = (name: string, v: number) => ({ name, nameOff: 1, value: v });
  const btf = handBtf([
    { kind: 'enum', id: 1, name: 'small', nameOff: 1, size: 1, signed: false, values: [value('S', 1)] },
    { kind: 'enum', id: 2, name: 'normal', nameOff: 1, size: 4, signed: false, values: [value('N', 1)] },
    {
      kind: 'enum64',
      id: 3,
      name: 'wide',
      nameOff: 1,
      size: 8,
      signed: false,
      values: [{ name: 'W', nameOff: 1, value: 1n }],
    },
    {
      kind: 'enum64',
      id: 4,
      name: 'huge',
      nameOff: 1,
      size: 8,
      signed: true,
      values: [{ name: 'H', nameOff: 1, value: -(2n ** 63n) }],
    },
  ]);
  const h = dumpBtfC(btf, { preserveAccessIndex: false });
  assert.ok(h.includes('enum small {\n\tS = 1,\n} __attribute__((mode(byte)));'), h);
  assert.ok(h.includes('enum normal {\n\tN = 1,\n};'), h);
  assert.ok(h.includes('enum wide {\n\tW = 1ULL,\n} __attribute__((mode(word)));'), h);
  assert.ok(h.includes('enum huge {\n\tH = (-9223372036854775807LL - 1),\n};'), h);
});

test('padding: cacheline-aligned members and a misaligned member', () => {
  const btf = handBtf([
    INT,
    { kind: 'int', id: 2, name: 'char', nameOff: 1, size: 1, encoding: 1, bitsOffset: 0, nrBits: 8 },
    // struct aligned { int a; } __aligned(64): BTF keeps only the size.
    {
      kind: 'struct',
      id: 3,
      name: 'aligned',
      nameOff: 1,
      size: 64,
      kindFlag: false,
      members: [member('a', 1, 0)],
    },
    {
      kind: 'struct',
      id: 4,
      name: 'user',
      nameOff: 1,
      size: 192,
      kindFlag: false,
      members: [member('c', 2, 0), member('al', 3, 512), member('d', 2, 1024)],
    },
    // struct { char c; int x; } __packed
    {
      kind: 'struct',
      id: 5,
      name: 'packed',
      nameOff: 1,
      size: 5,
      kindFlag: false,
      members: [member('c', 2, 0), member('x', 1, 8)],
    },
  ]);
  const h = dumpBtfC(btf, { preserveAccessIndex: false });
  // A `long: 64` skips to the next 8-byte boundary by itself: no line for the rest of a word.
  const sevenLongs = '\tlong: 64;\n'.repeat(7);
  assert.ok(h.includes(`struct aligned {\n\tint a;\n${sevenLongs}};`), h);
  assert.ok(
    h.includes(`struct user {\n\tchar c;\n${sevenLongs}\tstruct aligned al;\n\tchar d;\n${sevenLongs}};`),
    h,
  );
  assert.ok(h.includes('struct packed {\n\tchar c;\n\tint x;\n} __attribute__((packed));'), h);
});

// ---- with clang: the header compiles, and its layouts are the BTF's ----

// How fast the dump is: `npm run bench` (vmlinux section) measures it against its target.
test('vmlinux: dumped, compiles for BPF, and every layout matches', (t) => {
  const btf = vmlinuxBtf();
  if (btf === undefined) return t.skip(`${VMLINUX} is not readable`);
  const header = dumpBtfC(btf);
  t.diagnostic(`dumpBtfC(vmlinux): ${header.length} chars`);
  if (!haveClang) return t.skip(NO_CLANG);

  // The size of every uniquely named struct and union, and the offset of each of their members
  // (clang checks ~70k asserts in about two seconds).
  const tags = uniqueTags(btf);
  for (const n of ['task_struct', 'sk_buff', 'xdp_md', 'trace_event_raw_sys_enter', 'pt_regs']) {
    assert.ok(tags.has(n), `vmlinux has no unique struct ${n}`);
  }
  const asserts = staticAsserts(btf, tags.values(), () => true);
  t.diagnostic(`${asserts.sizes} sizeof and ${asserts.offsets} offsetof static asserts`);

  withTempDir((dir) => {
    writeFileSync(join(dir, 'vmlinux.h'), header);
    const program = `#include "vmlinux.h"
#define SEC(name) __attribute__((section(name), used))
static long (*bpf_get_current_task)(void) = (void *)35;

SEC("tp/syscalls/sys_enter_write")
int on_write(struct trace_event_raw_sys_enter *ctx)
{
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  return task->pid + (int)ctx->id + (int)ctx->args[0];
}

SEC("xdp")
int on_xdp(struct xdp_md *ctx)
{
  return ctx->data_end - ctx->data > 64 ? 2 : 1;
}

char LICENSE[] SEC("license") = "GPL";

${asserts.text}
`;
    const obj = compileBpf(dir, 'prog', program);
    const out = objectBtf(obj);
    assert.ok(out.typesByName('task_struct').length > 0, 'task_struct in the program BTF');
  });
});

/**
 * The static asserts above cannot see bitfields, so the structs that have them go through C and
 * back. clang takes ~45 s to write BTF for all ~10k structs of vmlinux; TSBPF_SLOW_TESTS=1 does it.
 */
test('vmlinux structs with bitfields round-trip through C and clang', (t) => {
  const btf = vmlinuxBtf();
  if (btf === undefined) return t.skip(`${VMLINUX} is not readable`);
  if (!haveClang) return t.skip(NO_CLANG);
  const all = process.env.TSBPF_SLOW_TESTS === '1';
  const hasBitfield = (ty: BtfType): boolean =>
    isComposite(ty) && ty.members.some((m) => m.bitfieldSize !== 0);
  withTempDir((dir) => {
    const n = roundTrip(dir, btf, all ? () => true : hasBitfield);
    t.diagnostic(`${n} structs, unions and enums compared`);
  });
});

test('kinds.btf and core.btf round-trip through C and clang', (t) => {
  if (!haveClang) return t.skip(NO_CLANG);
  withTempDir((dir) => {
    const kinds = roundTrip(dir, parseBtf(fixture('kinds.btf')));
    const core = roundTrip(dir, parseBtf(fixture('core.btf')));
    t.diagnostic(`${kinds} + ${core} types compared`);
  });
});

/** Layouts C can only say with attributes BTF does not keep: packing, alignment, odd enums. */
const TRICKY = `
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;
struct packed_s { u8 a; u32 b; u64 c; } __attribute__((packed));
struct holder { char x; struct packed_s p; int y; };
struct cacheline { int a; } __attribute__((aligned(64)));
struct uses_cl { char c; struct cacheline cl; char d; struct cacheline arr[2]; };
struct aligned_member { char a; int b __attribute__((aligned(16))); char c; };
struct bf_gaps { u32 a: 3; u32 : 5; u32 b: 4; u32 : 0; u32 c: 1; u64 d: 60; u8 e: 2; u8 f; };
struct packed_bf { u8 a; u32 b: 20; u32 c: 12; u8 d; } __attribute__((packed));
struct packed_aligned { u8 a; u64 b; } __attribute__((packed, aligned(4)));
struct holds_pa { char c; struct packed_aligned pa; };
union aligned_u { char a; int b; } __attribute__((aligned(32)));
struct has_u { char c; union aligned_u u; };
enum __attribute__((packed)) small_e { SE_A, SE_B };
enum wide_e { WE_A = 1 } __attribute__((mode(word)));
enum neg_e { NE_A = -1, NE_B = 1 };
struct has_enums { enum small_e s; char c; enum wide_e w; enum neg_e n; u8 last; };
struct flex { int n; int data[]; };
struct i128 { char c; __int128 x; };
struct nested_anon { int a; struct { char b; union { short c; long d; }; } inner; struct { int e; }; };
struct fnptrs {
  int (*arr[4])(int);
  void (*(*ret_fn)(int))(long);
  int (*p_arr)[3];
  const char *const *pp;
  int matrix[2][3][4];
  volatile const u32 cv;
};
struct cyc_a;
struct cyc_b { struct cyc_a *a; int x; };
struct cyc_a { struct cyc_b b; struct cyc_a *self; };
typedef struct { int q; } anon_t;
struct use_anon_t { anon_t *p; anon_t v; struct { anon_t w; } *anon_ptr; };
struct tail_gap { long l; char c; } __attribute__((aligned(32)));
struct in_the_middle { int a; struct tail_gap t; short s; };

struct holder v1; struct uses_cl v2; struct aligned_member v3; struct bf_gaps v4; struct packed_bf v5;
struct holds_pa v6; struct has_u v7; struct has_enums v8; struct flex v9; struct i128 v10;
struct nested_anon v11; struct fnptrs v12; struct cyc_a v13; struct use_anon_t v14;
struct in_the_middle v15;
`;

test('packed, aligned and bitfield layouts round-trip through C and clang', (t) => {
  if (!haveClang) return t.skip(NO_CLANG);
  withTempDir((dir) => {
    const original = objectBtf(compileBpf(dir, 'tricky', TRICKY));
    const n = roundTrip(dir, original);
    t.diagnostic(`${n} types compared`);
  });
});

// ---- untrusted BTF: bounded in depth, time and output, never anything but a BtfError ----

const SANDBOX = new URL('../../testdata/sandbox/', import.meta.url);

test('a 73-byte BTF declaring a 2 GiB struct is a BtfError about the output size, not a process abort', () => {
  const btf = parseBtf(new Uint8Array(readFileSync(new URL('btf-2gib-struct.btf', SANDBOX))));
  assert.throws(
    () => dumpBtfC(btf),
    (e) => e instanceof BtfError && /would exceed 16777216 bytes/.test(e.message),
  );
  // With room for it, a big gap is a run of `long: 64;` built once, in order.
  const small = handBtf([
    INT,
    {
      kind: 'struct',
      id: 2,
      name: 's',
      nameOff: 1,
      size: 4096,
      kindFlag: false,
      members: [member('x', 1, 0)],
    },
  ]);
  const h = dumpBtfC(small, { preserveAccessIndex: false });
  assert.ok(h.includes('struct s {\n\tint x;\n' + '\tlong: 64;\n'.repeat(511) + '};'), h);
  assert.throws(() => dumpBtfC(small, { maxOutputBytes: 1000 }), BtfError);
});

test('modifier and typedef loops are typed errors, not endless loops or stack overflows', () => {
  const loops: BtfType[][] = [
    // const int → itself
    [INT, { kind: 'const', id: 2, name: '', nameOff: 0, typeId: 2 }],
    // typedef t → t * → t
    [
      INT,
      { kind: 'typedef', id: 2, name: 't', nameOff: 1, typeId: 3 },
      { kind: 'ptr', id: 3, name: '', nameOff: 0, typeId: 2 },
    ],
    // an anonymous struct pointing at itself has no C spelling
    [
      INT,
      { kind: 'struct', id: 2, name: '', nameOff: 0, size: 8, kindFlag: false, members: [member('p', 3, 0)] },
      { kind: 'ptr', id: 3, name: '', nameOff: 0, typeId: 2 },
    ],
    // a prototype taking a pointer to itself
    [
      INT,
      {
        kind: 'func_proto',
        id: 2,
        name: '',
        nameOff: 0,
        returnTypeId: 1,
        params: [{ name: '', nameOff: 0, typeId: 3 }],
      },
      { kind: 'ptr', id: 3, name: '', nameOff: 0, typeId: 2 },
    ],
  ];
  for (const types of loops)
    assert.throws(
      () => dumpBtfC(handBtf(types)),
      (e) => e instanceof BtfError && /unsatisfiable type cycle/.test(e.message),
    );
});

test('a chain of 100,000 pointers is a BtfError naming the depth limit', () => {
  const types: BtfType[] = [INT];
  for (let id = 2; id <= 100_001; id++) types.push({ kind: 'ptr', id, name: '', nameOff: 0, typeId: id - 1 });
  types.push({ kind: 'typedef', id: 100_002, name: 't', nameOff: 1, typeId: 100_001 });
  assert.throws(
    () => dumpBtfC(handBtf(types)),
    (e) => e instanceof BtfError && /more than 1024 types/.test(e.message),
  );
});

test('nested anonymous prototypes that double per level are refused before they are written', () => {
  // Level k: a pointer to int (*)(level k-1, level k-1): 2^k prototypes written inline.
  const types: BtfType[] = [INT];
  let previous = 1;
  for (let level = 0; level < 22; level++) {
    const proto = types.length + 1;
    types.push({
      kind: 'func_proto',
      id: proto,
      name: '',
      nameOff: 0,
      returnTypeId: 1,
      params: [
        { name: '', nameOff: 0, typeId: previous },
        { name: '', nameOff: 0, typeId: previous },
      ],
    });
    types.push({ kind: 'ptr', id: proto + 1, name: '', nameOff: 0, typeId: proto });
    previous = proto + 1;
  }
  types.push({ kind: 'typedef', id: types.length + 1, name: 'cb', nameOff: 1, typeId: previous });
  assert.throws(
    () => dumpBtfC(handBtf(types)),
    (e) => e instanceof BtfError && /inline/.test(e.message),
  );
  // A few levels are fine and written out in full.
  const few = types.slice(0, 1 + 2 * 3);
  few.push({ kind: 'typedef', id: few.length + 1, name: 'cb', nameOff: 1, typeId: few.length });
  assert.match(
    dumpBtfC(handBtf(few), { preserveAccessIndex: false }),
    /typedef int \(\*cb\)\(int \(\*\)\(int \(\*\)\(int, int\), int \(\*\)\(int, int\)\)/,
  );
});
