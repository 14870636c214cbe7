/**
 * Differential test: the same operations on a real kernel map (through `bpftool`) and on a VM
 * map must succeed or fail alike, with the same errno and the same values. Skips with the reason
 * when bpftool, bpffs or the bpf() syscall is not available (not root, a container, not Linux).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Errno } from '../../errno.js';
import { bpffsUnavailable } from '../../kernel/sys/availability.js';
import { MapError, MapFlags, type MapSpec, UpdateFlags } from '../../maps/ops.js';
import { VmMemory } from '../memory.js';
import type { VmMap } from './base.js';
import { VmMapRegistry } from './registry.js';

type Op =
  | readonly ['update', number[] | null, number[], 'any' | 'exist' | 'noexist']
  | readonly ['lookup', number[] | null]
  | readonly ['delete', number[]]
  | readonly ['getnext', number[] | null]
  | readonly ['pop'];

/** What an operation did: `ok`, an errno name, or the bytes it returned. */
type Outcome = string;

const strerror: Readonly<Record<string, string>> = {
  'No such file or directory': 'ENOENT',
  'File exists': 'EEXIST',
  'Argument list too long': 'E2BIG',
  'Invalid argument': 'EINVAL',
  'Operation not permitted': 'EPERM',
  'No space left on device': 'ENOSPC',
  'Unknown error 524': 'ENOTSUPP',
  'Operation not supported': 'EOPNOTSUPP',
};

const hex = (bytes: readonly number[]): string[] => [
  'hex',
  ...bytes.map((b) => b.toString(16).padStart(2, '0')),
];
const show = (bytes: ArrayLike<number>): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function bpftool(args: string[]): { stdout: string; status: number | null; error?: Error } {
  const result = spawnSync('bpftool', ['-j', ...args], { encoding: 'utf8' });
  return { stdout: result.stdout ?? '', status: result.status, error: result.error };
}

/** Why kernel tests cannot run here, or undefined when they can. */
function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  // bpffsUnavailable, not a bare existence check: bpftool would mount a bpffs there itself.
  const noBpffs = bpffsUnavailable();
  if (noBpffs) return noBpffs;
  const probe = `/sys/fs/bpf/tsbpf_probe_${process.pid}`;
  const created = bpftool([
    'map',
    'create',
    probe,
    'type',
    'array',
    'key',
    '4',
    'value',
    '4',
    'entries',
    '1',
    'name',
    'probe',
  ]);
  if (created.error) return `bpftool not runnable: ${created.error.message}`;
  if (created.status !== 0) return `bpf() refused a map: ${created.stdout.trim()}`;
  rmSync(probe, { force: true });
  return undefined;
}

function kernelOutcome(pin: string, op: Op): Outcome {
  const args: string[] = ['map', op[0] === 'pop' ? 'pop' : op[0], 'pinned', pin];
  if (op[0] === 'update') {
    if (op[1]) args.push('key', ...hex(op[1]));
    args.push('value', ...hex(op[2]), op[3]);
  } else if (op[0] !== 'pop' && op[1]) args.push('key', ...hex(op[1]));
  const { stdout, status } = bpftool(args);
  const text = stdout.trim();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (parsed && typeof parsed === 'object' && 'error' in parsed) {
    const message = String(parsed.error);
    const cause = Object.keys(strerror).find((s) => message.endsWith(s));
    return cause ? strerror[cause] : `? ${message}`;
  }
  if (parsed && typeof parsed === 'object') {
    const field = 'next_key' in parsed ? parsed.next_key : 'value' in parsed ? parsed.value : undefined;
    if (Array.isArray(field)) return show(field.map((b: string) => Number(b)));
  }
  // bpftool prints `null` for a lookup or pop that found nothing, and exits non-zero.
  return status === 0 && op[0] !== 'lookup' && op[0] !== 'pop' ? 'ok' : 'ENOENT';
}

