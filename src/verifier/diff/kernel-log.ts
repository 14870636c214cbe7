/**
 * Reading the kernel verifier's log (level 1) for the differential harness: the first error line,
 * the failing instruction and the `processed N insns` count. Pure: the oracle hands the text in.
 *
 * How a level-1 log of a rejected program ends on Linux 6.18:
 *
 * ```
 * 0: R1=ctx() R10=fp0
 * 0: (61) r0 = *(u32 *)(r1 +0)
 * invalid bpf_context access off=0 size=4
 * processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
 * ```
 *
 * The error is the last line that is neither statistics nor state dump; some errors are followed
 * by explanatory lines (a state dump after `infinite loop detected`, `verification time`…), which
 * are skipped.
 */

/** What the kernel said about one program. */
export interface KernelVerdict {
  readonly accepted: boolean;
  /** The kernel's error line (null when accepted, or when the load failed before verification). */
  readonly error: string | null;
  /** The failing instruction (slot index), when the log names one. */
  readonly insn: number | null;
  /** `processed N insns` (the program's `verified_insns` when accepted); 0 when not verified. */
  readonly insns_processed: number;
  /** The errno name of a failed load (`EACCES`, `EINVAL`, `EPERM`…). */
  readonly errno?: string;
}

/** Lines after the error that are statistics or commentary, never the error itself. */
const TRAILER =
  /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|Func#|mark_precise|last_idx|parent (didn't|already)|regs=|from \d+ to \d+|frame\d+:|\s*R\d+[_=]|cur state:|old state:|;|func#|propagating|jmp_history)/;

/** `12: (85) call bpf_map_lookup_elem#1`, the line the verifier prints before checking an insn. */
const INSN_LINE = /^(\d+): \([0-9a-f]{2}\)/;
/** `12: R1=ctx() R10=fp0` — a state line, not an error. */
const STATE_LINE = /^\d+: (frame\d+: )?R\d+/;
const PROCESSED = /processed (\d+) insns/;

/** Parse a level-1 log of a load that failed with `errno` (a name). */
export function parseRejection(log: string, errno: string): KernelVerdict {
  // Some messages lack their newline, so `processed …` can follow on the same line.
  const lines = log
    .replace(/(\S)(processed \d+ insns)/g, '$1\n$2')
    // A conditional jump's line has no newline of its own: what follows it (a state, an error)
    // shares the line (`5: (a5) if r1 < 0x32 goto pc-3 BPF program is too large…`).
    .replace(/^(\d+: \([0-9a-f]{2}\) if .*? goto pc[+-]\d+) +(?=\S)/gm, '$1\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
  const processed = PROCESSED.exec(log);
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (TRAILER.test(line) || STATE_LINE.test(line) || INSN_LINE.test(line)) continue;
    at = i;
    break;
  }
  let insn: number | null = null;
  for (let i = at; i >= 0; i--) {
    const match = INSN_LINE.exec(lines[i]);
    if (match) {
      insn = Number(match[1]);
      break;
    }
  }
  const error = at >= 0 ? lines[at] : null;
  if (insn === null && error) {
    // Checks before the walk name the instruction in the message (`unreachable insn 3`,
    // `jump out of range from insn 1 to 9`, `invalid BPF_LD_IMM insn` has none).
    const named = /\binsn (\d+)/.exec(error);
    if (named) insn = Number(named[1]);
  }
  return {
    accepted: false,
    error,
    insn,
    insns_processed: processed ? Number(processed[1]) : 0,
    errno,
  };
}

/** Mask the numbers in an error line, so `off=12 size=1` and `off=13 size=2` compare equal. */
export function errorShape(error: string | null | undefined): string {
  return (error ?? '').replace(/-?(0x[0-9a-f]+|\d+)/gi, 'N').trim();
}
