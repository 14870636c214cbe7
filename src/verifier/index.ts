/**
 * The verifier: Linux 6.18's verdict for a program, in the kernel's words, with a plain summary
 * and a hint. Pure: runs wherever JavaScript runs.
 *
 * program → CFG ({@link checkCfg}) → abstract states ({@link runCheck}) → {@link VerifierResult}.
 */
import { PseudoSrc } from '../isa/opcodes.js';
import { callsRefusal, progTypeRefusal } from './caps.js';
import { abnormalReturn, checkCfg, toSlots } from './cfg.js';
import { Reject, runCheck } from './check.js';
import { subprogLines } from './log.js';
import { type Lookups, tableLookups } from './lookups.js';
import type { RegType } from './scalar.js';
import type { VerifierInput, VerifierRejection, VerifierResult } from './types.js';

export type * from './types.js';

/** Plain-words summaries and hints for the kernel's messages, first match wins. */
const EXPLAIN: ReadonlyArray<readonly [RegExp, string, string | undefined]> = [
  [
    /invalid mem access '(\w+)_or_null'/,
    'a pointer that may be NULL is dereferenced',
    'check the result of bpf_map_lookup_elem / bpf_ringbuf_reserve for NULL before using it',
  ],
  [
    /invalid mem access 'scalar'/,
    'a number is used as a pointer',
    'only pointers the verifier knows (ctx, stack, map values, packet) can be dereferenced',
  ],
  [
    /offset is outside of the packet/,
    'packet read or write past the checked end',
    'check `data + N > data_end` before reading N bytes of the packet',
  ],
  [
    /invalid access to map value/,
    'map value access out of bounds',
    'keep offset + size within the map value size',
  ],
  [
    /min value is (negative|outside)/,
    'an index may be negative or too small',
    'bound the index from below (use an unsigned type or `if (i < 0)`)',
  ],
  [
    /max value is outside|unbounded memory access/,
    'an index is not bounded from above',
    'check the index against the size before using it (`if (i >= N) return`)',
  ],
  [
    /would lead to reference leak|Unreleased reference/,
    'a reference is not released on every path',
    'submit or discard the ring buffer reservation (release the socket) on every path',
  ],
  [
    /!read_ok/,
    'a register is read before it is written',
    'registers r1-r5 are clobbered by calls; set a register before reading it',
  ],
  [/frame pointer is read only/, 'r10 (the frame pointer) is written', undefined],
  [
    /invalid bpf_context access/,
    'this context field cannot be accessed this way',
    'read context fields with their declared size and offset',
  ],
  [/unreachable insn/, 'some code can never run', 'remove dead code or fix the jump offsets'],
  [
    /jump out of range|jump into the middle/,
    'a jump lands outside the function or inside an instruction',
    undefined,
  ],
  [
    /back-edge|infinite loop/,
    'a loop that Linux cannot prove ends',
    'give the loop a bound the verifier can see',
  ],
  [
    /too large|too complex/,
    'the program is too complex to verify',
    'simplify loops or split the program (tail calls, bpf_loop)',
  ],
  [
    /pointer arithmetic|pointer .* prohibited|bitwise operator/,
    'arithmetic on a pointer that Linux forbids',
    undefined,
  ],
  [
    /invalid (read|write|indirect access)|stack/,
    'stack access out of bounds or uninitialised',
    'the stack is 512 bytes at negative offsets from r10',
  ],
  [/type=\S+ expected=/, 'a helper argument has the wrong type', undefined],
  [/helper|func/, 'a helper call is not allowed here', undefined],
];

/**
 * Pointer types whose accesses the walk bounds-checks against a size it knows: the stack, map
 * values and keys, the packet, helper memory. Not the context (Linux rewrites those loads into
 * reads of kernel structures: `convert_ctx_accesses`), not map or BTF pointers (their loads are
 * rewritten too, or become probe reads that may fault).
 */
const SIZED_MEMORY: ReadonlySet<RegType> = new Set<RegType>([
  'fp',
  'map_value',
  'map_key',
  'pkt',
  'pkt_meta',
  'mem',
  'ringbuf_mem',
]);

