/**
 * `tsbpf tools NAME [options]`: bcc's tools (execsnoop, opensnoop, exitsnoop, syscount, runqlat,
 * biolatency, tcpconnect, trace) with bcc's columns and options, over the precompiled objects in
 * `tools/` and the front ends in `src/kernel/tools/`. Every tool takes `--json` (one record per
 * line, bcc's field names), runs until Ctrl-C or SIGTERM (or its duration/count) and then
 * detaches and closes everything.
 *
 * Each tool is a row of {@link TOOLS}: its options, and a `run` that loads its front end on demand,
 * so `tsbpf tools execsnoop` loads execsnoop's module and nothing of the other tools.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Command } from 'commander';
import type { ToolOutput, ToolStop } from '../kernel/tools/session.js';
import { InvalidArgumentError } from './commonjs.js';
import { type CliContext, EXIT_INPUT } from './io.js';
import { positiveInt } from './options.js';

type Options = Record<string, unknown>;

/** One tool of `tsbpf tools`. */
interface ToolRow {
  readonly summary: string;
  /** Positional arguments (bcc's `[interval [count]]`), as commander spells them. */
  readonly args?: readonly string[];
  readonly options: (command: Command) => Command;
  readonly run: (options: Options, args: readonly string[], out: ToolOutput, stop: ToolStop) => Promise<void>;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

function user(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  // A user name, as bcc takes it: its uid from /etc/passwd.
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // No passwd file: only numeric uids.
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name === value && uid !== undefined && /^\d+$/.test(uid)) return Number(uid);
  }
  throw new InvalidArgumentError(`'${value}' is neither a uid nor a user in /etc/passwd`);
}

/** `-e 2` or `-e ENOENT`. */
function errnoValue(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const n = (osConstants.errno as Record<string, number>)[value.toUpperCase()];
  if (n === undefined) throw new InvalidArgumentError(`'${value}' is not an errno name or number`);
  return n;
}

/** `-P 80,443`. */
function ports(value: string): number[] {
  const list = value.split(',').map(Number);
  if (list.some((p) => !Number.isInteger(p) || p < 0 || p > 65535))
    throw new InvalidArgumentError('expected ports (0-65535), comma-separated');
  return list;
}

/** `[interval [count]]` as numbers. */
function intervalArgs(args: readonly string[]): { interval?: number; count?: number } {
  const [interval, count] = args.map((a) => (a === undefined ? undefined : Number(a)));
  for (const n of [interval, count])
    if (n !== undefined && !(Number.isFinite(n) && n > 0))
      throw new InvalidArgumentError('interval and count must be positive numbers');
  return {
    ...(interval !== undefined ? { interval } : {}),
    ...(count !== undefined ? { count } : {}),
  };
}

