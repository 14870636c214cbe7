/**
 * Errors of the kernel layer: a failed system call ({@link BpfSyscallError}, {@link SyscallError})
 * and a program the verifier rejected ({@link VerifierError}).
 */
import { Errno, type ErrnoName, errnoName } from '../../errno.js';
import { TsbpfError } from '../../errors.js';
import { BpfCmd, bpfCmdName } from './attr.js';

const TRACING_COMMANDS = new Set<string>([
  'PROG_LOAD',
  'RAW_TRACEPOINT_OPEN',
  'LINK_CREATE',
  'perf_event_open',
]);

/**
 * What usually causes an errno for a command: the advice a user needs before reading the
 * kernel source. Undefined when we have nothing better than the errno's name.
 */
export function hintFor(command: string, errno: number): string | undefined {
  switch (errnoName(errno)) {
    case 'EPERM':
      // bpffs answers EPERM for a path outside it and for a name with a dot, whoever pins.
      if (command === 'OBJ_PIN')
        return "the path must be inside a bpffs (mount -t bpf bpf /sys/fs/bpf) and its last component may not contain '.'; pinning also needs root or CAP_BPF";
      return (
        'needs root, or CAP_BPF (plus CAP_PERFMON for tracing, CAP_NET_ADMIN for networking) or ' +
        'CAP_SYS_ADMIN; check kernel.unprivileged_bpf_disabled' +
        (TRACING_COMMANDS.has(command)
          ? ', and kernel lockdown (/sys/kernel/security/lockdown), which forbids tracing programs that read kernel memory'
          : '') +
        (command === 'MAP_CREATE' || command === 'PROG_LOAD'
          ? '; kernels before 5.11 also charge RLIMIT_MEMLOCK (raise it with ulimit -l)'
          : '')
      );
    case 'EACCES':
      return command === 'PROG_LOAD'
        ? 'the verifier rejected the program (load with a log to see why)'
        : 'permission denied by the object (read-only or frozen map, or file mode of a pinned path)';
    case 'E2BIG':
      return command.startsWith('MAP_') && command.endsWith('_ELEM')
        ? 'the map is full (max_entries reached)'
        : 'the attr or program is bigger than this kernel accepts (a field this kernel does not know is set, or too many instructions)';
    case 'ENOSPC':
      return command === 'PROG_LOAD' || command === 'BTF_LOAD'
        ? 'the verifier log buffer is too small'
        : 'an output buffer is too small';
    case 'EINVAL':
      return 'the kernel rejected an argument: unknown type or flag for this kernel, wrong key/value size, or a reserved field set';
    case 'ENOENT':
      return command === 'OBJ_GET' || command === 'OBJ_PIN'
        ? 'no such path (is bpffs mounted at /sys/fs/bpf?)'
        : 'no such element or object';
    case 'EEXIST':
      return 'already exists';
    case 'ENOSYS':
      return 'the kernel was built without CONFIG_BPF_SYSCALL';
    case 'ENOTSUPP':
    case 'EOPNOTSUPP':
      return 'not supported by this kernel for this object type';
    case 'EBADF':
      return 'a file descriptor in the attr is not open (closed map or program?)';
    case 'EMFILE':
      return 'too many open files (raise RLIMIT_NOFILE or close unused maps and programs)';
    case 'EFAULT':
      return 'the kernel could not read or write a buffer (bad pointer or length)';
    default:
      return undefined;
  }
}

/** A system call other than `bpf()` failed (`perf_event_open`, `ioctl`, `mmap`…), or libc is missing. */
export class SyscallError extends TsbpfError {
  override name = 'SyscallError';
  /** The call, e.g. `perf_event_open`. */
  readonly command: string;
  /** Positive errno; 0 when the failure was not a system call's. */
  readonly errno: number;
  /** `ENOENT`, … (`E<n>` for an errno we have no name for). */
  readonly code: string;
  readonly hint: string | undefined;
  constructor(
    command: string,
    errno: number,
    detail?: string,
    options: { cause?: unknown; hint?: string | null } = {},
  ) {
    const code = errno ? errnoName(errno) : '';
    // `hint: null` leaves the generic advice out where the detail already says more.
    const hint =
      options.hint === undefined
        ? errno
          ? hintFor(command, errno)
          : undefined
        : (options.hint ?? undefined);
    const parts = [code, detail, hint].filter((part): part is string => !!part);
    super(`${command}: ${parts.join(': ')}`, { cause: options.cause });
    this.command = command;
    this.errno = Math.abs(errno);
    this.code = code;
    this.hint = hint;
  }

