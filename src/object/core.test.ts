import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Insn, layout, makeInsn, type RawInsn } from '../isa/instruction.js';
import { Btf, type BtfMember, type BtfType, parseBtf } from './btf.js';
import { CORE_RELO_KINDS, type CoreReloKind } from './btf-ext.js';
import {
  applyCoreRelocations,
  CORE_POISON_HELPER,
  type CoreCandidate,
  CoreError,
  type CoreResult,
  coreEssentialName,
  coreTypesAreCompatible,
  coreTypesMatch,
  findCoreCandidates,
  parseCoreSpec,
  resolveCoreRelo,
} from './core.js';
import { loadObjectSpec, type ObjectSpec, type ProgramSpec } from './object.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VMLINUX = '/sys/kernel/btf/vmlinux';

// ---------------------------------------------------------------------------------------------
// Hand-built BTF

type MemberSpec = [name: string, typeId: number, bitsOffset: number, bitfieldSize?: number];

/** Builds a BTF type by type; names live in the records, so the string section can stay empty. */
class Types {
  readonly types: BtfType[] = [];
  #add(t: Record<string, unknown>): number {
    const id = this.types.length + 1;
    this.types.push({ nameOff: 0, ...t, id } as unknown as BtfType);
    return id;
  }
  int(name: string, size: number, signed = false, bitsOffset = 0): number {
    return this.#add({ kind: 'int', name, size, encoding: signed ? 1 : 0, bitsOffset, nrBits: size * 8 });
  }
  float(name: string, size: number): number {
    return this.#add({ kind: 'float', name, size });
  }
  ptr(typeId: number): number {
    return this.#add({ kind: 'ptr', name: '', typeId });
  }
  typedef(name: string, typeId: number): number {
    return this.#add({ kind: 'typedef', name, typeId });
  }
  const(typeId: number): number {
    return this.#add({ kind: 'const', name: '', typeId });
  }
  array(typeId: number, nelems: number): number {
    return this.#add({ kind: 'array', name: '', typeId, indexTypeId: 0, nelems });
  }
  composite(kind: 'struct' | 'union', name: string, size: number, members: MemberSpec[]): number {
    const list: BtfMember[] = members.map(([n, typeId, bitsOffset, bitfieldSize = 0]) => ({
      name: n,
      nameOff: n === '' ? 0 : 1,
      typeId,
      bitsOffset,
      bitfieldSize,
    }));
    const kindFlag = list.some((m) => m.bitfieldSize > 0);
    return this.#add({ kind, name, size, kindFlag, members: list });
  }
  struct(name: string, size: number, members: MemberSpec[]): number {
    return this.composite('struct', name, size, members);
  }
  union(name: string, size: number, members: MemberSpec[]): number {
    return this.composite('union', name, size, members);
  }
  enum(name: string, values: Array<[string, number]>, size = 4, signed = false): number {
    return this.#add({
      kind: 'enum',
      name,
      size,
      signed,
      values: values.map(([n, value]) => ({ name: n, nameOff: 1, value })),
    });
  }
  enum64(name: string, values: Array<[string, bigint]>, signed = false): number {
    return this.#add({
      kind: 'enum64',
      name,
      size: 8,
      signed,
      values: values.map(([n, value]) => ({ name: n, nameOff: 1, value })),
    });
  }
  fwd(name: string, fwdKind: 'struct' | 'union'): number {
    return this.#add({ kind: 'fwd', name, fwdKind });
  }
  proto(returnTypeId: number, params: number[]): number {
    return this.#add({
      kind: 'func_proto',
      name: '',
      returnTypeId,
      params: params.map((typeId) => ({ name: '', nameOff: 0, typeId })),
    });
  }
  btf(): Btf {
    return new Btf({ strings: new Uint8Array([0]), types: this.types });
  }
}

const raw = (opcode: number, dst: number, src: number, off: number, imm: number): RawInsn => ({
  opcode,
  dst,
  src,
  off,
  imm,
});
/** r0 = *(u32 *)(r1 + off) */
const ldxw = (off: number) => makeInsn(raw(0x61, 0, 1, off, 0));
/** r0 = *(u64 *)(r1 + off) */
const ldxdw = (off: number) => makeInsn(raw(0x79, 0, 1, off, 0));
/** *(u32 *)(r1 + off) = imm */
const stw = (off: number, imm: number) => makeInsn(raw(0x62, 1, 0, off, imm));
/** *(u64 *)(r1 + off) = r2 */
const stxdw = (off: number) => makeInsn(raw(0x7b, 1, 2, off, 0));
/** r1 += imm */
const add = (imm: number) => makeInsn(raw(0x07, 1, 0, 0, imm));
/** r0 = imm */
const mov = (imm: number) => makeInsn(raw(0xb7, 0, 0, 0, imm));
/** r0 = imm64 ll */
const lddw = (value: bigint) =>
  makeInsn(raw(0x18, 0, 0, 0, Number(BigInt.asIntN(32, value))), 0, Number(BigInt.asIntN(32, value >> 32n)));
const exit = () => makeInsn(raw(0x95, 0, 0, 0, 0));

type Relo = { typeId: number; accessStr: string; kind: CoreReloKind };

/** A one-function program whose relocation i is on instruction i. */
function program(insns: Insn[], relos: Relo[], name = 'prog'): ProgramSpec {
  const placed = layout([...insns, exit()]);
  return {
    name,
    section: 'socket',
    sectionOffset: 0,
    ownSlots: placed.reduce((n, i) => n + (i.kind === 'lddw' ? 2 : 1), 0),
    sectionInfo: undefined,
    license: 'GPL',
    insns: placed,
    mapReferences: [],
    externReferences: [],
    lines: placed.map(() => undefined),
    funcInfo: [],
    lineInfo: [],
    coreRelos: relos.map((r, i) => ({
      ...r,
      insnOff: placed[i]!.slot * 8,
      insnIndex: placed[i]!.slot,
      accessStrOff: 0,
      slot: placed[i]!.slot,
    })),
    subprograms: [],
  };
}

function relocate(insn: Insn, relo: Relo, local: Btf, target: Btf): { insns: Insn[]; result: CoreResult } {
  const { insns, results } = applyCoreRelocations(program([insn], [relo]), local, target);
  return { insns, result: results[0]! };
}

function isPoisonCall(insn: Insn | undefined): boolean {
  return insn?.kind === 'call' && insn.imm === CORE_POISON_HELPER && insn.src === 0 && insn.dst === 0;
}

