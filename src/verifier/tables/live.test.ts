// Re-probes a random sample of the measured tables against the running kernel (root, bpf()):
// helper availability as root, context access, return values. Skips, with the reason, where
// bpf() is unavailable or the kernel is not the one the tables were measured on.
import assert from 'node:assert/strict';
import { release } from 'node:os';
import { describe, it } from 'node:test';
import { ctxVerdict, helperVerdict, insn, load, type Target } from '../../../scripts/gen-verifier-tables.js';
import { HELPER_NAMES } from '../../isa/helper-ids.js';
import { bpfUnavailable } from '../../kernel/sys/availability.js';
import type { AttachTypeName, ProgTypeName } from '../../uapi.js';
import { ctxAccess } from './context.js';
import { CONTEXT_MEASURED } from './context-access.js';
import { HELPER_AVAILABILITY, TABLES_KERNEL_RELEASE } from './helper-availability.js';
import { availableHelpers } from './helpers.js';
import { RETURN_PROBES, RETURNS_MEASURED } from './return-ranges.js';

const unavailable =
  bpfUnavailable() ??
  (release() === TABLES_KERNEL_RELEASE
    ? undefined
    : `tables measured on Linux ${TABLES_KERNEL_RELEASE}, this kernel is ${release()}`);

/** A small seeded generator, so a failure names a sample that can be re-run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const seed = Number(process.env.TSBPF_TABLES_SEED ?? Date.now() % 1_000_000);
const random = rng(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const targetOf = (key: string): Target => {
  const [progType, attachType] = key.split('/') as [ProgTypeName, AttachTypeName | undefined];
  return { progType, ...(attachType ? { attachType } : {}) };
};

describe(`verifier tables against the live kernel (seed ${seed})`, () => {
  it('helper availability (root): 300 random (type, helper) pairs', (t) => {
    if (unavailable) return t.skip(unavailable);
    const keys = Object.keys(HELPER_AVAILABILITY).filter((k) => HELPER_AVAILABILITY[k]![0] !== null);
    for (let i = 0; i < 300; i++) {
      const key = pick(keys);
      const id = 1 + Math.floor(random() * (HELPER_NAMES.length - 1));
      const target = targetOf(key);
      const table = availableHelpers(target.progType, 'root', target.attachType)!.has(id);
      assert.equal(helperVerdict(target, id), table, `${key} bpf_${HELPER_NAMES[id]}#${id}`);
    }
  });

  it('context access: 400 random (type, offset, size, read/write)', (t) => {
    if (unavailable) return t.skip(unavailable);
    const keys = Object.keys(CONTEXT_MEASURED).filter((k) => CONTEXT_MEASURED[k]);
    for (let i = 0; i < 400; i++) {
      const key = pick(keys);
      const size = pick([1, 2, 4, 8] as const);
      const kind = pick(['read', 'write'] as const);
      // Half the samples at aligned offsets, where the accepted fields are.
      const off = random() < 0.5 ? Math.floor(random() * 40) * size : Math.floor(random() * 256);
      const target = targetOf(key);
      const ret = RETURNS_MEASURED[key]?.accepted.includes(0) ? 0 : (RETURNS_MEASURED[key]?.accepted[0] ?? 0);
      const live = ctxVerdict(target, off, size, kind, ret);
      const table = ctxAccess(target.progType, off, size, kind, target.attachType)!;
      const where = `${key} ${kind} off=${off} size=${size}`;
      assert.equal(table.allowed, live.allowed, where);
      if (live.allowed && kind === 'read')
        assert.equal(table.type?.logName ?? 'scalar', live.type ?? 'scalar', where);
      if (!live.allowed)
        assert.equal(table.message?.replace(/(?<![A-Za-z])-?\d+/g, '%d'), live.message, where);
    }
  });

  it('return values: every measured type at two random probe values', (t) => {
    if (unavailable) return t.skip(unavailable);
    for (const [key, row] of Object.entries(RETURNS_MEASURED)) {
      if (!row) continue;
      for (let i = 0; i < 2; i++) {
        const k = pick(RETURN_PROBES);
        const r = load(targetOf(key), [insn(0xb7, 0, 0, 0, k), insn(0x95, 0, 0, 0, 0)], 1);
        assert.equal(r.ok, row.accepted.includes(k), `${key}: r0 = ${k}`);
      }
    }
  });
});
