/**
 * The fuzz targets: what each one feeds, where its seeds come from (objects, captures, BTF,
 * assembly and vectors committed in this repository), and the oracle it checks. A target's `run`
 * returns when the input was handled (accepted, or refused with a typed error); anything else it
 * throws is a finding. {@link OracleError} marks an oracle violation (a write outside writable
 * memory, a result that depends on unmapped bytes).
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleConformance, formatConformanceProgram } from '../src/isa/conformance-asm.js';
import { decode, encode, type Insn } from '../src/isa/instruction.js';
import { assemble, disassemble } from '../src/isa/llvm.js';
import { JIT_REGISTER_FILE_END } from '../src/jit/runtime.js';
import { parseBtf } from '../src/object/btf.js';
import { dumpBtfC } from '../src/object/btf-c.js';
import { parseBtfExt } from '../src/object/btf-ext.js';
import { parseElf } from '../src/object/elf.js';
import { loadObjectSpec } from '../src/object/object.js';
import { readCapture } from '../src/pcap/pcap.js';
import { parseVectors } from '../src/testvec/vectors.js';
import { ManualClock } from '../src/vm/helpers/time.js';
import type { VmMap } from '../src/vm/maps/base.js';
import type { Region } from '../src/vm/memory.js';
import { Vm } from '../src/vm/vm.js';
import { mutateBytes, mutateText, type Rng } from './mutate.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** An oracle saw something a correct VM never does. Counted as a finding, never as a typed error. */
export class OracleError extends Error {
  override name = 'OracleError';
}

export interface Target {
  readonly name: string;
  /** What the input is, for regression file names. */
  readonly ext: 'bin' | 'txt';
  readonly about: string;
  /** Seeds (computed once per process). */
  seeds(): readonly Uint8Array[];
  /** Input from a seed and the input's own random stream. */
  generate(seeds: readonly Uint8Array[], rng: Rng): Uint8Array;
  /** Feed one input; throw what the code under test throws. */
  run(input: Uint8Array): void;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function files(dir: string, suffix: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at)) {
      if (entry === 'node_modules' || entry.startsWith('.') || entry === 'fuzz') continue;
      const path = join(at, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(suffix)) out.push(path);
    }
  };
  walk(join(ROOT, dir));
  return out.sort();
}

const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
};

/** Every committed ELF object. */
const objects = once(() =>
  [...files('examples', '.o'), ...files('testdata', '.o')].map((f) => new Uint8Array(readFileSync(f))),
);

/** BTF blobs with their BTF.ext (from .btf files and from the objects' sections). */
const btfPairs = once(() => {
  const pairs: Array<{ btf: Uint8Array; ext: Uint8Array | undefined }> = [];
  for (const f of files('testdata', '.btf')) {
    const extPath = `${f}.ext`;
    let ext: Uint8Array | undefined;
    try {
      ext = new Uint8Array(readFileSync(extPath));
    } catch {
      ext = undefined;
    }
    pairs.push({ btf: new Uint8Array(readFileSync(f)), ext });
  }
  for (const bytes of objects()) {
    let elf: ReturnType<typeof parseElf>;
    try {
      elf = parseElf(bytes);
    } catch {
      continue;
    }
    const btf = elf.sectionByName('.BTF');
    if (!btf) continue;
    pairs.push({ btf: btf.data.slice(), ext: elf.sectionByName('.BTF.ext')?.data.slice() });
  }
  return pairs;
});

/** Instruction streams of every program in the committed objects. */
const programs = once(() => {
  const out: Uint8Array[] = [];
  for (const bytes of objects()) {
    let spec: ReturnType<typeof loadObjectSpec>;
    try {
      spec = loadObjectSpec(bytes);
    } catch {
      continue; // objects that are wrong on purpose (testdata of error paths)
    }
    for (const program of spec.programs) out.push(encode(program.insns));
  }
  return out;
});

