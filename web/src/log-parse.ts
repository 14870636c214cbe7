/**
 * A parser of the kernel verifier's level-2 log text (`log_level=2`, `BPF_LOG_LEVEL2`), for the
 * playground's step view: the walk the verifier took, one step per instruction it checked, with
 * the registers and stack slots it knew after each, the paths (each `from X to Y:` starts one),
 * the jumps followed, and where a path ended (exit, pruned as `safe`, or the error).
 *
 * Pure: text in, records out. It reads what Linux 6.x prints and what tsbpf's verifier prints in
 * the same format; lines it does not know (liveness, `mark_precise` backtracking) are skipped, and
 * lines after the last instruction that are not statistics are the error.
 *
 * The line shapes (Linux 6.18):
 *
 *     0: R1=ctx() R10=fp0                              full state before insn 0
 *     ; if (data + 14 > data_end) @ xdp.bpf.c:51       C source of the next instruction (BTF)
 *     5: (2d) if r1 > r6 goto pc+21   ; R1=pkt(off=14,r=14) R6=pkt_end()   insn, state after it
 *     from 5 to 27: R0=… R10=fp0                       a new path: the other side of a branch
 *     27: safe                                         pruned: equal to a state seen before
 *     caller: / callee: / returning from callee: / to caller at 3:   bpf-to-bpf calls
 *     processed 8 insns (limit 1000000) …             statistics
 */

/** A register or stack slot and what the verifier knew of it: `R1` → `pkt(off=14,r=14)`. */
export type StateMap = ReadonlyMap<string, string>;

/** A C source line the log printed (from the program's BTF line info). */
export interface LogSource {
  readonly text: string;
  readonly file: string;
  readonly line: number;
}

/** How a step's control flow left the instruction. */
export type StepFlow =
  | { readonly kind: 'next' }
  /** A jump (conditional taken, or `goto`) to `to`. */
  | { readonly kind: 'jump'; readonly to: number }
  /** A conditional jump not taken: fell through to the next instruction. */
  | { readonly kind: 'fallthrough'; readonly to: number }
  /** A call into a bpf-to-bpf subprogram at `to`, or the return to the caller at `to`. */
  | { readonly kind: 'call' | 'return'; readonly to: number }
  /** The path ended: `exit` of the main program, pruned (`safe`), the error, or the log's end. */
  | {
      readonly kind: 'end';
      readonly why: 'exit' | 'safe' | 'error' | 'log-end';
      /** For `safe`: the instruction the path reached whose state was already proven safe. */
      readonly at?: number;
    };

/** One instruction the verifier checked, in the order it checked them. */
export interface LogStep {
  /** Instruction index (slot: an lddw counts two). */
  readonly insn: number;
  /** The opcode byte as the log prints it (`2d`). */
  readonly opcode: string;
  /** The instruction in the kernel's notation: `if r1 > r6 goto pc+21`. */
  readonly text: string;
  /** Call depth (frame 0: the main program). */
  readonly frame: number;
  /** Which path (0: the first; each `from X to Y` starts another). */
  readonly path: number;
  /** Registers and stack slots of the current frame before the instruction. */
  readonly before: StateMap;
  /** …and after it. */
  readonly after: StateMap;
  /** Registers and slots the log printed after the instruction (what it wrote or tested). */
  readonly touched: readonly string[];
  readonly source?: LogSource;
  readonly flow: StepFlow;
  /** Lines of the log about this step that are not state: the error text, `safe`. */
  readonly notes: readonly string[];
}

/** One path: the steps from its start to where it ended. */
export interface LogPath {
  /** The branch instruction it came from and the instruction it started at (absent: path 0). */
  readonly from?: number;
  readonly to: number;
  /** Index of its first step in {@link VerifierLog.steps}, and one past its last. */
  readonly firstStep: number;
  readonly endStep: number;
  /** The path was pruned at its start (`from 26 to 3: safe`): it has no steps. */
  readonly prunedAtStart: boolean;
}

/** A parsed log. */
export interface VerifierLog {
  readonly steps: readonly LogStep[];
  readonly paths: readonly LogPath[];
  /** The error lines after the last instruction (empty when the program was accepted). */
  readonly error: readonly string[];
  /** `processed N insns`, when the log has it. */
  readonly insnsProcessed?: number;
}

