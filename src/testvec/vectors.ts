/**
 * Test vectors: unit tests for eBPF programs that run without root — one JSON case per line,
 * run on the VM or (the same file) through the kernel's BPF_PROG_TEST_RUN, so a VM result can be
 * checked against Linux. Parsing and comparing live here (browser-safe); loading a case is a
 * backend's job ({@link VectorBackend}).
 *
 * ```json
 * {"name": "tcp passes", "program": "xdp_count.bpf.o:xdp_count_protocols", "data": "…hex…",
 *  "expect": {"retval": 2, "maps": [[0, "06000000", "0100000000000000…"]]}}
 * {"name": "raw", "insns_hex": "b700000002000000 9500000000000000", "type": "xdp", "data": "00…",
 *  "maps": [{"type": "hash", "key_size": 4, "value_size": 8, "max_entries": 16, "entries": [["01000000", "0200000000000000"]]}],
 *  "expect": {"retval": 2}}
 * ```
 */
import { TsbpfError } from '../errors.js';
import type { BpfMap } from '../maps/map.js';
import { isPerCpu, type MapOps, type MapSpec, perCpuSlotSize } from '../maps/ops.js';
import type { TestRunOptions, TestRunResult } from '../program.js';
import { MapType, type MapTypeName, ProgType, type ProgTypeName } from '../uapi.js';

/** A map a raw-program case creates: `maps[i]` is what an lddw with pseudo src 1/5 and imm i names. */
export interface VectorMap {
  readonly spec: MapSpec;
  readonly entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
}

export interface VectorCase {
  readonly name: string;
  /** 1-based line in the vectors file. */
  readonly line: number;
  /** `path.o:program` or a raw `path.bin`: an absolute path as is, a relative one from the vectors file. */
  readonly program?: { readonly path: string; readonly name?: string };
  /** Raw instructions, instead of a path. */
  readonly insns?: Uint8Array;
  /** Program type of raw programs. */
  readonly type?: ProgTypeName;
  readonly run: TestRunOptions;
  readonly maps: readonly VectorMap[];
  readonly expect: {
    readonly retval?: number;
    readonly dataOut?: Uint8Array;
    readonly maps?: ReadonlyArray<readonly [number, Uint8Array, Uint8Array]>;
  };
}

export interface VectorOutcome {
  readonly name: string;
  readonly pass: boolean;
  readonly retval: number | null;
  readonly dataOut: Uint8Array | null;
  /** What differed, or the error. */
  readonly error: string | null;
}

/** A loaded case: runs and exposes its maps (by the index the expectations use). */
export interface LoadedCase {
  testRun(options: TestRunOptions): TestRunResult;
  readonly maps: readonly BpfMap[];
  close(): void;
}

/** Loads cases on one backend (the VM, or the kernel). */
export interface VectorBackend {
  readonly name: string;
  loadObjectProgram(object: Uint8Array, program: string | undefined): LoadedCase;
  loadRawProgram(insns: Uint8Array, type: ProgTypeName, maps: readonly VectorMap[]): LoadedCase;
}

/** A vectors file that does not parse, with the line. */
export class VectorError extends TsbpfError {
  override name = 'VectorError';
  readonly line: number;
  constructor(line: number, reason: string) {
    super(`vectors: line ${line}: ${reason}`);
    this.line = line;
  }
}

/** Program type names as vectors write them (`xdp`, `socket_filter`, `sched_cls`, `tc`). */
const typeAliases: Readonly<Record<string, ProgTypeName>> = { tc: 'SCHED_CLS', socket: 'SOCKET_FILTER' };

function hex(text: unknown, line: number, what: string): Uint8Array {
  if (typeof text !== 'string') throw new VectorError(line, `${what} must be a hex string`);
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean))
    throw new VectorError(line, `${what} is not hex bytes`);
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function integer(value: unknown, line: number, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new VectorError(line, `${what} must be a non-negative integer`);
  }
  return value;
}

function typeName(value: unknown, line: number): ProgTypeName {
  if (typeof value !== 'string') throw new VectorError(line, '"type" must be a program type name');
  // Own properties only: `constructor` or `toString` are not aliases.
  const upper = (
    Object.hasOwn(typeAliases, value) ? typeAliases[value] : value
  ).toUpperCase() as ProgTypeName;
  if (!(upper in ProgType)) throw new VectorError(line, `unknown program type '${value}'`);
  return upper;
}

function mapTypeName(value: unknown, line: number, what: string): MapTypeName {
  if (typeof value !== 'string') throw new VectorError(line, `${what} must be a map type name`);
  const upper = value.toUpperCase() as MapTypeName;
  if (!(upper in MapType)) throw new VectorError(line, `unknown map type '${String(value)}'`);
  return upper;
}

