/**
 * The kernel as the verifier's oracle: load a program with a log and report the verdict the way
 * `src/verifier` reports its own (accepted, first error, failing instruction, processed insns),
 * so tests and `tsbpf verify --kernel` can put the two side by side.
 */
import type { Insn } from '../../isa/instruction.js';
import type { ProgTypeName } from '../../uapi.js';
import type { VerifierMap } from '../../verifier/types.js';
import { VerifierError } from '../sys/errors.js';
import { createMap, type KernelMapOps } from './map.js';
import { loadProgram } from './program.js';

/** The kernel's answer for one program. */
export interface KernelVerdict {
  readonly accepted: boolean;
  /** The kernel's error line (the last line of the log before the statistics). */
  readonly error?: string;
  /** The failing instruction (slot index), when the log names one. */
  readonly insn?: number;
  /** `processed N insns`, when the log says it (absent for errors before do_check). */
  readonly insnsProcessed?: number;
  readonly log: string;
  /** Load failed for a reason other than the verifier (errno name). */
  readonly errno?: string;
}

const PROCESSED = /processed (\d+) insns/;
const STATS =
  /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|mark_read|cur state:|old state:)/;

/** The error line of a rejection log: the last line that is not a statistic. */
export function errorLineOf(log: string): string {
  const lines = log
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!STATS.test(lines[i])) return lines[i].replace(/processed \d+ insns.*$/, '');
  }
  return '';
}

/** Load `insns` as `progType` with maps created from `maps` (MAP_IDX indexes them) and report. */
export function kernelVerdict(options: {
  readonly insns: readonly Insn[] | Uint8Array;
  readonly progType: ProgTypeName;
  readonly maps?: readonly VerifierMap[];
  readonly progFlags?: number;
  readonly logLevel?: 1 | 2;
  readonly license?: string;
}): KernelVerdict {
  const created: KernelMapOps[] = [];
  try {
    for (const [i, m] of (options.maps ?? []).entries()) {
      created.push(
        createMap({
          name: m.name ?? `m${i}`,
          type: m.type,
          keySize: m.keySize,
          valueSize: m.valueSize,
          maxEntries: m.maxEntries,
          flags: m.flags,
          ...(m.innerMap
            ? {
                innerMap: {
                  name: 'inner',
                  type: m.innerMap.type,
                  keySize: m.innerMap.keySize,
                  valueSize: m.innerMap.valueSize,
                  maxEntries: m.innerMap.maxEntries,
                  flags: m.innerMap.flags,
                },
              }
            : {}),
        }),
      );
    }
    // MAP_FD / MAP_VALUE name maps by index here (as in the verifier's input): the real fds.
    const insns =
      options.insns instanceof Uint8Array
        ? options.insns
        : options.insns.map((i) =>
            i.kind === 'lddw' && (i.src === 1 || i.src === 2) && created[i.imm]
              ? { ...i, imm: created[i.imm].fd }
              : i,
          );
    try {
      const prog = loadProgram({
        type: options.progType,
        insns,
        license: options.license ?? 'GPL',
        logLevel: options.logLevel ?? 1,
        alwaysLog: true,
        fdArray: created.map((m) => m.fd),
        progFlags: options.progFlags,
      });
      const log = prog.log ?? '';
      prog.close();
      const processed = PROCESSED.exec(log);
      return { accepted: true, log, ...(processed ? { insnsProcessed: Number(processed[1]) } : {}) };
    } catch (error) {
      if (error instanceof VerifierError) {
        const processed = PROCESSED.exec(error.log);
        return {
          accepted: false,
          log: error.log,
          error: errorLineOf(error.log),
          ...(error.insnIndex === undefined ? {} : { insn: error.insnIndex }),
          ...(processed ? { insnsProcessed: Number(processed[1]) } : {}),
        };
      }
      const code = (error as { code?: string }).code;
      return { accepted: false, log: '', errno: code ?? String(error) };
    }
  } finally {
    for (const m of created) m.close();
  }
}