const INSN = /^(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+; (.*))?$/;
const FULL_STATE = /^(\d+): ((?:frame\d+: )?(?:R\d|fp-).*)$/;
const FROM = /^from (\d+) to (\d+): (.*)$/;
const SAFE = /^(\d+): safe$/;
const SOURCE = /^; (.*) @ (.+):(\d+)$/;
const PROCESSED = /^processed (\d+) insns/;
/** Lines of other levels' detail the step view does not show. */
const SKIPPED = [
  /^func#\d+ @\d+$/,
  /^Live regs before insn:$/,
  /^\s+\d+: [.0-9]{10} /,
  /^mark_precise: /,
  /^\(\d+\) frame \d+ insn \d+ /,
  /^\(\d+\) live stack update done/,
  /^last_idx \d+ first_idx /,
  /^regs=\S* stack=\S* before /,
  /^parent (?:didn't have|already had) regs=/,
  /^propagating /,
  /^Validating .* func#\d+/,
  /^verification time /,
  /^stack depth /,
];

/**
 * Split a state text into `name=value` pairs, respecting parentheses (values such as
 * `var_off=(0x0; 0xff)` hold spaces). Returns the frame number and the pairs; the kernel's `_w`
 * (written) suffix of older versions is dropped from names.
 */
export function parseState(text: string): { frame: number; entries: Array<[string, string]> } {
  let rest = text.trim();
  let frame = 0;
  const prefix = /^frame(\d+): ?/.exec(rest);
  if (prefix) {
    frame = Number(prefix[1]);
    rest = rest.slice(prefix[0].length);
  }
  const entries: Array<[string, string]> = [];
  let depth = 0;
  let start = 0;
  const push = (token: string) => {
    const eq = token.indexOf('=');
    if (eq <= 0) return;
    entries.push([token.slice(0, eq).replace(/_w$/, ''), token.slice(eq + 1)]);
  };
  for (let i = 0; i <= rest.length; i++) {
    const c = rest[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if ((c === ' ' && depth === 0) || i === rest.length) {
      if (i > start) push(rest.slice(start, i));
      start = i + 1;
    }
  }
  return { frame, entries };
}

/** Registers in number order, then stack slots from the frame pointer down. */
function ordered(map: Map<string, string>): StateMap {
  const key = (name: string): number => {
    const reg = /^R(\d+)$/.exec(name);
    if (reg) return Number(reg[1]);
    const slot = /^fp(-\d+)$/.exec(name);
    return slot ? 100 - Number(slot[1]) : 10_000;
  };
  return new Map([...map].sort((a, b) => key(a[0]) - key(b[0])));
}

/** The target of `goto pc+N` / `if … goto pc-N` at `insn`, or undefined. */
function jumpTargetOf(insn: number, text: string): number | undefined {
  const m = /goto pc([+-]\d+)$/.exec(text);
  return m ? insn + 1 + Number(m[1]) : undefined;
}

/** Parse a level-2 (or level-1) verifier log. Never throws: unknown lines are skipped. */
export function parseVerifierLog(log: string): VerifierLog {
  interface Draft extends Omit<LogStep, 'flow' | 'notes'> {
    flow: StepFlow;
    notes: string[];
  }
  const steps: Draft[] = [];
  const paths: Array<{ from?: number; to: number; firstStep: number; prunedAtStart: boolean }> = [];
  let state = new Map<string, string>();
  let frame = 0;
  let source: LogSource | undefined;
  let path = 0;
  let pathStarted = false;
  let insnsProcessed: number | undefined;
  /** After `callee:` or `to caller at N:`, the next ` R…` line is the state to continue with. */
  let expectState = false;
  let trailing: string[] = [];
  /** The instruction a callee's `exit` returns to (`to caller at N:`). */
  let returnTo: number | undefined;

  const endPath = (why: 'exit' | 'safe' | 'log-end', at?: number) => {
    const last = steps.at(-1);
    if (last && last.path === path && last.flow.kind === 'next')
      last.flow = {
        kind: 'end',
        why: why === 'log-end' && last.text === 'exit' ? 'exit' : why,
        ...(at === undefined ? {} : { at }),
      };
  };
  const newPath = (from: number | undefined, to: number, prunedAtStart: boolean) => {
    if (steps.length > 0 || paths.length > 0) path++;
    paths.push({ ...(from === undefined ? {} : { from }), to, firstStep: steps.length, prunedAtStart });
    pathStarted = true;
  };

  for (const raw of log.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (SKIPPED.some((re) => re.test(line))) continue;
    const processed = PROCESSED.exec(line);
    if (processed) {
      insnsProcessed = Number(processed[1]);
      continue;
    }
    const insn = INSN.exec(line);
    if (insn) {
      if (!pathStarted) newPath(undefined, Number(insn[1]), false);
      trailing = [];
      const index = Number(insn[1]);
      const previous = steps.at(-1);
      // The previous step of this path learns where control went.
      if (previous && previous.path === path && previous.flow.kind === 'next') {
        const target = jumpTargetOf(previous.insn, previous.text);
        const conditional = previous.text.startsWith('if ');
        if (/^call pc[+-]\d+$/.test(previous.text)) previous.flow = { kind: 'call', to: index };
        else if (previous.text === 'exit') previous.flow = { kind: 'return', to: index };
        else if (target !== undefined && index === target) previous.flow = { kind: 'jump', to: index };
        else if (conditional) previous.flow = { kind: 'fallthrough', to: index };
      }
      const before = ordered(state);
      let touched: string[] = [];
      if (insn[4]) {
        const update = parseState(insn[4]);
        if (update.frame !== frame) {
          // Entered or left a frame without a header line (tsbpf's log): start the frame afresh.
          frame = update.frame;
          state = new Map();
        }
        for (const [k, v] of update.entries) state.set(k, v);
        touched = update.entries.map(([k]) => k);
      }
      steps.push({
        insn: index,
        opcode: insn[2],
        text: insn[3],
        frame,
        path,
        before,
        after: ordered(state),
        touched,
        ...(source ? { source } : {}),
        flow: { kind: 'next' },
        notes: [],
      });
      source = undefined;
      continue;
    }
    const from = FROM.exec(line);
    if (from) {
      const last = steps.at(-1);
      if (
        last &&
        returnTo === Number(from[2]) &&
        last.insn === Number(from[1]) &&
        last.text === 'exit' &&
        last.flow.kind === 'next'
      ) {
        // Linux prints a return to the caller as `from <exit> to <after the call>`: the same path.
        last.flow = { kind: 'return', to: returnTo };
        const parsed = parseState(from[3]);
        frame = parsed.frame;
        state = new Map(parsed.entries);
        returnTo = undefined;
        continue;
      }
      endPath('log-end');
      const safe = from[3] === 'safe';
      newPath(Number(from[1]), Number(from[2]), safe);
      if (!safe) {
        const parsed = parseState(from[3]);
        frame = parsed.frame;
        state = new Map(parsed.entries);
      } else {
        pathStarted = false;
      }
      trailing = [];
      continue;
    }
    const safe = SAFE.exec(line);
    if (safe) {
      const last = steps.at(-1);
      if (last && last.path === path) last.notes.push(line);
      endPath('safe', Number(safe[1]));
      pathStarted = false;
      continue;
    }
    const full = FULL_STATE.exec(line);
    if (full) {
      if (!pathStarted) newPath(undefined, Number(full[1]), false);
      const parsed = parseState(full[2]);
      frame = parsed.frame;
      state = new Map(parsed.entries);
      continue;
    }
    const src = SOURCE.exec(line);
    if (src) {
      source = { text: src[1], file: src[2], line: Number(src[3]) };
      continue;
    }
    const toCaller = /^to caller at (\d+):$/.exec(line);
    if (toCaller) returnTo = Number(toCaller[1]);
    if (line === 'callee:' || toCaller) {
      expectState = true;
      continue;
    }
    if (line === 'caller:' || line === 'returning from callee:') {
      expectState = false;
      continue;
    }
    if (line.startsWith(' ')) {
      if (expectState) {
        const parsed = parseState(line);
        frame = parsed.frame;
        state = new Map(parsed.entries);
        expectState = false;
      }
      continue;
    }
    // Anything else after an instruction is about it: the error, a helper's complaint.
    const last = steps.at(-1);
    if (last) last.notes.push(line);
    trailing.push(line);
  }
  // The last path ends at an exit, or with the error printed after its last instruction.
  const last = steps.at(-1);
  if (last && last.flow.kind === 'next')
    last.flow = {
      kind: 'end',
      why: trailing.length > 0 ? 'error' : last.text === 'exit' ? 'exit' : 'log-end',
    };
  // A main-program exit inside a path that continues is a path end too.
  for (const step of steps)
    if (step.flow.kind === 'return' && step.frame === 0) step.flow = { kind: 'end', why: 'exit' };
  for (const [i, step] of steps.entries()) {
    const next = steps[i + 1];
    if (step.flow.kind === 'next' && step.text === 'exit' && (!next || next.path !== step.path))
      step.flow = { kind: 'end', why: 'exit' };
    else if (step.flow.kind === 'next' && (!next || next.path !== step.path))
      step.flow = { kind: 'end', why: 'log-end' };
  }
  const finished = paths.map((p, i) => ({
    ...p,
    endStep: paths[i + 1]?.firstStep ?? steps.length,
  }));
  return {
    steps,
    paths: finished,
    error: trailing,
    ...(insnsProcessed === undefined ? {} : { insnsProcessed }),
  };
}

/** A state entry as one display line: `R1 = pkt(off=14,r=14)`. */
export function stateLines(state: StateMap): string[] {
  return [...state].map(([k, v]) => `${k} = ${v}`);
}