function explain(message: string): { summary: string; hint?: string } {
  for (const [re, summary, hint] of EXPLAIN)
    if (re.test(message)) return hint ? { summary, hint } : { summary };
  return { summary: message };
}

/** The lookups the core uses: the kernel-measured tables for the program's type and caps. */
export function builtinLookups(input: VerifierInput): Lookups {
  return tableLookups(input);
}

/** Verify a program as Linux 6.18 would. Never throws: every input gets a verdict. */
export function verify(input: VerifierInput): VerifierResult {
  try {
    return verifyInner(input);
  } catch (error) {
    const message = `internal verifier error: ${error instanceof Error ? error.message : String(error)}`;
    return { accepted: false, error: { message, insn: 0, summary: message }, insnsProcessed: 0, log: '' };
  }
}

function rejection(input: VerifierInput, message: string, slot: number | undefined): VerifierRejection {
  const index =
    slot === undefined
      ? 0
      : Math.max(
          0,
          input.insns.findIndex((i) => i.slot === slot),
        );
  const line = input.lines?.[index];
  return {
    message,
    insn: index,
    ...(slot === undefined ? {} : { slot }),
    ...explain(message),
    ...(line ? { line } : {}),
  };
}

/** The `prog_flags` bits `bpf_prog_load` knows (BPF_F_STRICT_ALIGNMENT … BPF_F_TEST_REG_INVARIANTS). */
const KNOWN_PROG_FLAGS = 0xff;
const BPF_F_SLEEPABLE = 1 << 4;
/** Types that may be sleepable (measured; `can_be_sleepable`: kprobe stands for uprobes). */
const SLEEPABLE_TYPES: ReadonlySet<string> = new Set([
  'KPROBE',
  'SYSCALL',
  'TRACING',
  'LSM',
  'STRUCT_OPS',
  'EXT',
]);

/**
 * Refusals before verification: unknown `prog_flags` (`bpf_prog_load` says EINVAL without a log;
 * BPF_F_TOKEN_FD needs a token this input cannot carry) and `BPF_F_SLEEPABLE` on a type that
 * cannot sleep (`check_attach_btf_id`).
 */
function loadFlagsError(input: VerifierInput): string | undefined {
  const flags = input.progFlags ?? 0;
  if (flags & ~KNOWN_PROG_FLAGS) return `(EINVAL: unsupported prog_flags 0x${flags.toString(16)})`;
  if (flags & BPF_F_SLEEPABLE && !SLEEPABLE_TYPES.has(input.progType)) return SLEEPABLE_REFUSAL;
  return undefined;
}

const SLEEPABLE_REFUSAL =
  'Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable';
/** The statistics line of a log that stopped before the walk. */
const NO_STATS =
  'processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0';

/** resolve_pseudo_ldimm64: the maps `lddw` names must exist and allow the access asked for. */
function resolvePseudo(input: VerifierInput): string | undefined {
  const maps = input.maps ?? [];
  for (const insn of input.insns) {
    if (insn.kind !== 'lddw' || insn.src === PseudoSrc.IMM || insn.src === PseudoSrc.FUNC) continue;
    if (insn.src === PseudoSrc.BTF_ID) return 'kernel BTF is not available for BTF id loads';
    const m = maps[insn.imm];
    if (!m) return `fd ${insn.imm} is not pointing to valid bpf_map`;
    if (insn.src === PseudoSrc.MAP_VALUE || insn.src === PseudoSrc.MAP_IDX_VALUE) {
      if (m.type !== 'ARRAY') return 'no direct value access support for this map type';
      const off = insn.imm2 >>> 0;
      if (m.maxEntries !== 1 || off >= m.valueSize)
        return `invalid access to map value pointer, value_size=${m.valueSize} off=${off}`;
    }
  }
  return undefined;
}

/**
 * The log of an error found before the walk: level 2 has listed the subprograms, and those found
 * after check_subprogs end with the statistics line (measured on 6.18).
 */
function earlyLog(input: VerifierInput, message: string, stats: boolean): string {
  const logLevel = input.logLevel ?? 0;
  if (logLevel === 0) return '';
  const lines = [...(logLevel > 1 ? subprogLines(input.insns) : []), message, ...(stats ? [NO_STATS] : [])];
  return `${lines.join('\n')}\n`;
}