/** A JSON object (not null, not an array), or a {@link VectorError} naming the field. */
function object(value: unknown, line: number, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new VectorError(line, `${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** A JSON array (of `length` items when given), or a {@link VectorError} naming the field. */
function array(value: unknown, line: number, what: string, length?: number): unknown[] {
  if (!Array.isArray(value)) throw new VectorError(line, `${what} must be an array`);
  if (length !== undefined && value.length !== length)
    throw new VectorError(line, `${what} must have ${length} items`);
  return value;
}

/** Parse a vectors file (JSON Lines; blank lines and `#` comment lines are skipped). */
export function parseVectors(text: string): VectorCase[] {
  const cases: VectorCase[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const lineNumber = index + 1;
    const source = raw.trim();
    if (source === '' || source.startsWith('#') || source.startsWith('//')) continue;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(source) as Record<string, unknown>;
    } catch (error) {
      throw new VectorError(lineNumber, `not JSON: ${(error as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new VectorError(lineNumber, 'a case must be a JSON object');
    const name = typeof json.name === 'string' ? json.name : `line ${lineNumber}`;
    let program: VectorCase['program'];
    let insns: Uint8Array | undefined;
    if (typeof json.program === 'string') {
      const colon = json.program.lastIndexOf(':');
      program =
        colon > 0
          ? { path: json.program.slice(0, colon), name: json.program.slice(colon + 1) }
          : { path: json.program };
    } else if (json.insns_hex !== undefined) {
      insns = hex(json.insns_hex, lineNumber, '"insns_hex"');
      if (insns.length % 8 !== 0)
        throw new VectorError(lineNumber, '"insns_hex" is not a whole number of 8-byte instructions');
    } else {
      throw new VectorError(lineNumber, 'a case needs "program" or "insns_hex"');
    }
    const rawProgram = insns !== undefined || program?.path.endsWith('.bin');
    const type = json.type !== undefined ? typeName(json.type, lineNumber) : undefined;
    if (rawProgram && !type)
      throw new VectorError(lineNumber, 'a raw program needs "type" (xdp, socket_filter, sched_cls…)');
    const maps =
      json.maps === undefined
        ? []
        : array(json.maps, lineNumber, '"maps"').map((entry, i): VectorMap => {
            const what = `maps[${i}]`;
            const m = object(entry, lineNumber, what);
            return {
              spec: {
                name: typeof m.name === 'string' ? m.name : `map${i}`,
                type: mapTypeName(m.type, lineNumber, `${what}.type`),
                keySize: integer(m.key_size, lineNumber, `${what}.key_size`),
                valueSize: integer(m.value_size, lineNumber, `${what}.value_size`),
                maxEntries: integer(m.max_entries, lineNumber, `${what}.max_entries`),
                flags: m.flags === undefined ? 0 : integer(m.flags, lineNumber, `${what}.flags`),
              },
              entries:
                m.entries === undefined
                  ? []
                  : array(m.entries, lineNumber, `${what}.entries`).map((item, j) => {
                      const e = array(item, lineNumber, `${what}.entries[${j}]`, 2);
                      return [
                        hex(e[0], lineNumber, `${what}.entries[${j}][0]`),
                        hex(e[1], lineNumber, `${what}.entries[${j}][1]`),
                      ] as const;
                    }),
            };
          });
    const expect = json.expect === undefined ? {} : object(json.expect, lineNumber, '"expect"');
    cases.push({
      name,
      line: lineNumber,
      ...(program ? { program } : {}),
      ...(insns ? { insns } : {}),
      ...(type ? { type } : {}),
      run: {
        ...(json.data !== undefined ? { data: hex(json.data, lineNumber, '"data"') } : {}),
        ...(json.ctx !== undefined ? { ctx: hex(json.ctx, lineNumber, '"ctx"') } : {}),
        ...(json.repeat !== undefined ? { repeat: integer(json.repeat, lineNumber, '"repeat"') } : {}),
        ...(json.cpu !== undefined ? { cpu: integer(json.cpu, lineNumber, '"cpu"') } : {}),
      },
      maps,
      expect: {
        ...(expect.retval !== undefined
          ? { retval: integer(expect.retval, lineNumber, 'expect.retval') }
          : {}),
        ...(expect.data_out !== undefined
          ? { dataOut: hex(expect.data_out, lineNumber, 'expect.data_out') }
          : {}),
        ...(expect.maps !== undefined
          ? {
              maps: array(expect.maps, lineNumber, 'expect.maps').map((item, i) => {
                const m = array(item, lineNumber, `expect.maps[${i}]`, 3);
                return [
                  integer(m[0], lineNumber, `expect.maps[${i}][0]`),
                  hex(m[1], lineNumber, `expect.maps[${i}][1]`),
                  hex(m[2], lineNumber, `expect.maps[${i}][2]`),
                ] as const;
              }),
            }
          : {}),
      },
    });
  }
  return cases;
}

/**
 * Raw vector programs name `maps[i]` with lddw pseudo source 1 (map fd) or 2 (map value) and
 * imm i; both backends take map *indexes*, so rewrite them to sources 5 and 6 (MAP_IDX,
 * MAP_IDX_VALUE) with the same immediates.
 */
export function mapIndexReferences(insns: Uint8Array): Uint8Array {
  const out = insns.slice();
  for (let at = 0; at + 8 <= out.length; at += 8) {
    if (out[at] !== 0x18) continue;
    const src = out[at + 1] >> 4;
    if (src === 1 || src === 2) out[at + 1] = (out[at + 1] & 0x0f) | ((src + 4) << 4);
    at += 8;
  }
  return out;
}

/**
 * A vector's value for a map, in the layout `bpf()` takes. A per-CPU map's value is written either
 * as one `value_size`-byte value, meaning that value on every CPU (so a vectors file does not
 * depend on the CPU count), or as `ncpus × round_up(value_size, 8)` bytes, one slot per CPU.
 *
 * @throws {TsbpfError} for a per-CPU value of any other length.
 */
export function perCpuValue(ops: MapOps, value: Uint8Array): Uint8Array {
  if (!isPerCpu(ops.spec.type) || value.length !== ops.spec.valueSize) return value;
  const slot = perCpuSlotSize(ops.spec.valueSize);
  const all = new Uint8Array(slot * ops.possibleCpus);
  for (let cpu = 0; cpu < ops.possibleCpus; cpu++) all.set(value, cpu * slot);
  return all;
}

/** Put a vector map's entries into a map just created (per-CPU values as {@link perCpuValue} says). */
export function seedMap(ops: MapOps, entries: VectorMap['entries']): void {
  const slot = perCpuSlotSize(ops.spec.valueSize);
  for (const [key, value] of entries) {
    if (
      isPerCpu(ops.spec.type) &&
      value.length !== ops.spec.valueSize &&
      value.length !== slot * ops.possibleCpus
    ) {
      throw new TsbpfError(
        `vectors: map '${ops.spec.name}': a per-CPU value is ${ops.spec.valueSize} bytes (every CPU) or ${ops.possibleCpus} × ${slot} (each CPU), not ${value.length}`,
      );
    }
    ops.update(key, perCpuValue(ops, value), 0);
  }
}

/** Whether a map value is what a vector expects (a `value_size` expectation on a per-CPU map: on every CPU). */
function valueMatches(ops: MapOps, actual: Uint8Array, expected: Uint8Array): boolean {
  if (!isPerCpu(ops.spec.type) || expected.length !== ops.spec.valueSize) return equal(actual, expected);
  const slot = perCpuSlotSize(ops.spec.valueSize);
  for (let cpu = 0; cpu < ops.possibleCpus; cpu++) {
    if (!equal(actual.subarray(cpu * slot, cpu * slot + expected.length), expected)) return false;
  }
  return actual.length === slot * ops.possibleCpus;
}

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Run one case on a backend and compare with its expectations. Never throws for a case's own failure. */
export function runVector(
  backend: VectorBackend,
  vector: VectorCase,
  readFile: (path: string) => Uint8Array,
): VectorOutcome {
  let loaded: LoadedCase | undefined;
  try {
    const program = vector.program;
    loaded = vector.insns
      ? backend.loadRawProgram(vector.insns, vector.type!, vector.maps)
      : program!.path.endsWith('.bin')
        ? backend.loadRawProgram(readFile(program!.path), vector.type!, vector.maps)
        : backend.loadObjectProgram(readFile(program!.path), program!.name);
    const result = loaded.testRun(vector.run);
    const problems: string[] = [];
    if (vector.expect.retval !== undefined && result.retval !== vector.expect.retval) {
      problems.push(`retval ${result.retval}, expected ${vector.expect.retval}`);
    }
    if (vector.expect.dataOut && !equal(result.dataOut, vector.expect.dataOut)) {
      problems.push(`data_out ${toHex(result.dataOut)}, expected ${toHex(vector.expect.dataOut)}`);
    }
    for (const [index, key, value] of vector.expect.maps ?? []) {
      const map = loaded.maps[index];
      if (!map) {
        problems.push(`map ${index} does not exist`);
        continue;
      }
      const actual = map.ops.lookup(key);
      if (!actual || !valueMatches(map.ops, actual, value)) {
        problems.push(
          `map ${index} key ${toHex(key)}: ${actual ? toHex(actual) : 'missing'}, expected ${toHex(value)}`,
        );
      }
    }
    return {
      name: vector.name,
      pass: problems.length === 0,
      retval: result.retval,
      dataOut: result.dataOut,
      error: problems.length ? problems.join('; ') : null,
    };
  } catch (error) {
    return { name: vector.name, pass: false, retval: null, dataOut: null, error: (error as Error).message };
  } finally {
    loaded?.close();
  }
}

export { toHex };