  /** Whether this is the given errno. */
  is(name: ErrnoName): boolean {
    return this.errno === Errno[name];
  }
}

/** `bpf(cmd, …)` returned an error. `command` is the `bpf_cmd` name (`MAP_CREATE`). */
export class BpfSyscallError extends SyscallError {
  override name = 'BpfSyscallError';
  /** The `bpf_cmd` number. */
  readonly cmd: number;
  constructor(
    cmd: number,
    errno: number,
    detail?: string,
    options?: { cause?: unknown; hint?: string | null },
  ) {
    super(bpfCmdName(cmd), errno, detail, options);
    this.cmd = cmd;
  }
}

/** A source position, from BTF.ext line info once the object loader provides it. */
export interface SourceLine {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The source text of the line. */
  readonly text: string;
}

/** Maps a kernel instruction index (a slot index) to its source line, when known. */
export type LineLookup = (insnIndex: number) => SourceLine | undefined;

/** Log lines that report statistics, not the error, so never make a summary. */
const STATS_LINE =
  /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|Func#|mark_precise|last_idx|parent (didn't|already)|regs=|from \d+ to \d+)/;

/** `12: (85) call bpf_map_lookup_elem#1` → 12: the line the verifier prints per instruction. */
const INSN_LINE = /^(\d+): \([0-9a-f]{2}\)/;

/** The parts of a verifier log a reader needs first. */
export interface ParsedVerifierLog {
  /** The last meaningful line: the verifier's complaint. */
  readonly summary: string;
  /** The instruction (slot) index the verifier was checking when it failed, if the log says. */
  readonly insnIndex: number | undefined;
  /** The text of that instruction as the verifier printed it (`(61) r0 = *(u32 *)(r1 +0)`). */
  readonly insnText: string | undefined;
}

/** Find the summary and the failing instruction in a verifier log. */
export function parseVerifierLog(log: string): ParsedVerifierLog {
  const lines = log
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
  let summaryAt = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!STATS_LINE.test(lines[i])) {
      summaryAt = i;
      break;
    }
  }
  const summary = summaryAt >= 0 ? lines[summaryAt] : '';
  // The complaint follows the instruction it is about, so the nearest instruction line at or
  // above the summary is the failing one.
  for (let i = summaryAt; i >= 0; i--) {
    const match = INSN_LINE.exec(lines[i]);
    if (match) {
      return { summary, insnIndex: Number(match[1]), insnText: lines[i].slice(match[1].length + 2) };
    }
  }
  return { summary, insnIndex: undefined, insnText: undefined };
}

/**
 * `BPF_PROG_LOAD` failed and the verifier said why. `log` is its full output; `summary` the one
 * line that matters most; `insnIndex` the failing instruction (a slot index, as the kernel
 * counts); `source` its source line when the loader could map it (BTF.ext line info).
 */
export class VerifierError extends BpfSyscallError {
  override name = 'VerifierError';
  /** The program's name. */
  readonly program: string;
  readonly log: string;
  readonly summary: string;
  readonly insnIndex: number | undefined;
  readonly insnText: string | undefined;
  readonly source: SourceLine | undefined;
  /** Whether the log was cut short (the buffer hit its maximum size). */
  readonly truncated: boolean;
  constructor(
    program: string,
    errno: number,
    log: string,
    options: { lineOf?: LineLookup; truncated?: boolean; cause?: unknown } = {},
  ) {
    const parsed = parseVerifierLog(log);
    const source = parsed.insnIndex === undefined ? undefined : options.lineOf?.(parsed.insnIndex);
    const where =
      (parsed.insnIndex === undefined ? '' : `instruction ${parsed.insnIndex}: `) +
      (source ? `${source.file}:${source.line}:${source.column}: ` : '');
    super(
      BpfCmd.PROG_LOAD,
      errno,
      `program '${program}' rejected by the verifier: ${where}${parsed.summary}`,
      {
        cause: options.cause,
        hint: null,
      },
    );
    this.program = program;
    this.log = log;
    this.summary = parsed.summary;
    this.insnIndex = parsed.insnIndex;
    this.insnText = parsed.insnText;
    this.source = source;
    this.truncated = options.truncated ?? false;
  }
}