function vmOutcome(map: VmMap, op: Op): Outcome {
  const flags = { any: UpdateFlags.ANY, exist: UpdateFlags.EXIST, noexist: UpdateFlags.NOEXIST };
  const bytes = (b: number[] | null): Uint8Array | null => (b ? new Uint8Array(b) : null);
  try {
    let out: Uint8Array | undefined;
    switch (op[0]) {
      case 'update':
        map.update(bytes(op[1]), new Uint8Array(op[2]), flags[op[3]]);
        return 'ok';
      case 'lookup':
        out = map.lookup(bytes(op[1]));
        break;
      case 'delete':
        map.delete(bytes(op[1]));
        return 'ok';
      case 'getnext':
        out = map.nextKey(op[1] ? new Uint8Array(op[1]) : undefined);
        break;
      case 'pop':
        out = map.lookupAndDelete(null);
        break;
    }
    return out === undefined ? 'ENOENT' : show(out);
  } catch (error) {
    if (!(error instanceof MapError)) throw error;
    return error.errno === 524 ? 'ENOTSUPP' : error.code;
  }
}

const k = (n: number): number[] => [n & 255, (n >> 8) & 255, 0, 0];
const v8 = (n: number): number[] => [n & 255, 0, 0, 0, 0, 0, 0, 0];
const lpm = (plen: number, ...address: number[]): number[] => [plen, 0, 0, 0, ...address];

interface Scenario {
  readonly spec: MapSpec;
  readonly bpftoolType: string;
  readonly ops: readonly Op[];
}

const scenarios: readonly Scenario[] = [
  {
    spec: { name: 'hash', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 2 },
    bpftoolType: 'hash',
    ops: [
      ['getnext', null],
      ['update', k(1), v8(1), 'exist'],
      ['update', k(1), v8(1), 'noexist'],
      ['update', k(1), v8(2), 'noexist'],
      ['update', k(1), v8(3), 'exist'],
      ['lookup', k(1)],
      ['lookup', k(7)],
      ['getnext', k(9)],
      ['getnext', k(1)],
      ['update', k(2), v8(2), 'any'],
      ['update', k(3), v8(3), 'any'],
      ['update', k(3), v8(3), 'noexist'],
      ['update', k(2), v8(4), 'any'],
      ['delete', k(5)],
      ['delete', k(2)],
      ['delete', k(2)],
      ['update', k(3), v8(3), 'noexist'],
      ['lookup', k(3)],
    ],
  },
  {
    spec: { name: 'array', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 4 },
    bpftoolType: 'array',
    ops: [
      ['lookup', k(0)],
      ['lookup', k(4)],
      ['update', k(4), v8(1), 'any'],
      ['update', k(0), v8(1), 'noexist'],
      ['update', k(0), v8(1), 'exist'],
      ['update', k(3), v8(3), 'any'],
      ['lookup', k(3)],
      ['delete', k(0)],
      ['delete', k(9)],
      ['getnext', null],
      ['getnext', k(2)],
      ['getnext', k(3)],
      ['getnext', k(300)],
    ],
  },
  {
    spec: { name: 'lru', type: 'LRU_HASH', keySize: 4, valueSize: 8, maxEntries: 64 },
    bpftoolType: 'lru_hash',
    ops: [
      ['update', k(1), v8(1), 'exist'],
      ['update', k(1), v8(1), 'noexist'],
      ['update', k(1), v8(1), 'noexist'],
      ['update', k(1), v8(5), 'exist'],
      ['lookup', k(1)],
      ['delete', k(1)],
      ['delete', k(1)],
      ['getnext', null],
    ],
  },
  {
    spec: {
      name: 'lpm',
      type: 'LPM_TRIE',
      keySize: 8,
      valueSize: 4,
      maxEntries: 6,
      flags: MapFlags.NO_PREALLOC,
    },
    bpftoolType: 'lpm_trie',
    ops: [
      ['update', lpm(33, 1, 2, 3, 4), [1, 0, 0, 0], 'any'],
      ['update', lpm(16, 192, 168, 0, 0), [16, 0, 0, 0], 'any'],
      ['update', lpm(24, 192, 168, 1, 0), [24, 0, 0, 0], 'noexist'],
      ['update', lpm(24, 192, 168, 1, 77), [25, 0, 0, 0], 'noexist'],
      ['update', lpm(24, 192, 168, 128, 0), [26, 0, 0, 0], 'any'],
      ['update', lpm(0, 0, 0, 0, 0), [0, 0, 0, 0], 'any'],
      ['update', lpm(32, 192, 168, 1, 1), [32, 0, 0, 0], 'any'],
      ['update', lpm(8, 10, 0, 0, 0), [8, 0, 0, 0], 'exist'],
      ['update', lpm(1, 128, 0, 0, 0), [1, 0, 0, 0], 'any'],
      ['update', lpm(8, 10, 0, 0, 0), [8, 0, 0, 0], 'any'],
      ['lookup', lpm(32, 192, 168, 1, 1)],
      ['lookup', lpm(32, 192, 168, 1, 2)],
      ['lookup', lpm(32, 192, 168, 2, 2)],
      ['lookup', lpm(32, 10, 9, 9, 9)],
      ['lookup', lpm(8, 192, 168, 1, 1)],
      ['lookup', lpm(33, 192, 168, 1, 1)],
      ['getnext', null],
      ['getnext', lpm(32, 192, 168, 1, 1)],
      ['getnext', lpm(24, 192, 168, 1, 0)],
      ['getnext', lpm(24, 192, 168, 128, 0)],
      ['getnext', lpm(16, 192, 168, 0, 0)],
      ['getnext', lpm(0, 0, 0, 0, 0)],
      ['getnext', lpm(20, 1, 2, 3, 4)],
      ['delete', lpm(20, 192, 168, 0, 0)],
      ['delete', lpm(33, 192, 168, 0, 0)],
      ['delete', lpm(16, 192, 168, 5, 5)],
      ['lookup', lpm(32, 192, 168, 2, 2)],
    ],
  },
  {
    spec: { name: 'queue', type: 'QUEUE', keySize: 0, valueSize: 4, maxEntries: 2 },
    bpftoolType: 'queue',
    ops: [
      ['pop'],
      ['lookup', null],
      ['update', null, [1, 0, 0, 0], 'any'],
      ['update', null, [2, 0, 0, 0], 'any'],
      ['update', null, [3, 0, 0, 0], 'any'],
      ['update', null, [3, 0, 0, 0], 'noexist'],
      ['update', null, [3, 0, 0, 0], 'exist'],
      ['lookup', null],
      ['getnext', null],
      ['pop'],
      ['pop'],
      ['pop'],
    ],
  },
  {
    spec: { name: 'stack', type: 'STACK', keySize: 0, valueSize: 4, maxEntries: 2 },
    bpftoolType: 'stack',
    ops: [
      ['update', null, [1, 0, 0, 0], 'any'],
      ['update', null, [2, 0, 0, 0], 'any'],
      ['update', null, [3, 0, 0, 0], 'exist'],
      ['pop'],
      ['pop'],
      ['pop'],
    ],
  },
];

