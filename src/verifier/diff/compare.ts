/**
 * Our verifier beside the kernel's recorded verdict: per case what agrees (verdict, first error
 * with numbers masked, failing instruction, `insns_processed`), and per capability mode the
 * shares the targets are stated in. Pure.
 */
import { decode } from '../../isa/instruction.js';
import type { Caps, VerifierInput, VerifierResult } from '../types.js';
import { type CorpusCase, decodeCase } from './corpus.js';
import { errorShape, type KernelVerdict } from './kernel-log.js';

/** The verifier under test (`verify` from `src/verifier/index.ts`). */
export type VerifyFn = (input: VerifierInput) => VerifierResult;

/** Our verdict in the kernel's terms. */
export interface OurVerdict {
  readonly accepted: boolean;
  readonly error: string | null;
  readonly insn: number | null;
  readonly insns_processed: number;
  /** Set when `verify` threw (a bug: it must never throw) or the bytes did not decode. */
  readonly crash?: string;
}

/** One case compared. */
export interface Comparison {
  readonly name: string;
  readonly caps: Caps;
  readonly category: string;
  readonly kernel: KernelVerdict;
  readonly ours: OurVerdict;
  readonly verdictEqual: boolean;
  /** Both rejected with the same error line, numbers aside (null when not both rejected). */
  readonly errorEqual: boolean | null;
  /** Both accepted with the same `insns_processed` (null when not both accepted). */
  readonly processedEqual: boolean | null;
}

/** Run `verify` on a corpus case in mode `caps` (default: the case's own). Never throws. */
export function runOurs(verify: VerifyFn, c: CorpusCase, caps?: Caps): OurVerdict {
  const decoded = decodeCase(c);
  let insns: ReturnType<typeof decode>;
  try {
    insns = decode(decoded.insns);
  } catch (error) {
    // Bytes that are no instruction: the kernel rejects them too; we cannot call verify().
    const slot = (error as { slot?: number }).slot;
    return {
      accepted: false,
      error: (error as Error).message,
      insn: slot ?? null,
      insns_processed: 0,
      crash: 'decode',
    };
  }
  try {
    const result = verify({
      insns,
      progType: decoded.progType,
      maps: decoded.maps,
      caps: caps ?? decoded.caps,
      progFlags: decoded.flags,
      logLevel: 0,
    });
    return {
      accepted: result.accepted,
      error: result.error?.message ?? null,
      insn: result.error?.insn ?? null,
      insns_processed: result.insnsProcessed,
    };
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { accepted: false, error: null, insn: null, insns_processed: 0, crash: text };
  }
}

/** Compare our verdict with the kernel's. */
export function compare(c: CorpusCase, kernel: KernelVerdict, ours: OurVerdict): Comparison {
  const verdictEqual = kernel.accepted === ours.accepted;
  const bothRejected = !kernel.accepted && !ours.accepted;
  const bothAccepted = kernel.accepted && ours.accepted;
  return {
    name: c.name,
    caps: c.caps ?? 'root',
    category: c.category ?? '',
    kernel,
    ours,
    verdictEqual,
    // A load refused before verification (EPERM: no log) has no error line to compare.
    errorEqual:
      bothRejected && kernel.error !== null ? errorShape(kernel.error) === errorShape(ours.error) : null,
    processedEqual: bothAccepted ? kernel.insns_processed === ours.insns_processed : null,
  };
}

/** Agreement shares for one set of comparisons. */
export interface Agreement {
  readonly cases: number;
  readonly verdict: number;
  /** Share of both-rejected cases (with a kernel error line) whose first error agrees. */
  readonly firstError: number;
  readonly bothRejected: number;
  /** Share of both-accepted cases whose `insns_processed` agrees. */
  readonly processed: number;
  readonly bothAccepted: number;
  readonly crashes: number;
}

const share = (hits: number, of: number) => (of === 0 ? 1 : hits / of);

export function agreement(rows: readonly Comparison[]): Agreement {
  const rejected = rows.filter((r) => r.errorEqual !== null);
  const accepted = rows.filter((r) => r.processedEqual !== null);
  return {
    cases: rows.length,
    verdict: share(rows.filter((r) => r.verdictEqual).length, rows.length),
    firstError: share(rejected.filter((r) => r.errorEqual).length, rejected.length),
    bothRejected: rejected.length,
    processed: share(accepted.filter((r) => r.processedEqual).length, accepted.length),
    bothAccepted: accepted.length,
    crashes: rows.filter((r) => r.ours.crash && r.ours.crash !== 'decode').length,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`.padStart(8);

/** A per-mode table: `corpus  mode  cases  verdict  first error (n)  insns_processed (n)  crashes`. */
export function formatTable(groups: ReadonlyArray<readonly [string, readonly Comparison[]]>): string {
  const head = `${'corpus / mode'.padEnd(28)} ${'cases'.padStart(6)} ${'verdict'.padStart(8)} ${'1st error'.padStart(8)} (n)    ${'processed'.padStart(8)} (n)    crashes`;
  const lines = [head, '-'.repeat(head.length)];
  for (const [label, rows] of groups) {
    const a = agreement(rows);
    lines.push(
      `${label.padEnd(28)} ${String(a.cases).padStart(6)} ${pct(a.verdict)} ${a.bothRejected ? pct(a.firstError) : '     n/a'} (${String(a.bothRejected).padStart(4)}) ${a.bothAccepted ? pct(a.processed) : '     n/a'} (${String(a.bothAccepted).padStart(4)}) ${String(a.crashes).padStart(7)}`,
    );
  }
  return lines.join('\n');
}

/** One disagreement in a line: what differs, ours vs the kernel's. */
export function formatDisagreement(r: Comparison): string {
  const side = (v: {
    accepted: boolean;
    error: string | null;
    insn: number | null;
    insns_processed: number;
  }) =>
    v.accepted
      ? `accepted (${v.insns_processed} insns)`
      : `rejected at ${v.insn ?? '?'}: ${v.error ?? '(no log)'}`;
  const what = !r.verdictEqual ? 'verdict' : r.errorEqual === false ? 'error' : 'insns_processed';
  const crash = r.ours.crash && r.ours.crash !== 'decode' ? ` [verify threw: ${r.ours.crash}]` : '';
  return `[${r.caps}] ${r.name} (${what})\n    ours:   ${side(r.ours)}${crash}\n    kernel: ${side(r.kernel)}`;
}

/** Whether a comparison disagrees on anything the targets count. */
export const disagrees = (r: Comparison): boolean =>
  !r.verdictEqual || r.errorEqual === false || r.processedEqual === false;
