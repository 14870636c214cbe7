/**
 * Failure classes the fuzzers know about and someone is fixing: they are counted and reported
 * ("known"), but do not fail the CI-sized run. Each entry names who fixes it; remove the entry
 * when the fix is merged, and the regression files under testdata/fuzz/ then must pass (known
 * hangs and deaths are not replayed until then: each costs a second and a restart).
 */
import { TsbpfError } from '../src/errors.js';
import { TypedOutcome } from './targets.js';

export type FindingKind = 'untyped' | 'hang' | 'death';

export interface KnownClass {
  readonly target: string;
  readonly kind: FindingKind;
  /** Matched against the finding's signature (`Name: message @ file:line`); any when absent. */
  readonly match?: RegExp;
  readonly label: string;
}

const BTF_C = 'sandbox branch: BTF C dumper recursion and output size (issue 14 §3)';
const BUDGET = 'sandbox branch: one instruction budget across callbacks (issue 14 §1)';
const HELPERS = 'sandbox branch: helpers check memory and throw typed errors (issue 14 §2)';
const UNALIGNED = 'sandbox branch: unaligned offsets in objects (issue 14 §4)';
const MEMCAP = 'sandbox branch: a memory cap per VM (issue 14 §3)';

export const KNOWN: readonly KnownClass[] = [
  { target: 'btf-c', kind: 'hang', label: BTF_C },
  { target: 'btf-c', kind: 'death', label: BTF_C },
  {
    target: 'btf-c',
    kind: 'untyped',
    match: /Maximum call stack size exceeded|Invalid (string|array) length/,
    label: BTF_C,
  },
  { target: 'callbacks', kind: 'hang', label: BUDGET },
  { target: 'insns', kind: 'hang', label: BUDGET },
  { target: 'vm-object', kind: 'hang', label: BUDGET },
  { target: 'callbacks', kind: 'untyped', match: /^Error: callback at slot/, label: HELPERS },
  { target: 'insns', kind: 'untyped', match: /^Error: callback at slot/, label: HELPERS },
  { target: 'callbacks', kind: 'untyped', match: /^OracleError: read oracle/, label: HELPERS },
  { target: 'insns', kind: 'untyped', match: /^OracleError: read oracle/, label: HELPERS },
  { target: 'vm-object', kind: 'untyped', match: /cannot be converted to a BigInt/, label: UNALIGNED },
  { target: 'vm-object', kind: 'death', match: /resident memory/, label: MEMCAP },
];

/** The known class of a finding, if any. */
export function knownClass(target: string, kind: FindingKind, signature: string): KnownClass | undefined {
  return KNOWN.find((k) => k.target === target && k.kind === kind && (!k.match || k.match.test(signature)));
}

/** A typed error: one of ours (or an oracle-checked typed outcome). */
export function isTypedError(error: unknown): boolean {
  return error instanceof TsbpfError || error instanceof TypedOutcome;
}