describe('VM maps match the kernel (bpftool)', () => {
  const reason = unavailable();
  if (reason) console.log(`# kernel differential tests skipped: ${reason}`);
  for (const { spec, bpftoolType, ops } of scenarios) {
    test(`${spec.type}`, { skip: reason }, () => {
      const pin = `/sys/fs/bpf/tsbpf_${spec.name}_${process.pid}`;
      const create = ['map', 'create', pin, 'type', bpftoolType, 'key', String(spec.keySize), 'value'];
      create.push(String(spec.valueSize), 'entries', String(spec.maxEntries), 'name', spec.name);
      if (spec.flags) create.push('flags', String(spec.flags));
      const created = bpftool(create);
      assert.equal(created.status, 0, created.stdout);
      try {
        const map = new VmMapRegistry(new VmMemory()).create(spec);
        const kernel = ops.map((op) => `${JSON.stringify(op)} → ${kernelOutcome(pin, op)}`);
        const vm = ops.map((op) => `${JSON.stringify(op)} → ${vmOutcome(map, op)}`);
        if (process.env.TSBPF_SHOW) console.log(kernel.join('\n'));
        assert.deepEqual(vm, kernel);
      } finally {
        rmSync(pin, { force: true });
      }
    });
  }

  test('errno table sanity', () => assert.equal(Errno.E2BIG, 7));
});
