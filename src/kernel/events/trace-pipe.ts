/**
 * Reading `bpf_printk` output: the kernel's trace buffer, line by line, parsed into
 * `{ task, pid, cpu, timestamp, message }`.
 *
 * ## Whose lines
 *
 * `bpf_printk` (`bpf_trace_printk`) writes into a trace buffer shared by the whole system, and a
 * line carries no program id — only the task that was running, its pid, the CPU and the time.
 * Telling "our" lines apart by program name is impossible, so {@link TracePipe} filters by
 * what a line does carry: the pid or comm of the task that triggered it, or a marker the program
 * prints itself (`bpf_printk("myprog: …")` → `marker: 'myprog: '`).
 *
 * ## Private instances
 *
 * The top-level `trace_pipe` is *consumed* by reading: two readers (two tools, two test runs)
 * steal each other's lines. Since 5.10 `bpf_trace_printk` is an ordinary trace event,
 * `bpf_trace/bpf_trace_printk`, so we can create our own tracefs instance
 * (`instances/tsbpf-<pid>-<n>`), enable that one event in it, and read the instance's own
 * `trace_pipe`: every `bpf_printk` line lands in the top-level buffer *and* ours, and nobody else
 * reads ours. That is the default; `instance: false` reads the shared top-level pipe as bcc does.
 * The instance is removed on close, at exit and on SIGINT/SIGTERM/SIGHUP (`sys/cleanup.ts`);
 * instances left by processes that died otherwise (SIGKILL) are removed by the next open.
 *
 * ## Waiting
 *
 * The pipe is opened non-blocking and watched through the shared epoll {@link poller}: a
 * blocking `read()` would pin a libuv worker thread until a line arrived and could not be
 * cancelled on close.
 */
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { TsbpfError } from '../../errors.js';
import { onProcessEnd } from '../sys/cleanup.js';
import { poller, type Watch } from '../sys/epoll.js';

/** One line of `trace_pipe`. */
export interface TraceLine {
  /** The comm of the task that was running (`bash`, `<idle>`, `<...>` when unknown). */
  readonly task: string;
  readonly pid: number;
  readonly cpu: number;
  /** The irq-info flags column (`d..31`), when the `irq-info` option is on. */
  readonly flags: string | undefined;
  /** Seconds since boot, as printed (microsecond resolution). */
  readonly timestamp: number;
  /** The event that printed it (`bpf_trace_printk`), when the line names one. */
  readonly event: string | undefined;
  /** What the program printed, without the trailing newline. */
  readonly message: string;
  /** The line as read. */
  readonly raw: string;
}

/**
 * `<task>-<pid> [(<tgid>)] [<cpu>] [<flags>] <seconds>: [<event>: ]<message>`; the task may contain
 * spaces and dashes, so the pid is the last `-<digits>` before the CPU column.
 */
const LINE =
  /^\s*(.*?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:([^\s[\]]{4,6})\s+)?(\d+\.\d+):\s(?:([A-Za-z_]\w*):\s)?(.*)$/;

/** Parse one `trace_pipe` line; undefined for lines that are not trace records (headers). */
export function parseTraceLine(raw: string): TraceLine | undefined {
  const match = LINE.exec(raw);
  if (!match) return undefined;
  const [, task, pid, cpu, flags, seconds, event, message] = match;
  return {
    task,
    pid: Number(pid),
    cpu: Number(cpu),
    flags,
    timestamp: Number(seconds),
    event,
    message: message.replace(/\n$/, ''),
    raw,
  };
}

/** Where tracefs may be mounted. */
const TRACEFS_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** The mounted tracefs, or undefined. */
export function tracefsRoot(): string | undefined {
  return TRACEFS_ROOTS.find((root) => existsSync(`${root}/trace_pipe`));
}

/** Options of {@link TracePipe.open}. */
export interface TracePipeOptions {
  /**
   * Read a private tracefs instance with only `bpf_trace_printk` enabled (default true when the
   * kernel has the event; a string names the instance). False: the shared top-level pipe.
   */
  readonly instance?: boolean | string;
  /** Keep only lines from these pids (the task that was running when the program printed). */
  readonly pid?: number | readonly number[];
  /** Keep only lines from tasks with this comm. */
  readonly comm?: string;
  /** Keep only messages starting with this marker. */
  readonly marker?: string;
  /** Any other condition. */
  readonly filter?: (line: TraceLine) => boolean;
  /** tracefs mount point (default: found). */
  readonly root?: string;
}

let instanceCount = 0;
const openPipes = new Set<TracePipe>();
let unregister: (() => void) | undefined;

/**
 * Remove the `tsbpf-<pid>-<n>` instances under `root` whose process is gone (killed before it
 * could clean up); the names of those removed. Another live process's instances are kept.
 */
