import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Insn } from '../isa/instruction.js';
import { PseudoSrc } from '../isa/opcodes.js';
import { parseElf } from './elf.js';
import { objdump } from './objdump.js';
import { loadObjectSpec, ObjectError, type ObjectSpec } from './object.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, root)));
const load = (path: string) => loadObjectSpec(read(path));
const examples = readdirSync(new URL('examples/', root))
  .filter((f) => f.endsWith('.bpf.o'))
  .sort();
const hasObjdump = !spawnSync('llvm-objdump-19', ['--version']).error;

function mapIndex(spec: ObjectSpec, name: string): number {
  const index = spec.maps.findIndex((m) => m.name === name);
  assert.ok(index >= 0, `map ${name}`);
  return index;
}

describe('object loader', () => {
  test('minimal.bpf.o: program, maps, globals, map references and the linked subprogram', () => {
    const spec = load('testdata/object/minimal.bpf.o');
    assert.equal(spec.license, 'Dual MIT/GPL');
    assert.deepEqual(
      spec.programs.map((p) => [p.name, p.section, p.sectionInfo?.def.progType]),
      [['count_packets', 'xdp', 'XDP']],
    );
    const packets = spec.maps[mapIndex(spec, 'packets')];
    assert.deepEqual(
      [packets.type, packets.keySize, packets.valueSize, packets.maxEntries, packets.origin],
      ['HASH', 4, 8, 64, 'btf'],
    );
    const rodata = spec.maps[mapIndex(spec, '.rodata')];
    assert.equal(rodata.freeze, true);
    assert.equal(new TextDecoder().decode(rodata.initialValue!.subarray(4, 24)), 'ifindex %u seen %llu');
    assert.equal(spec.maps[mapIndex(spec, '.bss')].initialValue, undefined);

    const program = spec.programs[0];
    assert.deepEqual(program.subprograms, ['bump']);
    // The call to bump lands on the first appended instruction.
    const call = program.insns.find((i) => i.kind === 'call' && i.form.target === 'local')!;
    assert.equal(call.slot + 1 + call.imm, program.ownSlots);
    // `fmt` is .rodata + 4; `packets` is a map index; `total_packets` .bss + 0.
    const fmt = program.insns.find(
      (i) =>
        i.kind === 'lddw' &&
        i.src === PseudoSrc.MAP_IDX_VALUE &&
        i.imm === mapIndex(spec, '.rodata') &&
        i.imm2 === 4,
    );
    assert.ok(fmt, 'lddw of .rodata + 4');
    const mapLoads = program.insns.filter((i) => i.kind === 'lddw' && i.src === PseudoSrc.MAP_IDX);
    assert.equal(mapLoads.length, 2);
    for (const insn of mapLoads) assert.equal(insn.imm, mapIndex(spec, 'packets'));
    assert.equal(program.mapReferences.length, 6);
    // Line info follows the instructions into the appended subprogram.
    assert.ok(program.lines[0]?.file.endsWith('minimal.bpf.c'));
    assert.ok(program.lines.some((line) => /total_packets \+= 1/.test(line?.text ?? '')));
    assert.ok(
      program.lines.at(-1)?.text.includes('}') ||
        program.lines.some((line) => /bpf_map_update_elem/.test(line?.text ?? '')),
    );
    assert.ok(program.lines.at(-1)?.file.endsWith('minimal.bpf.c'));
    assert.deepEqual(
      program.funcInfo.map((f) => f.slot),
      [0, program.ownSlots],
    );
  });

  test('a big-endian object reads to the same programs and maps', () => {
    const le = load('testdata/object/minimal.bpf.o');
    const be = load('testdata/object/minimal.bpfeb.o');
    assert.equal(be.bigEndian, true);
    assert.deepEqual(
      be.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]),
      le.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]),
    );
    assert.deepEqual(
      be.programs.map((p) => [p.name, p.subprograms]),
      le.programs.map((p) => [p.name, p.subprograms]),
    );
  });

  test('subprograms are appended once per program, transitively', () => {
    const spec = load('examples/subprog.bpf.o');
    const byName = new Map(spec.programs.map((p) => [p.name, p]));
    assert.deepEqual(byName.get('xdp_pass_counted')?.subprograms, ['parse_l3', 'count_protocol']);
    assert.deepEqual(byName.get('xdp_drop_non_ip')?.subprograms, [
      'parse_l3',
      'count_protocol',
      'packet_len',
    ]);
    for (const program of spec.programs) {
      const starts = new Set(program.funcInfo.map((f) => f.slot));
      for (const insn of program.insns) {
        if (insn.kind === 'call' && insn.form.target === 'local') {
          assert.ok(
            starts.has(insn.slot + 1 + insn.imm),
            `${program.name}: call at ${insn.slot} lands on a function start`,
          );
        }
      }
    }
  });

  test('prog array `values` initialisation is read from the .maps relocations', () => {
    const spec = load('examples/tail_call.bpf.o');
    const handlers = spec.maps[mapIndex(spec, 'handlers')];
    assert.equal(handlers.type, 'PROG_ARRAY');
    assert.deepEqual(
      handlers.initialSlots?.map((s) => [s.index, s.name]),
      [
        [1, 'handle_icmp'],
        [6, 'handle_tcp'],
        [17, 'handle_udp'],
        [256, 'audit'],
      ],
    );
  });

  test('externs: .kconfig values become a map, kfuncs and ksyms are left for the backend', () => {
    const multi = load('testdata/object/multi.bpf.o');
    assert.deepEqual(
      multi.externs.map((e) => [e.name, e.kind]),
      [['CONFIG_HZ', 'kconfig']],
    );
    const kconfig = mapIndex(multi, '.kconfig');
    const uses = multi.programs.flatMap((p) =>
      p.insns.filter((i) => i.kind === 'lddw' && i.imm === kconfig && i.src === PseudoSrc.MAP_IDX_VALUE),
    );
    assert.ok(uses.length > 0);
    const kinds = load('testdata/btf/kinds.o');
    const kfunc = kinds.programs[0].externReferences.find((r) => r.kind === 'kfunc');
    assert.equal(kfunc?.name, 'bpf_fake_kfunc');
    const insn = kinds.programs[0].insns[kfunc!.insn];
    assert.equal(insn.kind === 'call' && insn.form.target, 'kfunc');
  });

  test('data sections get their size and variable offsets from the ELF (BTF fixup)', () => {
    const spec = load('examples/globals.bpf.o');
    const rodata = spec.maps[mapIndex(spec, '.rodata')];
    assert.deepEqual(
      rodata.variables?.map((v) => [v.name, v.offset, v.size]),
      [
        ['sample_every', 0, 4],
        ['enforce', 4, 4],
        ['program_name', 8, 14],
      ],
    );
    const datasec = spec.btf?.typeById(rodata.btfValueTypeId!);
    assert.equal(datasec?.kind === 'datasec' && datasec.size, 22);
  });

  test('every example loads: programs have known sections, every map reference is in range', () => {
    for (const file of examples) {
      const spec = load(`examples/${file}`);
      assert.ok(spec.programs.length > 0, file);
      for (const program of spec.programs) {
        assert.ok(program.sectionInfo, `${file}: ${program.name}: ${program.sectionError}`);
        assert.equal(program.license, 'GPL');
        for (const ref of program.mapReferences) assert.ok(ref.map < spec.maps.length);
        assert.ok(
          program.lines.every((line) => line !== undefined),
          `${file}: every instruction has a source line`,
        );
      }
    }
  });

  test('unknown program sections are reported, not guessed', () => {
    // Rename the `xdp` section of minimal.bpf.o to `xdq` in the section name string table.
    const bytes = read('testdata/object/minimal.bpf.o');
    const elf = parseElf(bytes);
    const names = elf.sections[elf.sectionByName('.strtab')!.index];
    // `xdp` shares its bytes with `.relxdp`: renaming one renames both, which keeps them paired.
    const at = new TextDecoder('latin1').decode(names.data).indexOf('.relxdp\0');
    assert.ok(at > 0);
    bytes[names.offset + at + 6] = 'q'.charCodeAt(0);
    const spec = loadObjectSpec(bytes);
    assert.equal(spec.programs[0].section, 'xdq');
    assert.equal(spec.programs[0].sectionInfo, undefined);
    assert.match(spec.programs[0].sectionError!, /unknown program section 'xdq'/);
  });

  test('bad input is an ObjectError naming where', () => {
    assert.throws(() => loadObjectSpec(new Uint8Array(10)), ObjectError);
    const bytes = read('testdata/object/minimal.bpf.o');
    assert.throws(
      () => loadObjectSpec(bytes.subarray(0, 200)),
      (e: unknown) => e instanceof ObjectError && /ELF/.test(e.message),
    );
  });

  test('a map whose value type lost its size is an ObjectError (found by the property below)', () => {
    const bytes = read('examples/subprog.bpf.o').slice();
    // BTF of subprog.bpf.o: the map's value member now points at type 0 (void)
    bytes[768] = 0;
    bytes[1240] = 0;
    assert.throws(
      () => loadObjectSpec(bytes),
      (error: unknown) => {
        assert.ok(error instanceof ObjectError);
        assert.match(error.message, /map 'proto_packets': value type: .*void has no size/);
        return true;
      },
    );
  });

  test('property: mutated objects load or throw ObjectError', () => {
    const base = read('examples/subprog.bpf.o');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (flips) => {
          const bytes = base.slice();
          for (const [at, value] of flips) bytes[at] = value;
          try {
            loadObjectSpec(bytes);
          } catch (error) {
            if (!(error instanceof ObjectError)) throw error;
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('objdump', () => {
  test('instruction text equals llvm-objdump-19 -d for every program instruction of every object', {
    skip: hasObjdump ? false : 'llvm-objdump-19 not installed',
  }, () => {
    const files = [
      ...examples.map((f) => `examples/${f}`),
      'testdata/object/minimal.bpf.o',
      'testdata/object/multi.bpf.o',
      'testdata/btf/kinds.o',
      'testdata/btf/core.o',
    ];
    let compared = 0;
    for (const file of files) {
      const reference = new Map<string, string>();
      let section = '';
      for (const line of execFileSync('llvm-objdump-19', ['-d', new URL(file, root).pathname], {
        encoding: 'utf8',
      }).split('\n')) {
        const header = /^Disassembly of section (.*):$/.exec(line);
        if (header) section = header[1];
        const insn = /^\s+(\d+):\t[0-9a-f ]+\t(.*)$/.exec(line);
        if (insn) reference.set(`${section}:${insn[1]}`, insn[2]);
      }
      for (const program of objdump(load(file)).programs) {
        for (const insn of program.insns) {
          assert.equal(
            insn.text,
            reference.get(`${program.section}:${insn.index}`),
            `${file} ${program.section}:${insn.index}`,
          );
          compared++;
        }
      }
    }
    assert.ok(compared > 700, `compared ${compared} instructions`);
  });

  test('source lines and relocations are attached to the instructions', () => {
    const dump = objdump(load('testdata/object/minimal.bpf.o'));
    const program = dump.programs[0];
    assert.equal(program.insns[0].index, 0);
    assert.match(program.insns[0].line?.text ?? '', /bump\(key\)/);
    const call = program.insns.find((i: { text: string }) => i.text === 'call -0x1');
    assert.equal(call?.relocation, 'R_BPF_64_32 .text');
    assert.deepEqual(
      dump.maps.map((m) => [m.name, m.keyType, m.valueType]),
      [
        ['packets', '__u32', '__u64'],
        ['.data', null, '.data'],
        ['.rodata', null, '.rodata'],
        ['.bss', null, '.bss'],
      ],
    );
  });
});

/** Silence the unused-type lint for the helper import in some Node versions. */
export type { Insn };

describe('objects that lie about offsets', () => {
  const hello = () => new Uint8Array(readFileSync(new URL('examples/hello.bpf.o', root)));

  test('a function address that is not an instruction boundary is an ObjectError naming section, symbol and offset', () => {
    // examples/hello.bpf.o with byte 0x60c set to 0x01: the clone program's lddw of .rodata+14
    // now points into the execve code section, at byte 14.
    const bytes = new Uint8Array(readFileSync(new URL('testdata/sandbox/hello-0x60c.bpf.o', root)));
    assert.equal(bytes[0x60c], 0x01);
    assert.throws(
      () => loadObjectSpec(bytes),
      (error) =>
        error instanceof ObjectError &&
        error.section === 'tracepoint/syscalls/sys_enter_clone' &&
        error.symbol === 'tracepoint/syscalls/sys_enter_execve' &&
        error.offset === 14 &&
        /not an instruction boundary/.test(error.message),
    );
  });

  test('a relocation at an unaligned offset is an ObjectError, not dropped', () => {
    const bytes = hello();
    // r_offset of the execve section's one relocation (.rel at 0x5f0): 0 → 4.
    assert.equal(bytes[0x5f0], 0);
    bytes[0x5f0] = 4;
    assert.throws(
      () => loadObjectSpec(bytes),
      (error) =>
        error instanceof ObjectError &&
        error.section === 'tracepoint/syscalls/sys_enter_execve' &&
        error.symbol === '.rodata' &&
        error.offset === 4,
    );
    // Past the end of the section: the ELF reader refuses it first.
    bytes[0x5f0] = 0x30;
    assert.throws(() => loadObjectSpec(bytes), ObjectError);
  });
});