/** Deterministic helpers: the read oracle runs a program twice and needs the same answers. */
function makeVm(budget: number): { vm: Vm; maps: VmMap[] } {
  const vm = new Vm({
    budget,
    random: () => 0x12345678,
    now: () => 1_000_000n,
    clock: new ManualClock({ monotonicNs: 1_000_000n }),
    trace: () => {},
  });
  const maps = [
    vm.maps.create({ name: 'array', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 4 }),
    vm.maps.create({ name: 'hash', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4 }),
    vm.maps.create({ name: 'percpu', type: 'PERCPU_ARRAY', keySize: 4, valueSize: 16, maxEntries: 2 }),
    vm.maps.create({ name: 'ringbuf', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: 4096 }),
  ];
  for (let i = 0; i < 3; i++) {
    const key = new Uint8Array([i, 0, 0, 0]);
    maps[1].update(key, new Uint8Array(8).fill(i + 1), 0);
  }
  return { vm, maps };
}

/** Fill every byte no region maps (holes, and above the last region) with `canary`. */
function fillUnmapped(vm: Vm, canary: number): void {
  const { bytes, regions } = vm.memory;
  let at = 0;
  for (const region of regions) {
    if (region.start > at) bytes.fill(canary, at, region.start);
    at = Math.max(at, region.end);
  }
  bytes.fill(canary, at, bytes.length);
}

const INPUT = new Uint8Array(64).map((_, i) => (i * 7 + 3) & 0xff);
const PRELUDE_INPUT = new Uint8Array(256).fill(0x77);
const PRELUDE = decode(new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]));

/**
 * Regions a run may change: the program's writable ones, and read-only ones the VM itself
 * writes (an array map's key scratch, which `bpf_for_each_map_elem` fills for each element).
 */
const writableByAnyone = (region: Region) => region.writable || region.scratch === true;

interface Outcome {
  readonly r0: bigint | undefined;
  readonly error: string | undefined;
  readonly mem: string;
}

/**
 * One run under the memory oracle: every byte outside writable regions (before or after the run)
 * is the same after the run as before it.
 */
function runChecked(insns: readonly Insn[], canary: number, budget: number): Outcome {
  const { vm, maps } = makeVm(budget);
  let compiled: ReturnType<Vm['load']>;
  try {
    compiled = vm.load(insns, { fdArray: maps });
  } catch (error) {
    return { r0: undefined, error: describe(error), mem: '' };
  }
  // A first run maps the stack and a larger input region; the checked run's smaller input
  // replaces it, so freed memory (the rest of the old region) lies next to live memory.
  vm.run(vm.load(PRELUDE), { mem: PRELUDE_INPUT, readMem: false });
  fillUnmapped(vm, canary);
  const before = vm.memory.bytes.slice();
  const writableBefore = vm.memory.regions.filter(writableByAnyone);
  let r0: bigint | undefined;
  let error: string | undefined;
  let mem: Uint8Array | undefined;
  try {
    const result = vm.run(compiled, { mem: INPUT });
    r0 = result.r0;
    mem = result.mem;
  } catch (caught) {
    error = describe(caught);
  }
  const after = vm.memory.bytes;
  const writable = [...writableBefore, ...vm.memory.regions.filter(writableByAnyone)].sort(
    (a, b) => a.start - b.start,
  );
  // The JIT's register file lives in the NULL page (src/jit/runtime.ts): engine state, not a store.
  let at = JIT_REGISTER_FILE_END;
  const check = (end: number) => {
    for (let i = at; i < end; i++)
      if (before[i] !== after[i]) {
        const region = vm.memory.find(i, 1);
        throw new OracleError(
          `memory oracle: byte 0x${i.toString(16)} (${region ? `read-only region '${region.name}'` : 'unmapped'}) changed from 0x${before[i].toString(16)} to 0x${after[i].toString(16)}`,
        );
      }
  };
  for (const region of writable) {
    if (region.start > at) check(Math.min(region.start, before.length));
    at = Math.max(at, region.end);
  }
  check(before.length);
  return { r0, error, mem: mem ? Buffer.from(mem).toString('hex') : '' };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    // Only typed errors are results; anything else propagates as a finding.
    if (error.name === 'OracleError' || !isTyped(error)) throw error;
    return `${error.name}: ${error.message}`;
  }
  throw error;
}

let typedCheck: (error: unknown) => boolean = () => true;
/** Set by the harness: what counts as a typed error. */
export function setTypedCheck(check: (error: unknown) => boolean): void {
  typedCheck = check;
}
const isTyped = (error: unknown) => typedCheck(error);