export function removeStaleInstances(root: string, alive: (pid: number) => boolean = processAlive): string[] {
  let names: string[];
  try {
    names = readdirSync(`${root}/instances`);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(/^tsbpf-(\d+)-\d+$/.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    if (removeInstance(`${root}/instances/${name}`)) removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A reader of `bpf_printk` lines. Iterate it (`for await (const line of pipe)`), or call
 * {@link read} for what is there now. Close it to release the pipe (and remove its instance).
 */
export class TracePipe implements AsyncIterable<TraceLine> {
  /** The instance directory when reading a private instance. */
  readonly instanceDir: string | undefined;
  readonly path: string;
  readonly #fd: number;
  readonly #keep: (line: TraceLine) => boolean;
  readonly #buffer = Buffer.alloc(64 * 1024);
  #partial = '';
  #watch: Watch | undefined;
  #armed = false;
  #waiters: Array<() => void> = [];
  #closed = false;

  private constructor(path: string, instanceDir: string | undefined, keep: (line: TraceLine) => boolean) {
    this.path = path;
    this.instanceDir = instanceDir;
    this.#keep = keep;
    this.#fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  }

  /** Open the trace pipe (a private instance by default; see the module comment). */
  static open(options: TracePipeOptions = {}): TracePipe {
    const root = options.root ?? tracefsRoot();
    if (!root) {
      throw new TsbpfError('trace pipe: tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)');
    }
    const event = 'events/bpf_trace/bpf_trace_printk/enable';
    const wantInstance = options.instance ?? existsSync(`${root}/${event}`);
    let instanceDir: string | undefined;
    if (wantInstance) {
      if (typeof options.instance !== 'string') removeStaleInstances(root);
      const name =
        typeof options.instance === 'string' ? options.instance : `tsbpf-${process.pid}-${instanceCount++}`;
      instanceDir = `${root}/instances/${name}`;
      try {
        if (!existsSync(instanceDir)) mkdirSync(instanceDir);
        writeFileSync(`${instanceDir}/${event}`, '1');
      } catch (error) {
        removeInstance(instanceDir);
        throw new TsbpfError(`trace pipe: create tracefs instance ${instanceDir}`, { cause: error });
      }
    }
    const pids = options.pid === undefined ? undefined : new Set([options.pid].flat());
    const keep = (line: TraceLine) =>
      (!pids || pids.has(line.pid)) &&
      (options.comm === undefined || line.task === options.comm) &&
      (options.marker === undefined || line.message.startsWith(options.marker)) &&
      (!options.filter || options.filter(line));
    try {
      const pipe = new TracePipe(`${instanceDir ?? root}/trace_pipe`, instanceDir, keep);
      openPipes.add(pipe);
      unregister ??= onProcessEnd(() => {
        for (const open of [...openPipes]) open.close();
      });
      return pipe;
    } catch (error) {
      if (instanceDir) removeInstance(instanceDir);
      throw new TsbpfError(`trace pipe: open ${instanceDir ?? root}/trace_pipe`, { cause: error });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The lines available now (filtered), without waiting. */
  read(): TraceLine[] {
    const out: TraceLine[] = [];
    while (!this.#closed) {
      let n: number;
      try {
        n = readSync(this.#fd, this.#buffer, 0, this.#buffer.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw error;
      }
      if (n === 0) break;
      const text = this.#partial + this.#buffer.toString('utf8', 0, n);
      const lines = text.split('\n');
      this.#partial = lines.pop() ?? '';
      for (const raw of lines) {
        const line = parseTraceLine(raw);
        if (line && this.#keep(line)) out.push(line);
      }
    }
    return out;
  }

  /** Resolve when the pipe polls readable, after `timeoutMs`, or on close. */
  readable(timeoutMs?: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#watch ??= poller().watch(this.#fd, () => {
      this.#armed = false;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    });
    if (!this.#armed) {
      this.#armed = true;
      // A fresh watch starts armed; arming again is harmless (EPOLL_CTL_MOD).
      this.#watch.arm();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== done);
          resolve();
        }, timeoutMs);
      }
    });
  }

  /** Wait for lines (at most `timeoutMs`) and return them; empty on timeout or close. */
  async poll(timeoutMs?: number): Promise<TraceLine[]> {
    const now = this.read();
    if (now.length || this.#closed) return now;
    await this.readable(timeoutMs);
    return this.read();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TraceLine> {
    while (!this.#closed) {
      const lines = this.read();
      if (lines.length === 0) {
        await this.readable();
        continue;
      }
      yield* lines;
    }
  }

  /** Close the pipe and remove its instance. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    openPipes.delete(this);
    if (openPipes.size === 0) {
      unregister?.();
      unregister = undefined;
    }
    this.#watch?.close();
    closeSync(this.#fd);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    if (this.instanceDir) removeInstance(this.instanceDir);
  }
}

/** Remove a tracefs instance; whether it is gone now. */
function removeInstance(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    // EBUSY while another reader still has its pipe open; ENOENT if already gone.
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Open a {@link TracePipe}. */
export function openTracePipe(options: TracePipeOptions = {}): TracePipe {
  return TracePipe.open(options);
}

/** The kernel's tracing clock now, in the seconds `trace_pipe` prints (`CLOCK_MONOTONIC`-based `local` clock ≈ uptime). */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}