/** The tools, in the order `tsbpf tools --help` lists them. */
const TOOLS: Readonly<Record<string, ToolRow>> = {
  execsnoop: {
    summary: 'trace new processes: execve() with arguments, parent and return value',
    options: (c) =>
      c
        .option('-T, --time', 'include a time column (HH:MM:SS)')
        .option('-t, --timestamp', 'include a timestamp column (seconds since start)')
        .option('-x, --fails', 'only failed execs')
        .option('-n, --name <regex>', 'only commands whose name matches')
        .option('-l, --line <regex>', 'only commands whose arguments match')
        .option('-u, --uid <uid>', 'only this user', user)
        .option('-U, --print-uid', 'include a UID column')
        .option('-q, --quote', 'quote the arguments')
        .option('--max-args <n>', 'arguments to capture (at most 20)', positiveInt, 20)
        .option('-c, --count <n>', 'stop after this many events', positiveInt),
    run: async (o, _args, out, stop) =>
      (await import('../kernel/tools/execsnoop.js')).execsnoop(
        {
          time: Boolean(o.time),
          timestamp: Boolean(o.timestamp),
          failed: Boolean(o.fails),
          ...(o.name !== undefined ? { name: String(o.name) } : {}),
          ...(o.line !== undefined ? { line: String(o.line) } : {}),
          ...(o.uid !== undefined ? { uid: Number(o.uid) } : {}),
          printUid: Boolean(o.printUid),
          quote: Boolean(o.quote),
          maxArgs: Number(o.maxArgs),
          ...(o.count !== undefined ? { count: Number(o.count) } : {}),
          json: Boolean(o.json),
        },
        out,
        stop,
      ),
  },
  opensnoop: {
    summary: 'trace open(), openat() and openat2(): path, file descriptor, error',
    options: (c) =>
      c
        .option('-T, --timestamp', 'include a timestamp column (seconds since start)')
        .option('-U, --print-uid', 'include a UID column')
        .option('-x, --failed', 'only failed opens')
        .option('-p, --pid <pid>', 'only this process', positiveInt)
        .option('-t, --tid <tid>', 'only this thread', positiveInt)
        .option('-u, --uid <uid>', 'only this user', user)
        .option('-d, --duration <seconds>', 'trace for this long', seconds)
        .option('-n, --name <name>', 'only process names containing this')
        .option('-e, --extended-fields', 'include a FLAGS column')
        .option('-c, --count <n>', 'stop after this many events', positiveInt),
    run: async (o, _args, out, stop) =>
      (await import('../kernel/tools/opensnoop.js')).opensnoop(
        {
          timestamp: Boolean(o.timestamp),
          printUid: Boolean(o.printUid),
          failed: Boolean(o.failed),
          ...(o.pid !== undefined ? { pid: Number(o.pid) } : {}),
          ...(o.tid !== undefined ? { tid: Number(o.tid) } : {}),
          ...(o.uid !== undefined ? { uid: Number(o.uid) } : {}),
          ...(o.name !== undefined ? { name: String(o.name) } : {}),
          extended: Boolean(o.extendedFields),
          ...(o.count !== undefined ? { count: Number(o.count) } : {}),
          json: Boolean(o.json),
        },
        out,
        stop,
      ),
  },
  exitsnoop: {
    summary: 'trace process exits: age, exit code or signal',
    options: (c) =>
      c
        .option('-t, --timestamp', 'include a time column')
        .option('-x, --failed', 'only non-zero exits')
        .option('-p, --pid <pid>', 'only this process', positiveInt)
        .option('--per-thread', 'trace every thread exit, not only processes')
        .option('-c, --count <n>', 'stop after this many events', positiveInt),
    run: async (o, _args, out, stop) =>
      (await import('../kernel/tools/exitsnoop.js')).exitsnoop(
        {
          timestamp: Boolean(o.timestamp),
          failed: Boolean(o.failed),
          ...(o.pid !== undefined ? { pid: Number(o.pid) } : {}),
          perThread: Boolean(o.perThread),
          ...(o.count !== undefined ? { count: Number(o.count) } : {}),
          json: Boolean(o.json),
        },
        out,
        stop,
      ),
  },
  tcpconnect: {
    summary: 'trace active TCP connections (connect())',
    options: (c) =>
      c
        .option('-t, --timestamp', 'include a timestamp column (seconds since start)')
        .option('-p, --pid <pid>', 'only this process', positiveInt)
        .option('-P, --port <ports>', 'only these destination ports (comma-separated)', ports)
        .option('-u, --uid <uid>', 'only this user', user)
        .option('-U, --print-uid', 'include a UID column')
        .option('-4, --ipv4', 'only IPv4')
        .option('-6, --ipv6', 'only IPv6')
        .option('-c, --count <n>', 'stop after this many events', positiveInt),
    run: async (o, _args, out, stop) =>
      (await import('../kernel/tools/tcpconnect.js')).tcpconnect(
        {
          timestamp: Boolean(o.timestamp),
          ...(o.pid !== undefined ? { pid: Number(o.pid) } : {}),
          ...(o.port !== undefined ? { ports: o.port as number[] } : {}),
          ...(o.uid !== undefined ? { uid: Number(o.uid) } : {}),
          printUid: Boolean(o.printUid),
          ...(o.ipv4 ? { family: 4 as const } : o.ipv6 ? { family: 6 as const } : {}),
          ...(o.count !== undefined ? { count: Number(o.count) } : {}),
          json: Boolean(o.json),
        },
        out,
        stop,
      ),
  },
  syscount: {
    summary: 'count system calls (and their time with -L), top N per interval',
    options: (c) =>
      c
        .option('-p, --pid <pid>', 'only this process', positiveInt)
        .option('-i, --interval <seconds>', 'print every this many seconds', seconds)
        .option('-d, --duration <seconds>', 'trace for this long', seconds)
        .option('-T, --top <n>', 'rows to print', positiveInt, 10)
        .option('-x, --failures', 'only failed calls')
        .option('-e, --errno <errno>', 'only calls failing with this errno (a number or ENOENT…)', errnoValue)
        .option('-L, --latency', 'also total time in each')
        .option('-m, --milliseconds', 'time in milliseconds (default microseconds)')
        .option('-P, --process', 'count per process, not per syscall')
        .option('-l, --list', 'list the system call names this machine knows and exit'),
    run: async (o, _args, out, stop) => {
      const tool = await import('../kernel/tools/syscount.js');
      if (o.list) {
        for (let nr = 0; nr < 1024; nr++) {
          const name = tool.syscallName(nr);
          if (!name.startsWith('[')) out.line(name);
        }
        return;
      }
      return tool.syscount(
        {
          ...(o.pid !== undefined ? { pid: Number(o.pid) } : {}),
          ...(o.interval !== undefined ? { interval: Number(o.interval) } : {}),
          top: Number(o.top),
          failed: Boolean(o.failures),
          ...(o.errno !== undefined ? { errno: Number(o.errno) } : {}),
          latency: Boolean(o.latency),
          millis: Boolean(o.milliseconds),
          byProcess: Boolean(o.process),
          json: Boolean(o.json),
        },
        out,
        stop,
      );
    },
  },
  runqlat: {
    summary: 'run queue (scheduler) latency as a log2 histogram',
    args: ['[interval]', '[count]'],
    options: (c) =>
      c
        .option('-T, --timestamp', 'include a time line with each output')
        .option('-m, --milliseconds', 'histogram in milliseconds (default microseconds)')
        .option('-P, --pids', 'a histogram per process')
        .option('-L, --tids', 'a histogram per thread')
        .option('-p, --pid <pid>', 'only this process', positiveInt),
    run: async (o, args, out, stop) =>
      (await import('../kernel/tools/latency.js')).runqlat(
        {
          ...intervalArgs(args),
          timestamp: Boolean(o.timestamp),
          millis: Boolean(o.milliseconds),
          pids: Boolean(o.pids),
          tids: Boolean(o.tids),
          ...(o.pid !== undefined ? { pid: Number(o.pid) } : {}),
          json: Boolean(o.json),
        },
        out,
        stop,
      ),
  },
  biolatency: {
    summary: 'block device I/O latency as a log2 histogram',
    args: ['[interval]', '[count]'],
    options: (c) =>
      c
        .option('-T, --timestamp', 'include a time line with each output')
        .option('-m, --milliseconds', 'histogram in milliseconds (default microseconds)')
        .option('-Q, --queued', 'include the time queued in the OS')
        .option('-D, --disks', 'a histogram per disk'),
    run: async (o, args, out, stop) =>
      (await import('../kernel/tools/latency.js')).biolatency(
        {
          ...intervalArgs(args),
          timestamp: Boolean(o.timestamp),
          millis: Boolean(o.milliseconds),
          queued: Boolean(o.queued),
          disks: Boolean(o.disks),
          json: Boolean(o.json),
        },
        out,
        stop,
      ),
  },
  trace: {
    summary: 'print events of any tracepoint, filtered (ftrace syntax), with chosen fields',
    args: ['<tracepoint>'],
    options: (c) =>
      c
        .option('--filter <expr>', 'only events matching, e.g. \'flags & 64 && filename ~ "/tmp/*"\'')
        .option('-f, --fields <list>', 'fields to print, comma-separated (default all)', (v) => v.split(','))
        .option('-p, --pid <pid>', 'only this process', positiveInt)
        .option('-n, --name <name>', 'only process names containing this')
        .option('-T, --time', 'include a time column')
        .option('-t, --timestamp', 'include a timestamp column (seconds since start)')
        .option('-M, --max-events <n>', 'stop after this many events', positiveInt),
    run: async (o, args, out, stop) =>
      (await import('../kernel/tools/trace.js')).trace(
        {
          tracepoint: args[0] ?? '',
          ...(o.filter !== undefined ? { filter: String(o.filter) } : {}),
          ...(o.fields !== undefined ? { fields: o.fields as string[] } : {}),
          ...(o.pid !== undefined ? { pid: Number(o.pid) } : {}),
          ...(o.name !== undefined ? { name: String(o.name) } : {}),
          time: Boolean(o.time),
          timestamp: Boolean(o.timestamp),
          ...(o.maxEvents !== undefined ? { maxEvents: Number(o.maxEvents) } : {}),
          json: Boolean(o.json),
        },
        out,
        stop,
      ),
  },
};

