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

/** Empty: every class found so far is fixed (the sandbox work, issue 14). */
export const KNOWN: readonly KnownClass[] = [];

/** The known class of a finding, if any. */
export function knownClass(target: string, kind: FindingKind, signature: string): KnownClass | undefined {
  return KNOWN.find((k) => k.target === target && k.kind === kind && (!k.match || k.match.test(signature)));
}

/** A typed error: one of ours (or an oracle-checked typed outcome). */
export function isTypedError(error: unknown): boolean {
  return error instanceof TsbpfError || error instanceof TypedOutcome;
}