/** {@link verifyInner}'s per-slot access facts. */
const PROVEN = 1;
const UNPROVEN = 2;

function verifyInner(input: VerifierInput): VerifierResult {
  const caps = input.caps ?? 'root';
  const logLevel = input.logLevel ?? 0;
  if (input.insns.length === 0) {
    return {
      accepted: false,
      error: rejection(input, 'empty program', undefined),
      insnsProcessed: 0,
      log: '',
    };
  }
  const refused =
    progTypeRefusal(input.progType, caps) ?? loadFlagsError(input) ?? callsRefusal(input.insns, caps);
  if (refused) {
    // the sleepable check runs after check_subprogs, the others before anything is logged
    const log = refused.startsWith('(')
      ? ''
      : refused === SLEEPABLE_REFUSAL
        ? earlyLog(input, refused, true)
        : logLevel > 0
          ? `${refused}\n`
          : '';
    return { accepted: false, error: rejection(input, refused, undefined), insnsProcessed: 0, log };
  }
  const pseudo = resolvePseudo(input);
  if (pseudo) {
    return {
      accepted: false,
      error: rejection(input, pseudo, undefined),
      insnsProcessed: 0,
      log: earlyLog(input, pseudo, true),
    };
  }
  const slots = toSlots(input.insns);
  // Per slot: whether every load/store checked there went through a pointer to memory of a
  // size the verifier knows (PROVEN), or one visit did not (UNPROVEN, for good).
  const proven = new Uint8Array(slots.length);
  const tables = builtinLookups(input);
  const lookups: Lookups = {
    helper: tables.helper,
    ctx: tables.ctx,
    returnRange: tables.returnRange,
    access(slot, type) {
      if (proven[slot] !== UNPROVEN) proven[slot] = SIZED_MEMORY.has(type) ? PROVEN : UNPROVEN;
    },
  };
  const cfg = checkCfg(slots, caps !== 'unpriv', (id) => {
    const proto = lookups.helper(id);
    return typeof proto === 'string' ? undefined : proto.args.length;
  });
  if ('message' in cfg) {
    const log = earlyLog(input, cfg.message, true);
    return { accepted: false, error: rejection(input, cfg.message, cfg.insn), insnsProcessed: 0, log };
  }
  const abnormal = (input.funcInfo?.length ?? 0) > 0 ? undefined : abnormalReturn(slots, cfg.subprogs);
  if (abnormal) {
    const log = logLevel > 0 ? `${abnormal}\n` : '';
    return { accepted: false, error: rejection(input, abnormal, undefined), insnsProcessed: 0, log };
  }
  const result = runCheck(input, slots, cfg, lookups);
  // the statistics line ends a log (none at level 0)
  const stats =
    logLevel === 0
      ? ''
      : `processed ${result.insnsProcessed} insns (limit 1000000) max_states_per_insn ${result.states.maxPerInsn} total_states ${result.states.total} peak_states ${result.states.peak} mark_read 0`;
  const log = result.log.text(stats);
  const trace = logLevel > 0 ? { trace: result.log.trace } : {};
  if (result.error) {
    return {
      accepted: false,
      error: rejection(input, result.error.message, result.error.insn),
      insnsProcessed: result.insnsProcessed,
      log,
      ...trace,
    };
  }
  const dead = new Set<number>();
  const safeAccess = new Set<number>();
  const subprogAt = new Map(cfg.subprogs.map((slot, index) => [slot, index]));
  const stackDepth = new Map<number, number>();
  input.insns.forEach((insn, k) => {
    if (!result.visited[insn.slot]) dead.add(k);
    if (proven[insn.slot] === PROVEN) safeAccess.add(k);
    const subprog = subprogAt.get(insn.slot);
    if (subprog !== undefined) stackDepth.set(k, result.stackDepth.get(subprog) ?? 0);
  });
  return {
    accepted: true,
    insnsProcessed: result.insnsProcessed,
    log,
    ...trace,
    facts: { dead, safeAccess, constants: result.constants.facts(input.insns, cfg.subprogs), stackDepth },
  };
}

export { Reject };