/**
 * Decode, disassemble, then run twice under the memory oracle with different canary bytes in
 * unmapped memory: the results must be identical (the read oracle).
 */
function runProgram(bytes: Uint8Array, budget: number): void {
  const insns = decode(bytes);
  disassemble(insns);
  const a = runChecked(insns, 0xa5, budget);
  const b = runChecked(insns, 0x5a, budget);
  if (a.r0 !== b.r0 || a.error !== b.error || a.mem !== b.mem)
    throw new OracleError(
      `read oracle: results differ with different bytes in unmapped memory: ${a.r0 ?? a.error} / ${b.r0 ?? b.error}`,
    );
  if (a.error) throw new TypedOutcome(a.error);
}

/** A run that ended in a typed error (already checked by both oracles): counts as typed. */
export class TypedOutcome extends Error {
  override name = 'TypedOutcome';
}

/** Instruction-level mutations: opcodes, registers, offsets and immediates of whole slots. */
function mutateInsns(seed: Uint8Array, rng: Rng, others: readonly Uint8Array[]): Uint8Array {
  if (seed.length < 8 || rng.chance(0.4)) return mutateBytes(seed, rng, others);
  const out = seed.slice();
  const view = new DataView(out.buffer);
  const steps = 1 + rng.below(3);
  for (let s = 0; s < steps; s++) {
    const slot = rng.below(out.length / 8) * 8;
    switch (rng.below(5)) {
      case 0:
        out[slot] = rng.below(256);
        break;
      case 1:
        out[slot + 1] = rng.below(256);
        break;
      case 2:
        view.setInt16(slot + 2, rng.pick([0, 1, -1, 2, -2, 8, -8, 512, -512, 0x7fff, -0x8000]), true);
        break;
      case 3:
        view.setInt32(
          slot + 4,
          rng.pick([0, 1, -1, 8, 64, 0x1000, 0x7fffffff, -0x80000000, rng.next() | 0]),
          true,
        );
        break;
      default: {
        // Swap two slots.
        const other = rng.below(out.length / 8) * 8;
        const tmp = out.slice(slot, slot + 8);
        out.copyWithin(slot, other, other + 8);
        out.set(tmp, other);
      }
    }
  }
  return out.length % 8 === 0 && rng.chance(0.95) ? out : mutateBytes(out, rng);
}

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

/**
 * Programs that call back: `bpf_loop` with counts from 0 to 2²³ and a spinning callback
 * (issue 14's 11 instructions), and `bpf_for_each_map_elem` over the hash map.
 */
const CALLBACK_SEEDS = [
  // bpf_loop(0x801a?, cb, 0, 0) — cb spins: the issue's program.
  'b701000000008000b702000006000000b703000000000000b70400000000000085000000b50000009500000000000000b7000000000000000700000001000000a500feff801a0600b7000000000000009500000000000000',
  // bpf_loop(8, cb, 0, 0); cb returns 0 after a few instructions.
  'b701000008000000b702000006000000b703000000000000b70400000000000085000000b50000009500000000000000b7000000000000000700000001000000a500feff10000000b7000000000000009500000000000000',
  // bpf_for_each_map_elem(map idx 1, cb, 0, 0); cb: r0 = 0; exit.
  '18510000010000000000000000000000b702000007000000b703000000000000b70400000000000085000000a40000009500000000000000b7000000000000009500000000000000',
];

const textSeeds = (paths: string[], extra: string[] = []) => [
  ...paths.map((p) => readFileSync(p)),
  ...extra.map((t) => utf8.encode(t)),
];