// A kernel-ish pair of BTFs used by many tests.
function taskTypes(): { local: Btf; target: Btf; ids: Record<string, number> } {
  const l = new Types();
  const lInt = l.int('int', 4, true);
  const lUint = l.int('unsigned int', 4);
  const lLong = l.int('long', 8, true);
  const lTask = l.struct('task_struct', 16, [
    ['pid', lInt, 0],
    ['tgid', lInt, 32],
    ['flags', lUint, 64],
  ]);
  const lOld = l.struct('task_struct___old', 8, [['state', lLong, 0]]);
  const lNew = l.struct('task_struct___new', 4, [['__state', lUint, 0]]);
  const lNarrow = l.struct('task_struct___narrow', 4, [['atomic_flags', lUint, 0]]);
  const lSigned = l.struct('task_struct___signed', 4, [['atomic_flags', lInt, 0]]);
  const lTypedef = l.typedef('task_t', lTask);
  const lMissing = l.struct('no_such_type', 4, [['x', lInt, 0]]);

  const t = new Types();
  const tInt = t.int('int', 4, true);
  const tUint = t.int('unsigned int', 4);
  const tUlong = t.int('long unsigned int', 8);
  const tTask = t.struct('task_struct', 64, [
    ['__state', tUint, 0],
    ['flags', tUint, 32],
    ['atomic_flags', tUlong, 64],
    ['pid', tInt, 256],
    ['tgid', tInt, 288],
  ]);
  const tTypedef = t.typedef('task_t', tTask);
  return {
    local: l.btf(),
    target: t.btf(),
    ids: { lTask, lOld, lNew, lNarrow, lSigned, lTypedef, lMissing, tTask, tTypedef, lUint, lInt },
  };
}

// ---------------------------------------------------------------------------------------------
// Unit tests

describe('names and candidates', () => {
  test('essential names cut the last ___flavor', () => {
    assert.equal(coreEssentialName('task_struct___old'), 'task_struct');
    assert.equal(coreEssentialName('task_struct___2'), 'task_struct');
    assert.equal(coreEssentialName('a___b___c'), 'a___b');
    assert.equal(coreEssentialName('task_struct'), 'task_struct');
    // A separator needs a non-underscore on both sides.
    assert.equal(coreEssentialName('a____b'), 'a____b');
    assert.equal(coreEssentialName('___x'), '___x');
    assert.equal(coreEssentialName('x___'), 'x___');
    assert.equal(coreEssentialName(''), '');
  });

  test('candidates have the same kind and essential name; enum and enum64 count as one kind', () => {
    const l = new Types();
    const s = l.struct('s___mine', 4, []);
    const e = l.enum('e', [['A', 1]]);
    const t = new Types();
    const ts1 = t.struct('s', 4, []);
    t.union('s', 4, []);
    const ts2 = t.struct('s___2', 4, []);
    t.struct('s_other', 4, []);
    const te = t.enum64('e', [['A', 1n]]);
    const local = l.btf();
    const target = t.btf();
    assert.deepEqual(
      findCoreCandidates(local, s, target).map((c) => c.id),
      [ts1, ts2],
    );
    assert.deepEqual(
      findCoreCandidates(local, e, target).map((c) => c.id),
      [te],
    );
  });

  test('module BTFs are searched only when the target has no candidate', () => {
    const l = new Types();
    const s = l.struct('modtype', 4, []);
    const k = l.struct('kerntype', 4, []);
    const base = new Types();
    base.struct('kerntype', 4, []);
    const vmlinux = base.btf();
    const module = new Btf({
      base: vmlinux,
      strings: new Uint8Array(0),
      types: [{ kind: 'struct', id: 2, name: 'modtype', nameOff: 0, size: 4, kindFlag: false, members: [] }],
    });
    const local = l.btf();
    assert.deepEqual(
      findCoreCandidates(local, s, vmlinux, [module]).map((c) => [c.btf === module, c.id]),
      [[true, 2]],
    );
    assert.deepEqual(
      findCoreCandidates(local, k, vmlinux, [module]).map((c) => [c.btf === vmlinux, c.id]),
      [[true, 1]],
    );
  });
});