/** `tsbpf tools …`. */
export function registerToolsCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const tools = program
    .command('tools')
    .description("bcc's tools on tracepoints: execsnoop, opensnoop, exitsnoop, syscount, runqlat…");
  for (const [name, row] of Object.entries(TOOLS)) {
    let command = tools.command(name).description(row.summary);
    for (const arg of row.args ?? []) command = command.argument(arg);
    command = row.options(command).option('-j, --json', 'one JSON record per line');
    command.action(async (...received: unknown[]) => {
      const options = received[received.length - 2] as Options;
      const args = received.slice(0, row.args?.length ?? 0).filter((a) => a !== undefined) as string[];
      const json = Boolean(options.json);
      const out: ToolOutput = {
        line: (text) => io.stdout.write(`${text}\n`),
        record: (value) =>
          io.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))}\n`),
        note: (text) => (json ? io.stderr : io.stdout).write(`${text}\n`),
      };
      try {
        await row.run(options, args, out, {
          processSignals: true,
          ...(typeof options.duration === 'number' ? { duration: options.duration } : {}),
        });
      } catch (error) {
        // A bad option value, a tracepoint that does not exist, a malformed filter: bad input.
        const badInput =
          error instanceof InvalidArgumentError ||
          (error instanceof Error && error.name === 'TraceFormatError') ||
          (error instanceof Error && (error as { badInput?: boolean }).badInput === true);
        if (badInput) {
          io.stderr.write(`error: ${(error as Error).message}\n`);
          ctx.status = EXIT_INPUT;
          return;
        }
        throw error;
      }
    });
  }
}