export const TARGETS: readonly Target[] = [
  {
    name: 'object',
    ext: 'bin',
    about: 'ELF objects through loadObjectSpec',
    seeds: objects,
    generate: (seeds, rng) => mutateBytes(rng.pick(seeds), rng, seeds),
    run: (input) => {
      loadObjectSpec(input);
    },
  },
  {
    name: 'vm-object',
    ext: 'bin',
    about: 'ELF objects loaded into the VM, every program test-run with a small budget',
    seeds: objects,
    generate: (seeds, rng) => mutateBytes(rng.pick(seeds), rng, seeds),
    run: (input) => {
      // Unverified: mutated programs are for the VM to survive (the verifier has its own fuzz test).
      const vm = new Vm({
        budget: 2000,
        random: () => 7,
        clock: new ManualClock(),
        trace: () => {},
        verify: false,
      });
      const object = vm.loadObject(input);
      let typed: unknown;
      for (const program of object.programs.values()) {
        try {
          vm.testRun(program, { data: INPUT });
        } catch (error) {
          if (!isTyped(error)) throw error;
          typed = error;
        }
      }
      if (typed) throw typed;
    },
  },
  {
    name: 'btf',
    ext: 'bin',
    about: 'BTF blobs through parseBtf, and BTF.ext blobs through parseBtfExt',
    seeds: once(() =>
      btfPairs().flatMap(({ btf, ext }) => {
        // An input is [u32 length of BTF][BTF][BTF.ext]: both halves mutate.
        const out = new Uint8Array(4 + btf.length + (ext?.length ?? 0));
        new DataView(out.buffer).setUint32(0, btf.length, true);
        out.set(btf, 4);
        if (ext) out.set(ext, 4 + btf.length);
        return [out];
      }),
    ),
    generate: (seeds, rng) => {
      const seed = rng.pick(seeds);
      const split = new DataView(seed.buffer, seed.byteOffset).getUint32(0, true);
      const btf = seed.subarray(4, 4 + split);
      const ext = seed.subarray(4 + split);
      // Mutate one half at a time, so the other still parses.
      const mutateExt = ext.length > 0 && rng.chance(0.4);
      const newBtf = mutateExt ? btf : mutateBytes(btf, rng);
      const newExt = mutateExt ? mutateBytes(ext, rng) : ext;
      const out = new Uint8Array(4 + newBtf.length + newExt.length);
      new DataView(out.buffer).setUint32(0, newBtf.length, true);
      out.set(newBtf, 4);
      out.set(newExt, 4 + newBtf.length);
      return out;
    },
    run: (input) => {
      if (input.length < 4) return;
      const split = Math.min(
        new DataView(input.buffer, input.byteOffset).getUint32(0, true),
        input.length - 4,
      );
      const btf = parseBtf(input.subarray(4, 4 + split));
      for (const type of btf.types) {
        try {
          btf.sizeof(type.id);
        } catch (error) {
          if (!isTyped(error)) throw error;
        }
      }
      if (input.length > 4 + split) parseBtfExt(input.subarray(4 + split), btf);
    },
  },
  {
    name: 'btf-c',
    ext: 'bin',
    about: 'BTF blobs that parse, dumped as C (dumpBtfC)',
    seeds: once(() => btfPairs().map((p) => p.btf)),
    generate: (seeds, rng) => mutateBytes(rng.pick(seeds), rng, seeds),
    run: (input) => {
      // The bound on output is what is under test; a smaller one keeps each input well inside
      // the hang limit (the C writer makes 6–15 MB a second).
      dumpBtfC(parseBtf(input), { maxOutputBytes: 4 << 20 });
    },
  },
  {
    name: 'insns',
    ext: 'bin',
    about: 'instruction streams: decode, disassemble, VM run with the memory and read oracles',
    seeds: once(() => [...programs(), hex(CALLBACK_SEEDS[1])]),
    generate: (seeds, rng) => mutateInsns(rng.pick(seeds), rng, seeds),
    run: (input) => runProgram(input, 2000),
  },
  {
    name: 'callbacks',
    ext: 'bin',
    about: 'bpf_loop and bpf_for_each_map_elem programs with a budget of 1,000',
    seeds: once(() => CALLBACK_SEEDS.map(hex)),
    generate: (seeds, rng) => mutateInsns(rng.pick(seeds), rng, seeds),
    run: (input) => runProgram(input, 1000),
  },
  {
    name: 'asm',
    ext: 'txt',
    about: 'LLVM-syntax assembly through assemble()',
    seeds: once(() =>
      textSeeds(
        files('testdata/asm', '.s'),
        programs().map((p) => disassemble(decode(p)).join('\n')),
      ),
    ),
    generate: (seeds, rng) =>
      utf8.encode(
        mutateText(
          fromUtf8.decode(rng.pick(seeds)),
          rng,
          seeds.slice(0, 4).map((s) => fromUtf8.decode(s)),
        ),
      ),
    run: (input) => {
      assemble(fromUtf8.decode(input));
    },
  },
  {
    name: 'asm-conformance',
    ext: 'txt',
    about: 'bpf_conformance-syntax assembly through assembleConformance()',
    seeds: once(() =>
      textSeeds(
        [],
        programs().map((p) => {
          try {
            return formatConformanceProgram(decode(p));
          } catch {
            return 'mov %r0, 0\nexit';
          }
        }),
      ),
    ),
    generate: (seeds, rng) =>
      utf8.encode(
        mutateText(
          fromUtf8.decode(rng.pick(seeds)),
          rng,
          seeds.slice(0, 4).map((s) => fromUtf8.decode(s)),
        ),
      ),
    run: (input) => {
      assembleConformance(fromUtf8.decode(input));
    },
  },
  {
    name: 'pcap',
    ext: 'bin',
    about: 'pcap and pcapng captures through readCapture',
    seeds: once(() =>
      files('testdata/pcap', '')
        .filter((f) => /\.pcap(ng)?$/.test(f))
        .map((f) => new Uint8Array(readFileSync(f))),
    ),
    generate: (seeds, rng) => mutateBytes(rng.pick(seeds), rng, seeds),
    run: (input) => {
      readCapture(input);
    },
  },
  {
    name: 'vectors',
    ext: 'txt',
    about: 'test vector files (JSON Lines) through parseVectors',
    seeds: once(() => textSeeds(files('testdata/vectors', '.jsonl'))),
    generate: (seeds, rng) => {
      // One case a line: mutate a line or two of a seed file.
      const lines = fromUtf8
        .decode(rng.pick(seeds))
        .split('\n')
        .filter((l) => l.startsWith('{'));
      const line = rng.pick(lines);
      return utf8.encode(mutateJson(line, rng) ?? mutateText(line, rng, lines));
    },
    run: (input) => {
      parseVectors(fromUtf8.decode(input));
    },
  },
];