describe('field relocations', () => {
  test('field_byte_offset patches a load offset and an ALU immediate', () => {
    const { local, target, ids } = taskTypes();
    const load = relocate(
      ldxw(4),
      { typeId: ids.lTask!, accessStr: '0:1', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.equal(load.insns[0]!.off, 36);
    assert.equal(load.insns[0]!.opcode, 0x61);
    assert.equal(load.result.resolution.origValue, 4n);
    assert.equal(load.result.resolution.newValue, 36n);
    assert.deepEqual(load.result.resolution.targetSpec?.raw, [0, 4]);
    const alu = relocate(
      add(8),
      { typeId: ids.lTask!, accessStr: '0:2', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.equal(alu.insns[0]!.imm, 4);
  });

  test('ST and STX offsets are patched too', () => {
    const { local, target, ids } = taskTypes();
    const st = relocate(
      stw(0, 7),
      { typeId: ids.lTask!, accessStr: '0:0', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.equal(st.insns[0]!.off, 32);
    assert.equal(st.insns[0]!.imm, 7);
    // A typedef root is skipped to the struct.
    const stx = relocate(
      stxdw(4),
      { typeId: ids.lTypedef!, accessStr: '0:1', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.equal(stx.insns[0]!.off, 36);
  });

  test('flavors: a field missing from the target gives exists 0 and poisons its load', () => {
    const { local, target, ids } = taskTypes();
    const exists = relocate(
      mov(1),
      { typeId: ids.lOld!, accessStr: '0:0', kind: 'field_exists' },
      local,
      target,
    );
    assert.equal(exists.insns[0]!.imm, 0);
    assert.equal(exists.result.poisoned, false);
    assert.deepEqual(
      exists.result.resolution.candidates.map((c) => c.id),
      [ids.tTask],
    );
    assert.deepEqual(exists.result.resolution.matches, []);
    const load = relocate(
      ldxdw(0),
      { typeId: ids.lOld!, accessStr: '0:0', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.ok(isPoisonCall(load.insns[0]));
    assert.equal(load.insns[0]!.slot, 0);
    assert.equal(load.result.poisoned, true);
    // The other flavor has it.
    const present = relocate(
      mov(1),
      { typeId: ids.lNew!, accessStr: '0:0', kind: 'field_exists' },
      local,
      target,
    );
    assert.equal(present.insns[0]!.imm, 1);
    for (const kind of ['field_byte_size', 'field_signed', 'field_lshift_u64', 'field_rshift_u64'] as const) {
      const r = relocate(mov(8), { typeId: ids.lOld!, accessStr: '0:0', kind }, local, target);
      assert.ok(isPoisonCall(r.insns[0]), kind);
    }
  });

  test('field_byte_size and field_signed', () => {
    const { local, target, ids } = taskTypes();
    const size = relocate(
      mov(4),
      { typeId: ids.lNarrow!, accessStr: '0:0', kind: 'field_byte_size' },
      local,
      target,
    );
    assert.equal(size.insns[0]!.imm, 8);
    const signed = relocate(
      mov(1),
      { typeId: ids.lTask!, accessStr: '0:0', kind: 'field_signed' },
      local,
      target,
    );
    assert.equal(signed.insns[0]!.imm, 1);
    const unsigned = relocate(
      mov(0),
      { typeId: ids.lTask!, accessStr: '0:2', kind: 'field_signed' },
      local,
      target,
    );
    assert.equal(unsigned.insns[0]!.imm, 0);
  });

  test('a load of an unsigned field of another size is resized; a signed one is poisoned', () => {
    const { local, target, ids } = taskTypes();
    const widened = relocate(
      ldxw(0),
      { typeId: ids.lNarrow!, accessStr: '0:0', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.equal(widened.insns[0]!.opcode, 0x79, 'ldxw became ldxdw');
    assert.equal(widened.insns[0]!.off, 8);
    assert.equal(widened.result.resolution.origSize, 4);
    assert.equal(widened.result.resolution.newSize, 8);
    const signed = relocate(
      ldxw(0),
      { typeId: ids.lSigned!, accessStr: '0:0', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.ok(signed.result.resolution.failMemSizeAdjust);
    assert.ok(isPoisonCall(signed.insns[0]));
    // An ALU add of the offset does not load anything, so it is patched regardless.
    const alu = relocate(
      add(0),
      { typeId: ids.lSigned!, accessStr: '0:0', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.equal(alu.insns[0]!.imm, 8);
    // The load's size must be the local field's.
    assert.throws(
      () =>
        relocate(
          ldxdw(0),
          { typeId: ids.lNarrow!, accessStr: '0:0', kind: 'field_byte_offset' },
          local,
          target,
        ),
      (e: unknown) =>
        e instanceof CoreError && /unexpected memory access size: got 8 bytes, expected 4/.test(e.message),
    );
  });

  test('bitfields: offset, size, lshift_u64, rshift_u64 and signed as libbpf computes them', () => {
    const l = new Types();
    const lUint = l.int('unsigned int', 4);
    const lInt = l.int('int', 4, true);
    const lS = l.struct('bits', 8, [
      ['a', lUint, 0],
      ['flags', lUint, 32, 4],
      ['prio', lInt, 36, 5],
    ]);
    const t = new Types();
    const tUint = t.int('unsigned int', 4);
    const tInt = t.int('int', 4, true);
    t.struct('bits', 16, [
      ['x', tUint, 0],
      ['prio', tInt, 30, 5], // straddles the first 4 bytes: needs an 8-byte load
      ['flags', tUint, 68, 4],
    ]);
    const local = l.btf();
    const target = t.btf();
    const value = (accessStr: string, kind: CoreReloKind) =>
      resolveCoreRelo({ typeId: lS, accessStr, kind }, local, target);
    // flags: bits 68..71 of a 4-byte unit at byte 8.
    assert.equal(value('0:1', 'field_byte_offset').newValue, 8n);
    assert.equal(value('0:1', 'field_byte_size').newValue, 4n);
    assert.equal(value('0:1', 'field_lshift_u64').newValue, 64n - (68n + 4n - 64n));
    assert.equal(value('0:1', 'field_rshift_u64').newValue, 60n);
    assert.equal(value('0:1', 'field_signed').newValue, 0n);
    // prio: bits 30..34 need an 8-byte load at byte 0.
    assert.equal(value('0:2', 'field_byte_offset').newValue, 0n);
    assert.equal(value('0:2', 'field_byte_size').newValue, 8n);
    assert.equal(value('0:2', 'field_lshift_u64').newValue, 29n);
    assert.equal(value('0:2', 'field_rshift_u64').newValue, 59n);
    assert.equal(value('0:2', 'field_signed').newValue, 1n);
    // Local values: flags at bit 32 of a 4-byte unit at byte 4.
    assert.equal(value('0:1', 'field_lshift_u64').origValue, 64n - (32n + 4n - 32n));
    // Bitfield offsets and sizes are not checked against the instruction (compilers differ), but
    // signedness and right shifts are.
    const lshift = relocate(
      mov(12345),
      { typeId: lS, accessStr: '0:1', kind: 'field_lshift_u64' },
      local,
      target,
    );
    assert.equal(lshift.insns[0]!.imm, 56);
    assert.throws(
      () => relocate(mov(1), { typeId: lS, accessStr: '0:1', kind: 'field_rshift_u64' }, local, target),
      CoreError,
    );
    // A bitfield load is never resized (libbpf leaves the size to the program).
    const load = relocate(
      ldxw(4),
      { typeId: lS, accessStr: '0:2', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.equal(load.insns[0]!.opcode, 0x61);
    assert.equal(load.insns[0]!.off, 0);
  });

  test('a bitfield no 8-byte load can cover is an error', () => {
    const l = new Types();
    const lU = l.int('unsigned long', 8);
    const lS = l.struct('wide', 16, [['f', lU, 60, 8]]);
    const local = l.btf();
    assert.throws(
      () => resolveCoreRelo({ typeId: lS, accessStr: '0:0', kind: 'field_byte_size' }, local, local),
      /cannot be read with one 64-bit load/,
    );
  });

  test('anonymous members are stepped through on both sides; arrays are bounds-checked', () => {
    const l = new Types();
    const lInt = l.int('int', 4, true);
    const lArr = l.array(lInt, 4);
    const lAnon = l.struct('', 8, [
      ['a', lInt, 0],
      ['c', lInt, 32],
    ]);
    const lS = l.struct('s', 24, [
      ['', lAnon, 0],
      ['arr', lArr, 64],
    ]);
    const t = new Types();
    const tInt = t.int('int', 4, true);
    const tLong = t.int('long', 8, true);
    const tArr = t.array(tInt, 8);
    const tUnion = t.union('', 8, [
      ['a', tInt, 0],
      ['b', tLong, 0],
    ]);
    t.struct('s', 64, [
      ['x', tLong, 0],
      ['', tUnion, 64],
      ['c', tInt, 128],
      ['arr', tArr, 256],
    ]);
    const local = l.btf();
    const target = t.btf();
    const a = resolveCoreRelo({ typeId: lS, accessStr: '0:0:0', kind: 'field_byte_offset' }, local, target);
    assert.equal(a.newValue, 8n);
    assert.deepEqual(a.targetSpec?.raw, [0, 1, 0]);
    assert.deepEqual(
      a.localSpec.accessors.map((x) => x.name),
      [undefined, 'a'],
    );
    const c = resolveCoreRelo({ typeId: lS, accessStr: '0:0:1', kind: 'field_byte_offset' }, local, target);
    assert.equal(c.newValue, 16n);
    const element = resolveCoreRelo(
      { typeId: lS, accessStr: '0:1:3', kind: 'field_byte_offset' },
      local,
      target,
    );
    assert.equal(element.origValue, 8n + 12n);
    assert.equal(element.newValue, 32n + 12n);
    assert.equal(element.newSize, 4);
    // field_signed cannot be asked of an array element.
    assert.throws(
      () => resolveCoreRelo({ typeId: lS, accessStr: '0:1:3', kind: 'field_signed' }, local, target),
      /cannot be applied to an array element/,
    );
    // Index 4 is past the local array: a malformed relocation.
    assert.throws(
      () => resolveCoreRelo({ typeId: lS, accessStr: '0:1:4', kind: 'field_byte_offset' }, local, target),
      (e: unknown) => e instanceof CoreError && /array index 4 out of range/.test(e.message),
    );
    // Past the target's: no match, so the load is poisoned and exists is 0.
    const small = new Types();
    const sInt = small.int('int', 4, true);
    const sArr = small.array(sInt, 2);
    small.struct('s', 16, [
      ['a', sInt, 0],
      ['c', sInt, 32],
      ['arr', sArr, 64],
    ]);
    const missing = resolveCoreRelo(
      { typeId: lS, accessStr: '0:1:3', kind: 'field_byte_offset' },
      local,
      small.btf(),
    );
    assert.equal(missing.poison, true);
  });

  test('a flexible array may be indexed past its zero length', () => {
    const l = new Types();
    const lU = l.int('unsigned long', 8);
    const lFlex = l.array(lU, 0);
    const lS = l.struct('mm', 8, [
      ['x', lU, 0],
      ['bitmap', lFlex, 64],
    ]);
    const local = l.btf();
    const t = new Types();
    const tU = t.int('unsigned long', 8);
    const tFlex = t.array(tU, 0);
    t.struct('mm', 24, [
      ['x', tU, 0],
      ['y', tU, 64],
      ['bitmap', tFlex, 128],
    ]);
    const r = resolveCoreRelo({ typeId: lS, accessStr: '0:1:2', kind: 'field_byte_offset' }, local, t.btf());
    assert.equal(r.origValue, 8n + 16n);
    assert.equal(r.newValue, 16n + 16n);
  });

  test('field compatibility: ints, pointers, enums by name, structs with any struct', () => {
    const l = new Types();
    const lInt = l.int('int', 4, true);
    const lPtr = l.ptr(lInt);
    const lE = l.enum('color', [['RED', 0]]);
    const lS = l.struct('f', 24, [
      ['i', lInt, 0],
      ['p', lPtr, 64],
      ['e', lE, 128],
    ]);
    const t = new Types();
    const tChar = t.int('char', 1);
    const tVoid = t.ptr(0);
    const tE = t.enum('colour', [['RED', 0]]);
    t.struct('f', 24, [
      ['i', tChar, 0],
      ['p', tVoid, 64],
      ['e', tE, 128],
    ]);
    const local = l.btf();
    const target = t.btf();
    const exists = (accessStr: string) =>
      resolveCoreRelo({ typeId: lS, accessStr, kind: 'field_exists' }, local, target).newValue;
    assert.equal(exists('0:0'), 1n, 'int of another size and signedness');
    assert.equal(exists('0:1'), 1n, 'pointers to anything');
    assert.equal(exists('0:2'), 0n, 'enums of other names');
  });

  test('candidates must agree: same offset across flavors is fine, different is ambiguous', () => {
    const l = new Types();
    const lInt = l.int('int', 4, true);
    const lS = l.struct('s', 8, [['b', lInt, 32]]);
    const agree = new Types();
    const aInt = agree.int('int', 4, true);
    agree.struct('s', 8, [
      ['a', aInt, 0],
      ['b', aInt, 32],
    ]);
    agree.struct('s___2', 8, [
      ['x', aInt, 0],
      ['b', aInt, 32],
    ]);
    const local = l.btf();
    const ok = resolveCoreRelo(
      { typeId: lS, accessStr: '0:0', kind: 'field_byte_offset' },
      local,
      agree.btf(),
    );
    assert.equal(ok.matches.length, 2);
    assert.equal(ok.newValue, 4n);
    const differ = new Types();
    const dInt = differ.int('int', 4, true);
    differ.struct('s', 8, [['b', dInt, 0]]);
    differ.struct('s___2', 8, [
      ['x', dInt, 0],
      ['b', dInt, 32],
    ]);
    assert.throws(
      () => resolveCoreRelo({ typeId: lS, accessStr: '0:0', kind: 'field_byte_offset' }, local, differ.btf()),
      (e: unknown) => e instanceof CoreError && /field offset ambiguity/.test(e.message),
    );
    // Same offset, but one candidate's field is too small to load: decisions differ.
    const sizes = new Types();
    const sInt = sizes.int('int', 4, true);
    const sShort = sizes.int('short', 2, true);
    sizes.struct('s', 8, [['b', sInt, 32]]);
    sizes.struct('s___2', 8, [['b', sShort, 32]]);
    assert.throws(
      () => resolveCoreRelo({ typeId: lS, accessStr: '0:0', kind: 'field_byte_size' }, local, sizes.btf()),
      /relocation decision ambiguity/,
    );
  });

  test('a shared cache keeps only the candidates that matched, as libbpf', () => {
    const l = new Types();
    const lInt = l.int('int', 4, true);
    const lS = l.struct('s', 8, [
      ['a', lInt, 0],
      ['b', lInt, 32],
    ]);
    const t = new Types();
    const tInt = t.int('int', 4, true);
    const t1 = t.struct('s', 8, [['a', tInt, 0]]);
    const t2 = t.struct('s___2', 8, [
      ['a', tInt, 0],
      ['b', tInt, 32],
    ]);
    const local = l.btf();
    const target = t.btf();
    const cache = new Map<number, readonly CoreCandidate[]>();
    const first = resolveCoreRelo(
      { typeId: lS, accessStr: '0:1', kind: 'field_byte_offset' },
      local,
      target,
      {
        cache,
      },
    );
    assert.deepEqual(
      first.matches.map((c) => c.id),
      [t2],
    );
    assert.deepEqual(
      cache.get(lS)?.map((c) => c.id),
      [t2],
    );
    const second = resolveCoreRelo(
      { typeId: lS, accessStr: '0:0', kind: 'field_byte_offset' },
      local,
      target,
      {
        cache,
      },
    );
    assert.deepEqual(
      second.candidates.map((c) => c.id),
      [t2],
    );
    assert.ok(t1 < t2);
  });
});

describe('type relocations', () => {
  test('type_exists, type_size, type_id_target, type_matches: found and missing', () => {
    const { local, target, ids } = taskTypes();
    const r = (typeId: number, kind: CoreReloKind, insn: Insn) =>
      relocate(insn, { typeId, accessStr: '0', kind }, local, target).insns;
    assert.equal(r(ids.lOld!, 'type_exists', mov(1))[0]!.imm, 1);
    assert.equal(r(ids.lOld!, 'type_size', mov(8))[0]!.imm, 64, 'size of the target task_struct');
    const id = r(ids.lTypedef!, 'type_id_target', lddw(BigInt(ids.lTypedef!)))[0]!;
    assert.equal(id.kind === 'lddw' ? id.value : undefined, BigInt(ids.tTypedef!));
    for (const kind of ['type_exists', 'type_size', 'type_matches', 'type_id_target'] as const) {
      const insn =
        kind === 'type_id_target' ? lddw(BigInt(ids.lMissing!)) : mov(kind === 'type_size' ? 4 : 1);
      const out = r(ids.lMissing!, kind, insn)[0]!;
      assert.equal(out.kind === 'lddw' ? out.value : BigInt(out.imm), 0n, kind);
    }
    // type_id_local needs no target and no candidate.
    const localId = relocate(
      lddw(7n),
      { typeId: ids.lTask!, accessStr: '0', kind: 'type_id_local' },
      local,
      target,
    );
    assert.equal(localId.insns[0]!.kind === 'lddw' ? localId.insns[0]!.value : 0n, BigInt(ids.lTask!));
    assert.deepEqual(localId.result.resolution.candidates, []);
  });

  test('types_are_compat: kinds must match; ints, pointers, arrays and prototypes recursively', () => {
    const l = new Types();
    const lInt = l.int('int', 4, true);
    const lS = l.struct('s', 4, []);
    const lU = l.union('u', 4, []);
    const lPtr = l.ptr(lS);
    const lProto = l.proto(lInt, [lPtr, lInt]);
    const lFloat = l.float('double', 8);
    const t = new Types();
    const tLong = t.int('long', 8, true);
    const tS = t.struct('s', 64, [['x', tLong, 0]]);
    const tU = t.union('u', 4, []);
    const tPtr = t.ptr(tS);
    const tProto = t.proto(tLong, [tPtr, tLong]);
    const tProto1 = t.proto(tLong, [tPtr]);
    const tFloat = t.float('double', 8);
    const local = l.btf();
    const target = t.btf();
    assert.ok(coreTypesAreCompatible(local, lS, target, tS));
    assert.ok(!coreTypesAreCompatible(local, lS, target, tU));
    assert.ok(coreTypesAreCompatible(local, lU, target, tU));
    assert.ok(coreTypesAreCompatible(local, lProto, target, tProto));
    assert.ok(!coreTypesAreCompatible(local, lProto, target, tProto1));
    assert.ok(coreTypesAreCompatible(local, lInt, target, tLong));
    // libbpf does not expect floats here and calls them incompatible.
    assert.ok(!coreTypesAreCompatible(local, lFloat, target, tFloat));
  });

  test('type_matches: sizes, signedness, member names, enumerator names, forward declarations', () => {
    const l = new Types();
    const lInt = l.int('int', 4, true);
    const lHead = l.struct('list_head', 16, []);
    const lHeadPtr = l.ptr(lHead);
    const lList = l.struct('list_head', 16, [
      ['next', lHeadPtr, 0],
      ['prev', lHeadPtr, 64],
    ]);
    const lBad = l.struct('list_head___bad', 4, [['next', lInt, 0]]);
    const lE = l.enum('pid_type', [['PIDTYPE_TGID___x', 1]]);
    const lFwd = l.fwd('opaque', 'struct');
    const lFwdPtr = l.ptr(lFwd);
    const lHolder = l.struct('holder', 8, [['p', lFwdPtr, 0]]);
    const lUnsigned = l.int('int', 4, false);
    const t = new Types();
    const tHead = t.struct('list_head', 16, []);
    const tHeadPtr = t.ptr(tHead);
    const tList = t.struct('list_head', 16, [
      ['next', tHeadPtr, 0],
      ['prev', tHeadPtr, 64],
      ['extra', tHeadPtr, 128],
    ]);
    const tE = t.enum('pid_type', [
      ['PIDTYPE_PID', 0],
      ['PIDTYPE_TGID', 1],
    ]);
    const tE8 = t.enum('pid_type', [['PIDTYPE_TGID', 1]], 8);
    const tOpaque = t.struct('opaque', 32, []);
    const tOpaquePtr = t.ptr(tOpaque);
    const tHolder = t.struct('holder', 8, [['p', tOpaquePtr, 0]]);
    const tInt = t.int('int', 4, true);
    const local = l.btf();
    const target = t.btf();
    assert.ok(coreTypesMatch(local, lList, target, tList), 'a superset of members matches');
    assert.ok(!coreTypesMatch(local, lBad, target, tList), 'int next is not a pointer');
    assert.ok(coreTypesMatch(local, lE, target, tE), 'enumerators by essential name');
    assert.ok(!coreTypesMatch(local, lE, target, tE8), 'enum sizes must agree');
    assert.ok(coreTypesMatch(local, lHolder, target, tHolder), 'a forward declaration behind a pointer');
    assert.ok(!coreTypesMatch(local, lFwd, target, tOpaque), 'but not by value');
    assert.ok(!coreTypesMatch(local, lUnsigned, target, tInt), 'signedness must agree');
    // Through resolveCoreRelo: type_matches 0 for the bad flavor, type_exists 1 for it.
    const bad = (kind: CoreReloKind) =>
      resolveCoreRelo({ typeId: lBad, accessStr: '0', kind }, local, target).newValue;
    assert.equal(bad('type_matches'), 0n);
    assert.equal(bad('type_exists'), 1n);
  });
});

describe('enumerator relocations', () => {
  const l = new Types();
  const lE = l.enum('state', [
    ['RUNNING', 1],
    ['SLEEPING___x', 2],
    ['GONE', 3],
  ]);
  const lE64 = l.enum64('big', [['HUGE', 1n << 40n]]);
  const t = new Types();
  t.enum(
    'state',
    [
      ['SLEEPING', 5],
      ['RUNNING', -2],
    ],
    4,
    true,
  );
  t.enum64('big', [['HUGE', 0xfffffffffffffe00n]]);
  const local = l.btf();
  const target = t.btf();

  test('values are the target enumerator of the same essential name', () => {
    const running = relocate(mov(1), { typeId: lE, accessStr: '0', kind: 'enumval_value' }, local, target);
    // A negative 32-bit enumerator is widened with sign extension.
    assert.equal(running.result.resolution.newValue, 0xfffffffffffffffen);
    assert.equal(running.insns[0]!.imm, -2);
    const sleeping = relocate(lddw(2n), { typeId: lE, accessStr: '1', kind: 'enumval_value' }, local, target);
    assert.equal(sleeping.insns[0]!.kind === 'lddw' ? sleeping.insns[0]!.value : 0n, 5n);
    const exists = relocate(mov(1), { typeId: lE, accessStr: '1', kind: 'enumval_exists' }, local, target);
    assert.equal(exists.insns[0]!.imm, 1);
  });

  test('a missing enumerator: exists 0, value poisoned in both lddw slots', () => {
    const exists = relocate(lddw(1n), { typeId: lE, accessStr: '2', kind: 'enumval_exists' }, local, target);
    assert.equal(exists.insns[0]!.kind === 'lddw' ? exists.insns[0]!.value : -1n, 0n);
    const value = relocate(lddw(3n), { typeId: lE, accessStr: '2', kind: 'enumval_value' }, local, target);
    assert.equal(value.insns.length, 3, 'two calls and the exit');
    assert.ok(isPoisonCall(value.insns[0]) && isPoisonCall(value.insns[1]));
    assert.deepEqual(
      value.insns.map((i) => i.slot),
      [0, 1, 2],
    );
  });

  test('enum64 values fill both halves of a lddw', () => {
    const r = relocate(
      lddw(1n << 40n),
      { typeId: lE64, accessStr: '0', kind: 'enumval_value' },
      local,
      target,
    );
    const insn = r.insns[0]!;
    assert.equal(insn.kind === 'lddw' ? insn.value : 0n, 0xfffffffffffffe00n);
    assert.equal(insn.imm, -512);
    assert.equal(insn.kind === 'lddw' ? insn.imm2 : 0, -1);
  });
});

describe('malformed relocations', () => {
  const { local, target, ids } = taskTypes();
  const expectCoreError = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof CoreError, String(e));
      assert.match(e.message, pattern);
      return true;
    });

  test('bad access strings', () => {
    for (const accessStr of ['', ':0', '0:', '0::1', '0:x', '0:-1', '0:1 ']) {
      expectCoreError(
        () => parseCoreSpec(local, { typeId: ids.lTask!, accessStr, kind: 'field_byte_offset' }),
        /access string|parsing/,
      );
    }
    expectCoreError(
      () => parseCoreSpec(local, { typeId: ids.lTask!, accessStr: '1', kind: 'type_size' }),
      /want '0'/,
    );
    expectCoreError(
      () => parseCoreSpec(local, { typeId: ids.lTask!, accessStr: '0', kind: 'enumval_value' }),
      /not an enum/,
    );
    expectCoreError(
      () => parseCoreSpec(local, { typeId: ids.lTask!, accessStr: '0:3', kind: 'field_byte_offset' }),
      /member index 3 out of range/,
    );
    expectCoreError(
      () => parseCoreSpec(local, { typeId: ids.lTask!, accessStr: '0:0:0', kind: 'field_byte_offset' }),
      /not a struct, union or array/,
    );
    expectCoreError(
      () => resolveCoreRelo({ typeId: 999, accessStr: '0', kind: 'type_size' }, local, target),
      /type id 999 out of range/,
    );
  });

  test('errors name the program, relocation and instruction', () => {
    const spec = program(
      [mov(0), ldxw(8)],
      [
        { typeId: ids.lTask!, accessStr: '0:0', kind: 'field_exists' },
        { typeId: ids.lTask!, accessStr: '0:1', kind: 'field_byte_offset' },
      ],
      'my_prog',
    );
    // Relocation 0 is on `r0 = 0` but the local value of field_exists is 1.
    assert.throws(
      () => applyCoreRelocations(spec, local, target),
      (e: unknown) => {
        assert.ok(e instanceof CoreError);
        assert.equal(e.program, 'my_prog');
        assert.equal(e.relo, 0);
        assert.equal(e.insn, 0);
        assert.equal(e.kind, 'field_exists');
        assert.match(
          e.message,
          /^CO-RE: program 'my_prog', relocation #0, <field_exists> \[\d+\] '0:0', instruction 0: /,
        );
        assert.match(e.message, /unexpected ALU immediate: got 0, expected 1/);
        return true;
      },
    );
    const second = program(
      [mov(1), ldxw(8)],
      [
        { typeId: ids.lTask!, accessStr: '0:0', kind: 'field_exists' },
        { typeId: ids.lTask!, accessStr: '0:1', kind: 'field_byte_offset' },
      ],
    );
    expectCoreError(
      () => applyCoreRelocations(second, local, target),
      /relocation #1.*unexpected memory offset: got 8/,
    );
  });

  test('instructions that cannot carry the value', () => {
    const relo: Relo = { typeId: ids.lTask!, accessStr: '0:1', kind: 'field_byte_offset' };
    expectCoreError(
      () => relocate(makeInsn(raw(0x05, 0, 0, 4, 0)), relo, local, target),
      /cannot relocate a ja/,
    );
    expectCoreError(() => relocate(makeInsn(raw(0x0f, 1, 2, 0, 0)), relo, local, target), /register operand/);
    expectCoreError(
      () => relocate(makeInsn(raw(0x18, 1, 1, 0, 4)), relo, local, target),
      /64-bit immediate load has an unexpected form/,
    );
    // An offset past the 16-bit field.
    const t = new Types();
    const tInt = t.int('int', 4, true);
    t.struct('task_struct', 8192, [
      ['pid', tInt, 0],
      ['tgid', tInt, 40000 * 8],
    ]);
    expectCoreError(() => relocate(ldxw(4), relo, local, t.btf()), /does not fit the 16-bit offset/);
    // A relocation pointing into the second slot of a lddw.
    const spec = program([lddw(1n)], [relo]);
    const bad = { ...spec, coreRelos: [{ ...spec.coreRelos[0]!, slot: 1 }] };
    expectCoreError(() => applyCoreRelocations(bad, local, target), /no instruction starts at slot 1/);
  });

  test('anonymous local types cannot be relocated (except type_id_local)', () => {
    const l = new Types();
    const lInt = l.int('int', 4, true);
    const anon = l.struct('', 4, [['a', lInt, 0]]);
    const btf = l.btf();
    expectCoreError(
      () => resolveCoreRelo({ typeId: anon, accessStr: '0:0', kind: 'field_byte_offset' }, btf, btf),
      /anonymous/,
    );
    assert.equal(
      resolveCoreRelo({ typeId: anon, accessStr: '0', kind: 'type_id_local' }, btf, btf).newValue,
      2n,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Against libbpf and the kernel

const BPFFS = '/sys/fs/bpf';

function kernelSkipReason(): string | false {
  if (spawnSync('bpftool', ['version']).status !== 0) return 'bpftool not installed';
  if (!existsSync(VMLINUX)) return `${VMLINUX} not readable`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root: bpf() needs CAP_BPF';
  if (!existsSync(BPFFS)) return `${BPFFS} not mounted`;
  // `prog show` walks the loaded programs with bpf(): it fails where the syscall does.
  if (spawnSync('bpftool', ['prog', 'show']).status !== 0)
    return 'bpf() unavailable (bpftool prog show failed)';
  return false;
}
const SKIP = kernelSkipReason();
if (SKIP) console.log(`# core.test.ts: skipping comparisons with libbpf: ${SKIP}`);

/** What libbpf's debug log says it did for one relocation. */
interface LibbpfRelo {
  prog: string;
  relo: number;
  kind: string;
  insn: number;
  poisoned: boolean;
  /** The patched value (immediate, offset or 64-bit immediate). */
  value?: bigint;
  /** For a resized load/store: the new size in bytes. */
  memSize?: number;
}

/** `bpftool -d prog load`: libbpf's debug log (and the verifier's), and whether the load worked. */
function bpftoolLoad(object: string, pin: string): { log: string; loaded: boolean } {
  rmSync(pin, { force: true });
  try {
    const run = spawnSync('bpftool', ['-d', 'prog', 'load', object, pin], { encoding: 'utf8' });
    return { log: `${run.stdout}${run.stderr}`, loaded: run.status === 0 && existsSync(pin) };
  } catch (error) {
    rmSync(pin, { force: true });
    throw error;
  }
}

function parseLibbpfLog(log: string): Map<string, LibbpfRelo> {
  const out = new Map<string, LibbpfRelo>();
  for (const text of log.split('\n')) {
    const m = /^libbpf: prog '([^']+)': relo #(\d+): (.*)$/.exec(text);
    if (!m) continue;
    const prog = m[1]!;
    const rest = m[3]!;
    const key = `${prog}#${m[2]}`;
    let entry = out.get(key);
    if (!entry) {
      const kind = /^<(\w+)> \[/.exec(rest)?.[1] ?? '?';
      entry = { prog, relo: Number(m[2]), kind, insn: -1, poisoned: false };
      out.set(key, entry);
    }
    // libbpf prints the full 64-bit new value (before an ALU immediate truncates it to 32 bits).
    const patched = /^patched insn #(\d+) \([^)]*\) (?:imm|off|imm64) (\d+) -> (\d+)$/.exec(rest);
    const resized = /^patched insn #(\d+) \(LDX\/ST\/STX\) mem_sz (\d+) -> (\d+)$/.exec(rest);
    const poisoned = /^substituting insn #(\d+) w\/ invalid insn$/.exec(rest);
    if (patched) {
      entry.insn = Number(patched[1]);
      entry.value = BigInt(patched[3]!);
    } else if (resized) {
      entry.memSize = Number(resized[3]);
    } else if (poisoned) {
      // A poisoned lddw is logged twice, for both of its slots.
      if (!entry.poisoned) entry.insn = Number(poisoned[1]);
      entry.poisoned = true;
    }
  }
  return out;
}

const LLVM_NAME = new Map<CoreReloKind, string>(CORE_RELO_KINDS.map((k) => [k.kind, k.llvmName]));

/** Our result for each relocation, keyed as libbpf logs it: function name, insn in the function, kind. */
function ourRelocations(
  spec: ObjectSpec,
  vmlinux: Btf,
): Map<string, { result: CoreResult; program: string }> {
  const out = new Map<string, { result: CoreResult; program: string }>();
  const cache = new Map<number, readonly CoreCandidate[]>();
  const btf = spec.btf!;
  for (const prog of spec.programs) {
    const { results } = applyCoreRelocations(prog, btf, vmlinux, { cache });
    const starts = prog.funcInfo.map((f) => ({ slot: f.slot, name: btf.typeById(f.typeId).name }));
    for (const result of results) {
      const fn = starts.filter((f) => f.slot <= result.record.slot).at(-1) ?? { slot: 0, name: prog.name };
      const key = `${fn.name}:${result.record.slot - fn.slot}:${LLVM_NAME.get(result.record.kind)}`;
      out.set(key, { result, program: prog.name });
    }
  }
  return out;
}

function compareWithLibbpf(spec: ObjectSpec, vmlinux: Btf, log: string): number {
  const libbpf = parseLibbpfLog(log);
  assert.ok(libbpf.size > 0, 'libbpf logged no CO-RE relocations');
  const ours = ourRelocations(spec, vmlinux);
  let compared = 0;
  for (const theirs of libbpf.values()) {
    const key = `${theirs.prog}:${theirs.insn}:${theirs.kind}`;
    const mine = ours.get(key);
    assert.ok(mine, `libbpf relocated ${key} (relo #${theirs.relo}); we have ${[...ours.keys()].join(', ')}`);
    const { result } = mine;
    const what = `${key} (${result.record.accessStr})`;
    assert.equal(result.poisoned, theirs.poisoned, `${what}: poisoned`);
    if (!theirs.poisoned) {
      assert.equal(result.resolution.newValue, theirs.value, `${what}: value`);
      assert.equal(
        result.resolution.newSize !== result.resolution.origSize ? result.resolution.newSize : undefined,
        theirs.memSize,
        `${what}: load/store size`,
      );
    }
    compared++;
  }
  return compared;
}

interface XlatedInsn {
  opcodes: { code: string; src_reg: string; dst_reg: string; off: string[]; imm: string[] };
}

function bytesLe(hex: readonly string[]): bigint {
  let v = 0n;
  hex.forEach((h, i) => {
    v |= BigInt(Number.parseInt(h, 16)) << BigInt(8 * i);
  });
  return v;
}

/**
 * An alignment key: exact bytes for what the kernel keeps, and only the shape for what it rewrites
 * (helper call immediates, map references, the mode of loads from kernel memory).
 */
function keyOf(code: number, dst: number, src: number, off: number, imm: bigint): string {
  const cls = code & 0x07;
  if (code === 0x85) return 'call';
  if (code === 0x18 && src !== 0) return `lddw-map ${dst}`;
  if (cls === 0x01) return `ldx ${code & 0x18} ${dst} ${src} ${off}`;
  return `${code} ${dst} ${src} ${off} ${imm}`;
}

/** Longest common subsequence of two key lists: pairs of aligned indexes. */
function align(a: readonly string[], b: readonly string[]): Map<number, number> {
  const n = a.length;
  const m = b.length;
  const table = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i]![j] =
        a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const pairs = new Map<number, number>();
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) pairs.set(i++, j++);
    else if (table[i + 1]![j]! >= table[i]![j + 1]!) i++;
    else j++;
  }
  return pairs;
}

/** Slots the verifier visited, with the disassembly it printed (the program as libbpf submitted it). */
function verifierSlots(log: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const text of log.split('\n')) {
    const m = /^(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+;.*)?$/.exec(text);
    if (m) out.set(Number(m[1]), `(${m[2]}) ${m[3]}`);
  }
  return out;
}

/**
 * Load the object, then check our relocated instructions against what the kernel holds: by slot
 * against the verifier log (the submitted program, before the kernel's rewrites), and by
 * alignment against the xlated dump (dead branches are removed there, so slots shift).
 */
function compareWithKernel(
  spec: ObjectSpec,
  vmlinux: Btf,
  log: string,
  pin: string,
): { verifier: number; xlated: number; dead: number } {
  const xlated = JSON.parse(
    execFileSync('bpftool', ['-j', 'prog', 'dump', 'xlated', 'pinned', pin, 'opcodes'], { encoding: 'utf8' }),
  ) as XlatedInsn[];
  const prog = spec.programs[0]!;
  const { insns, results } = applyCoreRelocations(prog, spec.btf!, vmlinux);
  const visited = verifierSlots(log);
  const theirKeys = xlated.map((x) => {
    const o = x.opcodes;
    const imm =
      o.imm.length > 4 ? bytesLe(o.imm.slice(0, 4)) | (bytesLe(o.imm.slice(8, 12)) << 32n) : bytesLe(o.imm);
    const code = Number.parseInt(o.code, 16);
    const off = Number(BigInt.asIntN(16, bytesLe(o.off)));
    const value = code === 0x18 ? imm : BigInt.asIntN(32, imm);
    return keyOf(code, Number.parseInt(o.dst_reg, 16), Number.parseInt(o.src_reg, 16), off, value);
  });
  const ourKeys = insns.map((i) =>
    keyOf(i.opcode, i.dst, i.src, i.off, i.kind === 'lddw' ? i.value : BigInt(i.imm)),
  );
  const pairs = align(ourKeys, theirKeys);
  const indexOfSlot = new Map(insns.map((insn, index) => [insn.slot, index]));
  let verifier = 0;
  let aligned = 0;
  let dead = 0;
  for (const result of results) {
    const slot = result.record.slot;
    const seen = visited.get(slot);
    if (seen === undefined) {
      dead++; // never reached: the kernel removed it (poisoned instructions must all be here)
      continue;
    }
    assert.ok(!result.poisoned, `slot ${slot}: a poisoned instruction was reached`);
    const after = result.after[0]!;
    assert.ok(
      seen.startsWith(`(${after.opcode.toString(16).padStart(2, '0')})`),
      `slot ${slot}: verifier saw ${seen}, we have opcode 0x${after.opcode.toString(16)}`,
    );
    // The verifier prints `r1 += 1280`, `r2 = *(u32 *)(r1 +1264)` and `r1 = 0x72` (for lddw).
    const cls = after.opcode & 0x07;
    const memory = cls >= 1 && cls <= 3;
    const want =
      after.kind === 'lddw'
        ? `= 0x${after.value.toString(16)}`
        : memory
          ? `(r${cls === 1 ? after.src : after.dst} ${after.off < 0 ? after.off : `+${after.off}`})`
          : `${after.imm}`;
    const found = memory || after.kind === 'lddw' ? seen.includes(want) : seen.endsWith(` ${want}`);
    assert.ok(found, `slot ${slot}: verifier saw '${seen}', we computed ${want}`);
    verifier++;
    // Every instruction the verifier reached survives into the xlated program.
    assert.ok(
      pairs.has(indexOfSlot.get(slot)!),
      `slot ${slot}: our relocated instruction ${ourKeys[indexOfSlot.get(slot)!]} is not in the xlated program`,
    );
    aligned++;
  }
  return { verifier, xlated: aligned, dead };
}

describe('against libbpf on this kernel', { skip: SKIP }, () => {
  const vmlinux = SKIP ? undefined : parseBtf(readFileSync(VMLINUX));
  const objects = [
    { file: 'testdata/btf/core.o', loads: false },
    { file: 'examples/execsnoop.bpf.o', loads: true },
    { file: 'testdata/core/core_kinds.bpf.o', loads: true },
  ];
  for (const { file, loads } of objects) {
    test(`${file}: every relocation as libbpf computes it${loads ? ', and as the kernel loaded it' : ''}`, () => {
      const spec = loadObjectSpec(readFileSync(`${ROOT}${file}`));
      const pin = `${BPFFS}/tsbpf-core-test-${process.pid}`;
      try {
        const { log, loaded } = bpftoolLoad(`${ROOT}${file}`, pin);
        const compared = compareWithLibbpf(spec, vmlinux!, log);
        let kernel = '';
        if (loads) {
          assert.ok(loaded, `bpftool prog load ${file} failed:\n${log.split('\n').slice(-20).join('\n')}`);
          const k = compareWithKernel(spec, vmlinux!, log, pin);
          kernel = `; ${k.verifier} reached instructions equal in the verifier log and the xlated dump, ${k.dead} in dead code`;
        }
        console.log(`# ${file}: ${compared} relocations equal to libbpf's${kernel}`);
      } finally {
        rmSync(pin, { force: true });
      }
    });
  }

  test('core_kinds.bpf.o exercises every relocation kind', () => {
    const spec = loadObjectSpec(readFileSync(`${ROOT}testdata/core/core_kinds.bpf.o`));
    const kinds = new Set(spec.programs.flatMap((p) => p.coreRelos.map((r) => r.kind)));
    assert.deepEqual([...kinds].sort(), CORE_RELO_KINDS.map((k) => k.kind).sort());
    const { results } = applyCoreRelocations(spec.programs[0]!, spec.btf!, vmlinux!);
    assert.ok(results.some((r) => r.poisoned && r.before.kind === 'lddw'));
    assert.ok(results.some((r) => r.resolution.failMemSizeAdjust && r.poisoned));
    assert.ok(
      results.some((r) => r.after[0]!.opcode !== r.before.opcode && !r.poisoned),
      'a resized load',
    );
  });
});