/** Field names of vector cases, and shapes their values take. */
const FIELDS = [
  'name',
  'program',
  'insns_hex',
  'type',
  'data',
  'ctx',
  'repeat',
  'cpu',
  'maps',
  'expect',
  'retval',
  'data_out',
  'entries',
  'key_size',
  'value_size',
  'max_entries',
  'flags',
];
const SHAPES: unknown[] = [
  [{ type: 'hash', key_size: 4, value_size: 8, max_entries: 4, entries: [['01000000', '0200000000000000']] }],
  [[0, '01000000', '0200000000000000']],
  { retval: 2, data_out: '00', maps: [[0, '00', '00']] },
  [['00', null]],
  [[null, null, null]],
];

/** Structural JSON mutations: a field's value replaced by another JSON type, or a field added. */
function mutateJson(line: string, rng: Rng): string | undefined {
  if (rng.chance(0.3)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const replacements: unknown[] = [
    null,
    0,
    -1,
    1.5,
    'x',
    '',
    [],
    {},
    [null],
    [[null]],
    [{}],
    true,
    2 ** 60,
    'zz',
  ];
  const steps = 1 + rng.below(3);
  for (let s = 0; s < steps; s++) {
    // Walk to a random node and replace it (or a child of it).
    let node: unknown = value;
    let parent: Record<string, unknown> | unknown[] | undefined;
    let key: string | number | undefined;
    for (let depth = 0; depth < 4 && node && typeof node === 'object'; depth++) {
      const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node as object);
      if (keys.length === 0 || rng.chance(0.25)) break;
      parent = node as Record<string, unknown>;
      key = rng.pick(keys as Array<string | number>);
      node = (parent as Record<string | number, unknown>)[key];
    }
    const replacement = structuredClone(rng.pick(rng.chance(0.3) ? SHAPES : replacements));
    if (node && typeof node === 'object' && !Array.isArray(node) && rng.chance(0.3))
      // Add a field the parser knows, with a value of any shape.
      (node as Record<string, unknown>)[rng.pick(FIELDS)] = replacement;
    else if (parent === undefined || key === undefined) value = replacement;
    else (parent as Record<string | number, unknown>)[key] = replacement;
  }
  return JSON.stringify(value);
}

export const targetByName = (name: string): Target | undefined => TARGETS.find((t) => t.name === name);
